// The wait before a link's next connection attempt (docs/client.md,
// "Reconnecting"): the one schedule the client and benchmarks/storm share.

#ifndef TRUSTLINK_NTL_CLIENT_RECONNECT_BACKOFF_H_
#define TRUSTLINK_NTL_CLIENT_RECONNECT_BACKOFF_H_

#include "absl/time/time.h"

namespace trustlink::ntl::client {

// ReconnectPolicy is the schedule's settings (ClientSettings' reconnect_*).
struct ReconnectPolicy {
  absl::Duration min = absl::Milliseconds(100);
  absl::Duration max = absl::Seconds(30);
  // While a link that was up is lost for less than refused_window, an attempt
  // the server's host refused outright (TCP reset: nothing listens on the
  // port, as while ntlsd restarts) waits at most refused_max.
  absl::Duration refused_max = absl::Milliseconds(500);
  absl::Duration refused_window = absl::Seconds(30);
};

// AttemptFailure says how an attempt failed, for the schedule.
enum class AttemptFailure {
  kRefused,  // the server's host answered the TCP connect with a reset
  kOther,    // a timeout, a TLS or protocol failure, a refusal at a cap, ...
};

// ReconnectBackoff is one link's schedule since it was last up. The wait
// doubles from min with each failure, up to max, and is a random 50-100% of
// that step so links cut off together do not return in lock step. A refused
// connection soon after the link was up is a restart in progress: its step
// stops growing at refused_max, so the fleet is back within about that much
// of the server listening again instead of in a step grown to seconds. A
// probe a restarting server refuses costs it a reset; a server that times
// out, is busy, or was never reached gets the full schedule, and so does
// one still refusing refused_window after the link was lost.
//
// Thread safety: none; each link owns its own.
class ReconnectBackoff {
 public:
  explicit ReconnectBackoff(const ReconnectPolicy& policy);

  // OnUp records that the link is up (welcomed): the next failure starts the
  // schedule from min.
  void OnUp();

  // Next records a failed attempt, or the loss of a link that was up
  // (`was_up`), at `now`, and returns the wait before the next attempt.
  // `jitter` is uniform in [0, 1): the caller's random draw.
  absl::Duration Next(AttemptFailure failure, bool was_up, absl::Time now,
                      double jitter);

  // Step is the un-jittered step the next failure of kind `failure` at `now`
  // would get: the wait is a random 50-100% of it.
  absl::Duration Step(AttemptFailure failure, absl::Time now) const;

  // level is the schedule's position: the failures since the link was last
  // up, less the refusals capped as a restart. The next step is min *
  // 2^level, at most max.
  int level() const { return level_; }

 private:
  ReconnectPolicy policy_;
  int level_ = 0;
  absl::Time lost_at_ = absl::InfinitePast();  // when a link that was up broke
};

// RandomJitter draws a uniform number in [0, 1) from BoringSSL's RNG (fork
// safe, unlike rand()).
double RandomJitter();

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_RECONNECT_BACKOFF_H_
