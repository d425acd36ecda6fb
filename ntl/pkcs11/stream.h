#ifndef TRUSTLINK_NTL_PKCS11_STREAM_H_
#define TRUSTLINK_NTL_PKCS11_STREAM_H_

// The two seams between PKCS#11-over-a-stream and whatever carries the stream.
//
// Appliance side: StreamSink / StreamSession have the same shape as the NTLS
// engine's stream-service interface (ntl/server/handler.h), so plugging
// Pkcs11Service into the server is a forwarding adapter. Client side: Channel /
// ChannelOpener have the shape of the NTLA's Client::StreamOpen / StreamSend /
// StreamClose. Until the link is merged, local_transport.h implements both ends
// over a unix socket so the whole path runs with real peers.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::pkcs11 {

// StreamSink sends to the client's end of one stream.
// Thread safety: safe to call from any thread; calls after Close are ignored.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void Send(std::string data) = 0;
  // Close ends the stream with `status` (a tl_status; 0 is a clean end) and a
  // message.
  virtual void Close(int32_t status, std::string message) = 0;
};

// StreamSession is the service's end of one stream. Its methods never block, so
// a transport may call them from an event-loop thread. Thread safety: called
// from one thread at a time.
class StreamSession {
 public:
  virtual ~StreamSession() = default;
  virtual void OnData(absl::string_view data) = 0;
  // OnClose: the client closed the stream or the transport went away. No more
  // calls follow.
  virtual void OnClose() = 0;
};

// ChannelCallbacks receive a client-side stream's bytes and its end. on_close
// runs once, with OK for a clean end or the status the far end (or the
// transport) gave.
struct ChannelCallbacks {
  std::function<void(absl::string_view)> on_data;
  std::function<void(const absl::Status&)> on_close;
};

// Channel is the client's end of one byte stream to a service on a partition.
// Thread safety: Send and Close may be called from any thread; the callbacks
// may run on a transport thread, never under a lock the caller could be
// holding.
class Channel {
 public:
  virtual ~Channel() = default;
  virtual absl::Status Send(absl::string_view data) = 0;
  // Close ends the stream from this side. No callback runs once Close has
  // returned.
  virtual absl::Status Close() = 0;
};

// ChannelOpener opens a channel to the "pkcs11" service on one partition; the
// bridge gets one and does not know what carries the bytes.
using ChannelOpener = std::function<absl::StatusOr<std::unique_ptr<Channel>>(
    ChannelCallbacks callbacks)>;

}  // namespace trustlink::ntl::pkcs11

#endif  // TRUSTLINK_NTL_PKCS11_STREAM_H_
