#ifndef TRUSTLINK_NTL_WIRE_FRAME_H_
#define TRUSTLINK_NTL_WIRE_FRAME_H_

// The NTL frame layer (docs/wire.md). Inside the TLS stream every message is a
// frame:
//
//   0      1      2             4                  8                  12
//   +------+------+-------------+------------------+------------------+---------
//   | type | flags|  reserved   |       id         |      length      | payload
//   +------+------+-------------+------------------+------------------+---------
//
// All integers are big-endian. `id` is a request id or a stream id (0 when
// neither applies). `reserved` must be zero, so it can gain a meaning later
// without ambiguity. `length` is bounded by the receiver's maximum (1 MiB by
// default); a longer frame is a protocol error that closes the connection.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::wire {

inline constexpr size_t kFrameHeaderSize = 12;
inline constexpr uint32_t kDefaultMaxPayload = 1u << 20;

enum class FrameType : uint8_t {
  kHello = 1,    // client -> server, first frame: protocol version and features
  kWelcome = 2,  // server -> client: admitted; the client's slot list
  kRequest = 3,  // client -> server: a call on a partition, id = request id
  kResponse = 4,  // server -> client: the answer, id = request id
  kPing = 5,      // either way: heartbeat; payload echoed in the pong
  kPong = 6,      // either way: answer to kPing
  kStreamOpen =
      7,  // client -> server: open a byte stream to a service on a partition
  kStreamData = 8,   // either way: bytes on stream `id`
  kStreamClose = 9,  // either way: stream `id` ends, with a status
  kGoAway = 10,      // server -> client: the connection is closing, and why
  kSlotsChanged =
      11,          // server -> client: the slot list changed (new assignments)
  kHtlProof = 12,  // client -> server: HTL possession proof for this link
};

// kMaxFrameType is the largest type this version understands; larger ones are
// refused.
inline constexpr uint8_t kMaxFrameType = 12;

// FrameTypeName returns a short name for logs ("request"), or "unknown".
const char* FrameTypeName(FrameType type);

// FrameView is a decoded frame whose payload points into the caller's buffer.
struct FrameView {
  FrameType type;
  uint8_t flags;
  uint32_t id;
  absl::string_view payload;
};

// AppendFrameHeader appends the 12-byte header of a frame whose payload of
// `payload_len` bytes the caller appends next, so a large payload can be
// encoded straight into its final buffer.
void AppendFrameHeader(FrameType type, uint8_t flags, uint32_t id,
                       uint32_t payload_len, std::string* out);

// AppendFrame appends one encoded frame to `out`. The caller keeps payloads
// within the peer's maximum; this function does not check it.
void AppendFrame(FrameType type, uint8_t flags, uint32_t id,
                 absl::string_view payload, std::string* out);

// DecodeResult is what DecodeFrame found at the start of a buffer.
struct DecodeResult {
  enum class Kind { kNeedMore, kFrame, kError };
  Kind kind = Kind::kNeedMore;
  FrameView frame{};    // valid when kind == kFrame; borrows from the buffer
  size_t consumed = 0;  // bytes to drop from the buffer when kind == kFrame
  absl::Status error;   // set when kind == kError; the connection must close
};

// DecodeFrame looks for one complete frame at the start of `buffer`. It never
// reads past `buffer`, and reports a malformed header (unknown type, non-zero
// reserved bits, a length over `max_payload`) as soon as the header is
// complete, before the payload arrives.
DecodeResult DecodeFrame(absl::string_view buffer, uint32_t max_payload);

}  // namespace trustlink::ntl::wire

#endif  // TRUSTLINK_NTL_WIRE_FRAME_H_
