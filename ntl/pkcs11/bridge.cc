#include "ntl/pkcs11/bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "ntl/internal/mutex.h"
#include "ntl/pkcs11/rpc_coalescer.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

// Shared is what the channel's callbacks hand to the bridge loop. The
// application's out_fd is written only under mu: by the callback at once when
// nothing is queued (so the bridge loop wakes only for the application's next
// request), otherwise by the loop.
struct Shared {
  explicit Shared(int fd) : wake_fd(fd) {}
  ~Shared() { close(wake_fd); }
  void Wake() {
    uint64_t one = 1;
    (void)!write(wake_fd, &one, sizeof(one));
  }
  // WriteOutLocked writes to_out to fd as far as it takes it (all of it on a
  // blocking fd); false when the application has gone (the write failed).
  bool WriteOutLocked(int fd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    while (!to_out.empty()) {
      ssize_t n = write(fd, to_out.data(), to_out.size());
      if (n > 0) {
        to_out.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return n < 0 && errno == EAGAIN;
      }
    }
    return true;
  }
  const int wake_fd;
  internal::Mutex mu;
  std::string to_out ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;
  absl::Status close_status ABSL_GUARDED_BY(mu);
  // out_fd is the application's descriptor for the callback's writes: -1
  // until the loop runs, and for a blocking one (a terminal), which only the
  // loop writes, so that a callback never blocks the link's thread.
  int out_fd ABSL_GUARDED_BY(mu) = -1;
  bool out_failed ABSL_GUARDED_BY(mu) = false;
};

// MaybeNonBlocking gives pipes and sockets O_NONBLOCK so one slow side never
// stalls the other, and returns whether it did; a terminal is left alone (its
// file description is shared with the user's shell).
bool MaybeNonBlocking(int fd) {
  struct stat st;
  if (fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) {
      return fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
    }
  }
  return false;
}

}  // namespace

absl::Status RunBridge(int in_fd, int out_fd, const ChannelOpener& open,
                       const BridgeOptions& options) {
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    return Error(absl::StatusCode::kResourceExhausted, TL_E_RESOURCE_EXHAUSTED,
                 absl::StrCat("cannot make an eventfd: ", strerror(errno)));
  }
  auto shared = std::make_shared<Shared>(wake_fd);
  const size_t max_pending = options.max_pending_bytes;
  ChannelCallbacks callbacks;
  callbacks.on_data = [shared, max_pending](absl::string_view data) {
    {
      internal::MutexLock lock(&shared->mu);
      if (shared->closed) {
        return;
      }
      if (shared->to_out.size() + data.size() > max_pending) {
        shared->closed = true;
        shared->close_status = Error(
            absl::StatusCode::kResourceExhausted, TL_E_RESOURCE_EXHAUSTED,
            absl::StrCat("the PKCS#11 application did not read ", max_pending,
                         " bytes of answers; the bridge gave up"));
      } else {
        const bool idle = shared->to_out.empty();
        shared->to_out.append(data.data(), data.size());
        if (idle && shared->out_fd >= 0 && !shared->out_failed) {
          shared->out_failed = !shared->WriteOutLocked(shared->out_fd);
          if (shared->to_out.empty() && !shared->out_failed) {
            return;
          }
        }
      }
    }
    shared->Wake();
  };
  callbacks.on_close = [shared](const absl::Status& status) {
    {
      internal::MutexLock lock(&shared->mu);
      if (!shared->closed) {
        shared->closed = true;
        shared->close_status = status;
      }
    }
    shared->Wake();
  };
  absl::StatusOr<std::unique_ptr<Channel>> channel = open(std::move(callbacks));
  if (!channel.ok()) {
    return channel.status();
  }
  MaybeNonBlocking(in_fd);
  if (MaybeNonBlocking(out_fd)) {
    internal::MutexLock lock(&shared->mu);
    shared->out_fd = out_fd;
  }

  bool in_open = true;
  absl::Status result;
  // The application's requests go to the link whole (rpc_coalescer.h): one
  // frame, one TLS record and one write into p11-kit's pipe per RPC.
  RpcCoalescer to_link(options.max_hold);
  auto send = [&](std::string bytes) {
    if (bytes.empty()) {
      return true;
    }
    absl::Status s = (*channel)->Send(bytes);
    if (!s.ok()) {
      result = s;
      return false;
    }
    return true;
  };
  for (;;) {
    bool closed, out_pending, out_failed;
    {
      internal::MutexLock lock(&shared->mu);
      closed = shared->closed;
      if (closed) {
        result = shared->close_status;
      }
      out_pending = !shared->to_out.empty();
      out_failed = shared->out_failed;
    }
    if (out_failed) {
      // The application went away without finalising; nothing more to
      // deliver.
      break;
    }
    // Deliver what the service sent before it closed (its last answer), then
    // stop.
    if (closed && (!out_pending || !result.ok())) {
      break;
    }
    if (!in_open) {
      break;
    }
    struct pollfd p[3] = {
        {shared->wake_fd, POLLIN, 0},
        {closed ? -1 : in_fd, POLLIN, 0},
        {out_pending ? out_fd : -1, POLLOUT, 0},
    };
    if (poll(p, 3, to_link.PollTimeoutMs()) < 0) {
      if (errno == EINTR) {
        continue;
      }
      result = Error(absl::StatusCode::kInternal, TL_E_IO,
                     absl::StrCat("bridge poll failed: ", strerror(errno)));
      break;
    }
    // Not p11-kit's framing after all, or a writer stalled mid-message: pass
    // on what is held rather than wait longer.
    if (!send(to_link.TakeDue())) {
      break;
    }
    if (p[0].revents != 0) {
      uint64_t n;
      (void)!read(shared->wake_fd, &n, sizeof(n));
    }
    if (p[2].revents != 0) {
      internal::MutexLock lock(&shared->mu);
      if (!shared->WriteOutLocked(out_fd)) {
        shared->out_failed = true;
      }
    }
    if (p[1].revents != 0) {
      char buf[64 * 1024];
      ssize_t n = read(in_fd, buf, sizeof(buf));
      if (n > 0) {
        to_link.Add(absl::string_view(buf, static_cast<size_t>(n)));
        if (!send(to_link.TakeReady())) {
          break;
        }
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        in_open = false;
        if (!send(to_link.TakeAll())) {
          break;
        }
      }
    }
  }
  (*channel)->Close().IgnoreError();
  {
    internal::MutexLock lock(&shared->mu);
    shared->out_fd = -1;
  }
  if (in_open) {
    // The stream ended under a live application. Closing out_fd makes p11-kit's
    // pending read see EOF, so the call in flight fails with a PKCS#11 error
    // (CKR_DEVICE_ERROR); draining in_fd until the application finalises keeps
    // its next write from dying of SIGPIPE on a closed pipe.
    if (options.on_stream_end) {
      options.on_stream_end(result);
    }
    // p11-kit gives its command one socket as both stdin and stdout: shut down
    // our sending half (closing fd 1 alone would leave the socket open through
    // fd 0).
    struct stat st;
    if (fstat(out_fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
      shutdown(out_fd, SHUT_WR);
    } else {
      close(out_fd);
    }
    char buf[4096];
    for (;;) {
      struct pollfd p = {in_fd, POLLIN, 0};
      if (poll(&p, 1, -1) < 0 && errno != EINTR) {
        break;
      }
      ssize_t n = read(in_fd, buf, sizeof(buf));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        break;
      }
    }
  }
  return result;
}

}  // namespace trustlink::ntl::pkcs11
