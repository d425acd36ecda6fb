#ifndef TRUSTLINK_BENCHMARKS_PEERS_FRAMING_H_
#define TRUSTLINK_BENCHMARKS_PEERS_FRAMING_H_

// The echo call on the wire, for the peers that are not trustlink: the TCP
// echo server answers it, and the load generator sends it to that server
// directly and through stunnel. Both use trustlink's own frames and messages
// (ntl/wire), so every peer does the same framing work per call as ntlsd's
// software partition does for its "echo" op: a length-prefixed request frame
// decoded in full, a response frame encoded in full.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ntl/wire/frame.h"

namespace trustlink::peers {

// kEchoPartition and kEchoOp name the call: the software partition's echo.
inline constexpr absl::string_view kEchoPartition = "echo";
inline constexpr uint32_t kEchoOp = 1;
// kMaxPayload bounds a frame's payload, as ntlsd's default limit does
// (1 MiB), plus room for the request's own fields.
inline constexpr uint32_t kMaxPayload = (1u << 20) + 4096;

// AppendEchoRequest appends one request frame carrying `data` to `out`.
void AppendEchoRequest(uint32_t id, absl::string_view data, std::string* out);

// AppendEchoResponse appends the answer to a decoded request frame: its data
// for the echo op, an error response for any other op.
absl::Status AppendEchoResponse(const ntl::wire::FrameView& request,
                                std::string* out);

// FrameBuffer collects received bytes and hands out complete frames.
// Thread safety: none; one owner.
class FrameBuffer {
 public:
  // Space returns room for at least `n` more bytes at the end; Commit(k) then
  // counts k of them as received. Growing keeps the bytes not yet consumed.
  char* Space(size_t n);
  void Commit(size_t n) { end_ += n; }
  // Append copies bytes received elsewhere (a buffer shared by connections).
  void Append(const char* data, size_t n);

  // Next decodes the frame at the front. Returns false when no whole frame is
  // buffered yet; an error status for a malformed frame. The view stays valid
  // until the next call to Space.
  bool Next(ntl::wire::FrameView* frame, absl::Status* error);

  size_t buffered() const { return end_ - begin_; }

 private:
  std::string buf_;
  size_t begin_ = 0, end_ = 0;
};

// EchoResponseLength checks that `frame` is a successful echo response and
// returns its data length, or -1 with `error` set.
int64_t EchoResponseLength(const ntl::wire::FrameView& frame,
                           std::string* error);

}  // namespace trustlink::peers

#endif  // TRUSTLINK_BENCHMARKS_PEERS_FRAMING_H_
