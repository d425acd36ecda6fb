#ifndef TRUSTLINK_NTL_PKCS11_STREAM_H_
#define TRUSTLINK_NTL_PKCS11_STREAM_H_

// The two seams between PKCS#11-over-a-stream and whatever carries the stream.
//
// Appliance side: StreamSink / StreamSession are the NTLS engine's own
// (ntl/stream_ends.h), so Pkcs11Service plugs into the server directly. Client
// side: Channel / ChannelOpener have the shape of the NTLA's Client::StreamOpen
// / StreamSend / StreamClose. Until the link is merged, local_transport.h
// implements both ends over a unix socket so the whole path runs with real
// peers.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/stream_ends.h"

namespace trustlink::ntl::pkcs11 {

// The appliance side's two ends of a stream (ntl/stream_ends.h), the same
// classes the NTLS engine serves streams with.
using StreamSink = ntl::StreamSink;
using StreamSession = ntl::StreamSession;

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
