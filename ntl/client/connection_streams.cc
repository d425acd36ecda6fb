// Connection's byte streams: open, send (cut to the frame limit) and close.
// Stream ids outlive reconnects; inbound stream frames are handled with the
// other frames (connection_frames.cc).

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/client/connection.h"
#include "ntl/status.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::client {

absl::StatusOr<uint32_t> Connection::OpenStream(absl::string_view partition,
                                                absl::string_view service,
                                                StreamCallbacks callbacks,
                                                Completions* done) {
  if (state_ != LinkState::kReady) {
    return Error(absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
                 absl::StrCat("server '", server_.name, "' is not connected (",
                              LinkStateName(state_),
                              "; last error: ", last_error_.message(), ")"));
  }
  // Stream ids only grow on this Connection, across reconnects, so a stale
  // handle never names a newer stream.
  while (next_stream_ == 0 || streams_.count(next_stream_) != 0) {
    ++next_stream_;
  }
  const uint32_t id = next_stream_++;
  HandBackReading();  // stream data is for the loop
  streams_.emplace(id, std::move(callbacks));
  wire::StreamOpen open;
  open.partition = std::string(partition);
  open.service = std::string(service);
  Send(wire::FrameType::kStreamOpen, id, wire::EncodeStreamOpen(open), done);
  return id;
}

absl::Status Connection::StreamSend(uint32_t stream, absl::string_view data,
                                    Completions* done) {
  if (streams_.count(stream) == 0) {
    return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                 absl::StrCat("stream ", stream, " on server '", server_.name,
                              "' is closed"));
  }
  for (size_t off = 0; off < data.size() || (off == 0 && data.empty());) {
    const size_t n = std::min<size_t>(data.size() - off, settings_.max_payload);
    Send(wire::FrameType::kStreamData, stream, data.substr(off, n), done);
    off += n;
    if (n == 0) {
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status Connection::StreamClose(uint32_t stream, Completions* done) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    return absl::OkStatus();
  }
  streams_.erase(it);
  wire::Closing c;
  Send(wire::FrameType::kStreamClose, stream, wire::EncodeClosing(c), done);
  return absl::OkStatus();
}

}  // namespace trustlink::ntl::client
