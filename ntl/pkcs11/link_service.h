#ifndef TRUSTLINK_NTL_PKCS11_LINK_SERVICE_H_
#define TRUSTLINK_NTL_PKCS11_LINK_SERVICE_H_

// LinkPkcs11Service: Pkcs11Service offered to the NTLS server as its "pkcs11"
// stream service (server::StreamService). The server authorises every open
// (the partition must be assigned to the calling client) and closes the stream
// when the assignment is revoked, which reaches the session as OnClose. Both
// sides use the same stream ends (ntl/stream_ends.h), so Open only hands the
// call on with the partitions.

#include <memory>

#include "absl/status/statusor.h"
#include "ntl/pkcs11/service.h"
#include "ntl/server/handler.h"

namespace trustlink::ntl::pkcs11 {

// Thread safety: Open may be called from several loop threads at once (it is
// Pkcs11Service::Open, which is thread-safe). `service` is borrowed and must
// outlive this object and every session it opened.
class LinkPkcs11Service : public server::StreamService {
 public:
  explicit LinkPkcs11Service(Pkcs11Service* service) : service_(service) {}

  // Open starts `p11-kit remote` for ctx.partitions (one, or all the client's
  // for a client-wide stream); NOT_FOUND when none has a token (made without
  // one, or deleted).
  absl::StatusOr<std::unique_ptr<server::StreamSession>> Open(
      const server::CallContext& ctx,
      std::shared_ptr<server::StreamSink> sink) override;

 private:
  Pkcs11Service* const service_;
};

}  // namespace trustlink::ntl::pkcs11

#endif  // TRUSTLINK_NTL_PKCS11_LINK_SERVICE_H_
