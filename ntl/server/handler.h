#ifndef TRUSTLINK_NTL_SERVER_HANDLER_H_
#define TRUSTLINK_NTL_SERVER_HANDLER_H_

// The seams where partitions plug into the NTLS engine: request handlers that
// may answer later from any thread, and byte-stream services (the PKCS#11
// bridge runs `p11-kit remote` behind one).

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ntl/stream_ends.h"

namespace trustlink::ntl::server {

// CallContext says who is calling which partition. Borrowed for the duration of
// a call.
struct CallContext {
  absl::string_view client_label;
  absl::string_view fingerprint;
  // Empty for a client-wide stream (one opened without a partition), which
  // covers every partition in `partitions`.
  absl::string_view partition;
  // The partitions the call covers: `partition` alone, or for a client-wide
  // stream every partition assigned to the client when it opened, sorted. The
  // server closes the stream when any of them is unassigned.
  absl::Span<const std::string> partitions;
};

// Responder answers one request. Respond may be called once, from any thread,
// at any later time; a Responder destroyed without answering answers
// TL_E_INTERNAL so a client never waits on a forgotten call. Answers to
// connections that have gone are dropped. Thread safety: Respond is safe to
// call from any thread (once).
class Responder {
 public:
  virtual ~Responder() = default;
  // Respond sends `status` (a tl_status; 0 is success) and `data` (on failure,
  // a message).
  virtual void Respond(int32_t status, std::string data) = 0;
  // RespondBytes is Respond with borrowed bytes. A handler that answers on the
  // loop, before HandleRequest returns, has its answer encoded straight into
  // the connection's output with no string made for it; otherwise the bytes
  // are copied as Respond would take them.
  virtual void RespondBytes(int32_t status, absl::string_view data) {
    Respond(status, std::string(data));
  }
};

// PartitionHandler serves requests on partitions. HandleRequest runs on an
// event loop thread and must not block: a slow operation keeps the Responder
// and answers later. Thread safety: HandleRequest is called from several loop
// threads at once.
class PartitionHandler {
 public:
  virtual ~PartitionHandler() = default;
  virtual void HandleRequest(const CallContext& ctx, uint32_t op,
                             absl::string_view data,
                             std::unique_ptr<Responder> responder) = 0;
};

// StreamSink and StreamSession are a stream's two ends (ntl/stream_ends.h),
// shared with the PKCS#11 service's local transport.
using StreamSink = ntl::StreamSink;
using StreamSession = ntl::StreamSession;

// StreamService opens streams for one service name ("pkcs11").
// Thread safety: Open is called from several loop threads at once.
class StreamService {
 public:
  virtual ~StreamService() = default;
  virtual absl::StatusOr<std::unique_ptr<StreamSession>> Open(
      const CallContext& ctx, std::shared_ptr<StreamSink> sink) = 0;
};

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_HANDLER_H_
