#ifndef TRUSTLINK_NTL_STREAM_ENDS_H_
#define TRUSTLINK_NTL_STREAM_ENDS_H_

// The two ends of one byte stream as a service sees them: the sink it writes
// to and the session the transport feeds. One home for both, because two
// transports carry streams to the same services: the NTLS engine
// (ntl/server/handler.h) and the PKCS#11 service's local socket
// (ntl/pkcs11/local_transport.h); each names them in its own namespace.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace trustlink::ntl {

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
// a transport may call them from an event-loop thread.
// Thread safety: called from one thread at a time.
class StreamSession {
 public:
  virtual ~StreamSession() = default;
  virtual void OnData(absl::string_view data) = 0;
  // OnClose: the stream ended: the client closed it, the service closed it
  // through its sink, its partition was revoked, or the transport went away.
  // Called exactly once; no more calls follow, and the session is destroyed
  // after it.
  virtual void OnClose() = 0;
};

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_STREAM_ENDS_H_
