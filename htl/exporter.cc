#include "htl/exporter.h"

#include "htl/crypto.h"
#include "ntl/status.h"

namespace trustlink::htl {

absl::StatusOr<std::string> ExportHtlBinding(const SSL* ssl) {
  if (ssl == nullptr || SSL_in_init(ssl)) {
    return ntl::Error(absl::StatusCode::kFailedPrecondition, TL_E_TLS_HANDSHAKE,
                      "the HTL binding needs a completed TLS handshake");
  }
  if (SSL_version(ssl) < TLS1_3_VERSION && !SSL_get_extms_support(ssl)) {
    return ntl::Error(
        absl::StatusCode::kFailedPrecondition, TL_E_TLS_HANDSHAKE,
        "TLS 1.2 without the extended master secret cannot carry HTL proofs; "
        "enable extended_master_secret on the peer or use TLS 1.3");
  }
  std::string out(kExporterLen, '\0');
  if (!SSL_export_keying_material(const_cast<SSL*>(ssl),
                                  reinterpret_cast<uint8_t*>(out.data()),
                                  out.size(), kExporterLabel.data(),
                                  kExporterLabel.size(), nullptr, 0, 0)) {
    return ntl::Error(absl::StatusCode::kInternal, TL_E_TLS_HANDSHAKE,
                      "SSL_export_keying_material failed for the HTL binding");
  }
  return out;
}

}  // namespace trustlink::htl
