#ifndef TRUSTLINK_NTL_INTERNAL_POLL_UNTIL_H_
#define TRUSTLINK_NTL_INTERNAL_POLL_UNTIL_H_

// PollUntil: the one poll() loop with a deadline that blocking callers share
// (the HTL agent's link, its proof requests): it retries after EINTR, rounds
// the wait up so it never wakes just before the deadline, and caps each wait so
// an infinite deadline still fits poll's int milliseconds.

#include <errno.h>
#include <poll.h>

#include <algorithm>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace trustlink::ntl::internal {

// PollUntil waits until `fd` is ready for `events` or `deadline` passes, or,
// when `cancel_fd` is >= 0, until that descriptor is readable (its owner is
// closing: an eventfd it writes to). Returns 1 when ready, 0 at the deadline,
// -1 with errno on a poll failure, or -1 with errno ECANCELED on a cancel.
inline int PollUntil(int fd, short events, absl::Time deadline,
                     int cancel_fd = -1) {
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return 0;
    }
    pollfd p[2] = {{fd, events, 0}, {cancel_fd, POLLIN, 0}};
    const int64_t ms = std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
        60 * 1000);
    const int rc = poll(p, cancel_fd >= 0 ? 2 : 1, static_cast<int>(ms));
    if (rc > 0 && p[1].revents != 0 && cancel_fd >= 0) {
      errno = ECANCELED;
      return -1;
    }
    if (rc > 0) {
      return 1;
    }
    if (rc < 0 && errno != EINTR) {
      return -1;
    }
  }
}

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_POLL_UNTIL_H_
