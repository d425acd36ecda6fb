// The calling thread as the link's reader: a leader/follower hand-off for the
// blocking call (issue 16, "Small calls").
//
// Without it a blocking round trip wakes three threads in turn: the caller
// writes and sleeps, the I/O thread wakes on the answer, reads it and wakes
// the caller. When the call is alone on an idle link, the caller instead takes
// the socket out of the loop's epoll set, waits on it with ppoll and reads its
// answer itself: one wake-up, as with a blocking socket.
//
// Rules that keep it correct:
// - Only the wait is outside the Client's mutex. Every SSL call, the decision
//   to read and the epoll changes are under it, so there is one reader of the
//   SSL object at a time whichever thread holds the role.
// - The loop never reads a socket a caller holds (OnEvent ignores an event
//   harvested before the socket left the epoll set), and the caller reads
//   only while it still holds the role, checked under the mutex after every
//   wake-up.
// - Whatever else needs the socket takes the role back at once
//   (HandBackReading): another call or a stream (their answers must reach the
//   loop), a write that found the socket full (the loop waits for EPOLLOUT), a
//   failed or closing link, the reader's own deadline expired by the loop. The
//   socket returns to the epoll set and the kick eventfd wakes the caller,
//   which then waits on its call like any other caller. The kick is written
//   under the mutex before the socket can close, and an eventfd keeps its
//   count, so no wake-up is lost between the caller's unlock and its ppoll.
//   Only the caller it was meant for reads a kick, and no new reader starts
//   while one is unread, so one caller can never drain another's.
// - The reader has drained the socket (ReadAvailable stops only when BoringSSL
//   and the read-ahead BIO are empty) whenever it gives the socket back, so
//   level-triggered epoll sees everything that arrives after.
// - A reader that got its answer parks the socket: it stays out of the epoll
//   set, with no reader, for kParkFor. The next lone blocking call takes it as
//   it is, so back-to-back round trips cost no epoll_ctl at all (two per call
//   before: out and back). Anything else that needs the socket unparks it at
//   once (HandBackReading, the loop's timer at parked_at_ + kParkFor, a
//   heartbeat), so on an idle link a goaway or a closed socket is seen at
//   most kParkFor late; a parked link has nothing in flight to be late for.

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "ntl/client/connection.h"

namespace trustlink::ntl::client {

bool Connection::TakeReading(uint32_t id, uint64_t token, ReaderWait* wait) {
  if (state_ != LinkState::kReady || fd_ < 0 || ssl_ == nullptr ||
      reader_active_ || !out_.empty() || (interest_ != EPOLLIN && !parked_) ||
      pending_.size() != 1 || !streams_.empty()) {
    return false;
  }
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.token != token) {
    return false;
  }
  if (kick_fd_ < 0) {
    kick_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (kick_fd_ < 0) {
      return false;  // the loop reads, as it always could
    }
  }
  if (kick_pending_) {
    // The last reader was told to stop and has not yet seen it: the kick is
    // its to drain, so that it cannot sleep through it.
    return false;
  }
  if (!parked_) {
    ++epoll_changes_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr) != 0) {
      return false;
    }
  }
  parked_ = false;
  interest_ = 0;
  reader_active_ = true;
  reader_id_ = id;
  reader_token_ = token;
  wait->socket = fd_;
  wait->kick = kick_fd_;
  wait->spin = &busy_poll_;
  return true;
}

bool Connection::ReadForCaller(uint32_t id, uint64_t token, bool readable,
                               absl::Time now, Completions* done) {
  if (!reader_active_ || reader_token_ != token) {
    // The role was taken back, and the kick was for us: no reader can start
    // while it is unread (TakeReading).
    DrainKick();
    return false;
  }
  if (readable) {
    ReadAvailable(now, done);  // a failure closes the socket and the role
  }
  if (!reader_active_) {
    DrainKick();
    return false;
  }
  auto it = pending_.find(id);
  if (it != pending_.end() && it->second.token == token) {
    return true;
  }
  // Answered: the loop expiring it would have taken the role back first.
  ++caller_reads_;
  reader_active_ = false;
  parked_ = true;
  parked_at_ = now;
  return false;
}

void Connection::GiveBackReading(uint64_t token) {
  if (!reader_active_ || reader_token_ != token) {
    return;
  }
  reader_active_ = false;
  SetInterest(EPOLLIN);
}

void Connection::HandBackReading() {
  Unpark();
  if (!reader_active_) {
    return;
  }
  reader_active_ = false;
  SetInterest(EPOLLIN);
  KickReader();
}

void Connection::Unpark() {
  if (!parked_) {
    return;
  }
  parked_ = false;
  SetInterest(EPOLLIN);
}

void Connection::KickReader() {
  if (kick_pending_ || kick_fd_ < 0) {
    return;
  }
  const uint64_t one = 1;
  ssize_t n = write(kick_fd_, &one, sizeof(one));
  (void)n;  // a full counter still leaves the eventfd readable
  kick_pending_ = true;
}

void Connection::DrainKick() {
  if (!kick_pending_) {
    return;
  }
  uint64_t v;
  ssize_t n = read(kick_fd_, &v, sizeof(v));
  (void)n;
  kick_pending_ = false;
}

}  // namespace trustlink::ntl::client
