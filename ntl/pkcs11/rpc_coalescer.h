#ifndef TRUSTLINK_NTL_PKCS11_RPC_COALESCER_H_
#define TRUSTLINK_NTL_PKCS11_RPC_COALESCER_H_

// RpcCoalescer: whole p11-kit RPC messages out of one direction of a stream.
//
// p11-kit writes each RPC message in pieces: the client a 12-byte header, the
// options (its module name) and the body, `p11-kit remote` the header and the
// body, one write(2) each. Read as they come, each piece became its own link
// frame and TLS record, its own wake-up of the far side and its own write into
// the far pipe: 3.5 records per RPC where 2 do (docs/pkcs11.md, "Cutting the
// hops"). Nothing on the far side can use part of a message (p11-kit reads a
// message whole before it acts), so holding the pieces until the message is
// complete costs no latency and saves the extra hops.
//
// It knows only p11-kit's transport framing (rpc-transport.c), never PKCS#11:
// each direction starts with one byte (the protocol version), then messages of
// a 12-byte header (call code, options length, body length, big-endian uint32)
// followed by that many bytes. Bytes that do not fit this (a call code of 0,
// which p11-kit itself rejects) switch the coalescer to passing everything
// through at once. A message longer than the hold limit is passed on as it
// comes. A partial message is held at most max_hold (the caller polls with
// PollTimeoutMs and sends TakeDue), so a peer that is not p11-kit costs at
// most that delay per write, never a hang.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace trustlink::ntl::pkcs11 {

// The default bound on bytes held for one message: the link's stream chunk.
inline constexpr size_t kRpcMaxHeld = 64 * 1024;

// Thread safety: not thread-safe; one per direction of one stream, used by one
// thread.
class RpcCoalescer {
 public:
  // max_hold is capped at a day (an infinite one would overflow the clock).
  explicit RpcCoalescer(absl::Duration max_hold, size_t max_held = kRpcMaxHeld)
      : max_hold_(std::clamp(max_hold, absl::ZeroDuration(), absl::Hours(24))),
        max_held_(max_held) {}

  // Add takes bytes read from the writer, in order.
  void Add(absl::string_view data);

  // TakeReady returns the held bytes up to the end of the last complete unit
  // (the version byte or a message) and keeps the rest; everything held in
  // pass-through mode or when the current message is too long to hold. Empty
  // when nothing is ready. What it keeps starts the max_hold clock.
  std::string TakeReady();

  // PollTimeoutMs is the poll(2) timeout until held bytes are due: -1 when
  // nothing is held.
  int PollTimeoutMs() const;

  // TakeDue returns everything held once it has been held for max_hold
  // (call it after every poll); empty before that.
  std::string TakeDue();

  // TakeAll returns everything held: the caller's hold deadline passed, or
  // the writer ended.
  std::string TakeAll();

  // holding: bytes of an unfinished message are held.
  bool holding() const { return !held_.empty(); }

  // passing_through: the bytes did not look like p11-kit's framing.
  bool passing_through() const { return phase_ == Phase::kPassThrough; }

 private:
  enum class Phase { kVersion, kHeader, kBody, kPassThrough };

  // Take returns the first n held bytes.
  std::string Take(size_t n);

  const absl::Duration max_hold_;
  const size_t max_held_;
  // When held bytes are due, while clock_running_. Monotonic: a wall-clock
  // step must neither release nor pin them.
  bool clock_running_ = false;
  std::chrono::steady_clock::time_point hold_until_;
  Phase phase_ = Phase::kVersion;
  std::string held_;
  size_t ready_ = 0;  // held_[0, ready_) ends at a unit boundary
  unsigned char header_[12] = {};
  size_t header_have_ = 0;  // kHeader: bytes of header_ seen
  uint64_t body_left_ = 0;  // kBody: bytes of the message still to come
  bool too_long_ = false;   // the current message does not fit max_held_
};

}  // namespace trustlink::ntl::pkcs11

#endif  // TRUSTLINK_NTL_PKCS11_RPC_COALESCER_H_
