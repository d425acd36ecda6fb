// Connection's write path: frames are appended to out_ and written in
// chunks; a lone call is written by its caller, a burst by the loop.
// Separate because when to write (and who writes) is its own trade-off.

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>

#include "absl/time/clock.h"
#include "ntl/client/connection.h"
#include "ntl/client/pin.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::client {

namespace {

constexpr size_t kWriteChunk = 256 * 1024;

}  // namespace

void Connection::Send(wire::FrameType type, uint32_t id,
                      absl::string_view payload, Completions* done) {
  wire::AppendFrame(type, 0, id, payload, &out_);
  Flush(done);
}

void Connection::SendCall(uint32_t id, absl::string_view partition, uint32_t op,
                          absl::string_view data, Completions* done) {
  // Frames already waiting mean a flush is already due: the loop was rung for
  // them, or the socket is full and EPOLLOUT is armed. Either way this frame
  // leaves with them.
  const bool flush_due = !out_.empty();
  // Encoded straight into the output buffer: no intermediate strings per call.
  wire::AppendRequestFrame(id, partition, op, data, &out_);
  if (flush_due) {
    return;
  }
  // A lone call (the round-trip case) is written by its caller, costing no
  // thread hop. With others in flight more are likely to follow (a burst, or
  // many calling threads): leave the write to the loop, which runs after this
  // caller and any others queued on the client's lock have appended theirs.
  // A call made by a completion callback is never lone, even when it is the
  // only one in flight: the other callbacks of the pass are about to add
  // theirs, and the loop writes them all once they ran (Doorbell::DeferScope).
  // Writing it at once split every window into a record of one call and a
  // record of the rest, and woke the server twice for them.
  if (pending_.size() > 1 || doorbell_->Deferred()) {
    doorbell_->Ring();
    return;
  }
  Flush(done);
}

void Connection::FlushQueued(Completions* done) {
  if (!out_.empty() && (interest_ & EPOLLOUT) == 0 &&
      (state_ == LinkState::kReady || state_ == LinkState::kAwaitingWelcome)) {
    Flush(done);
  }
}

void Connection::Flush(Completions* done) {
  while (ssl_ != nullptr && out_off_ < out_.size()) {
    const size_t len = std::min(out_.size() - out_off_, kWriteChunk);
    const int n =
        SSL_write(ssl_.get(), out_.data() + out_off_, static_cast<int>(len));
    if (n <= 0) {
      const int saved_errno = errno;
      const int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
        SetInterest(EPOLLIN | EPOLLOUT);
        return;
      }
      Fail(TlsFailure(server_.name, err, saved_errno, true), absl::Now(), done);
      return;
    }
    ++tls_writes_;
    out_off_ += static_cast<size_t>(n);
  }
  out_.clear();
  out_off_ = 0;
  if (fd_ >= 0 && (interest_ & EPOLLOUT)) {
    SetInterest(EPOLLIN);
  }
}

}  // namespace trustlink::ntl::client
