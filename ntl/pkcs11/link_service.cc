#include "ntl/pkcs11/link_service.h"

#include <utility>

namespace trustlink::ntl::pkcs11 {

absl::StatusOr<std::unique_ptr<server::StreamSession>> LinkPkcs11Service::Open(
    const server::CallContext& ctx, std::shared_ptr<server::StreamSink> sink) {
  // The service's stream ends are the server's (ntl/stream_ends.h): no
  // adapter between them.
  return service_->Open(ctx.partitions, std::move(sink));
}

}  // namespace trustlink::ntl::pkcs11
