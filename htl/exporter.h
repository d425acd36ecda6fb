#ifndef TRUSTLINK_HTL_EXPORTER_H_
#define TRUSTLINK_HTL_EXPORTER_H_

// ExportHtlBinding: the per-link value every HTL proof is bound to
// (docs/htl.md, "Binding"). Both ends compute it from their SSL after the
// handshake; equal on both ends, different for every TLS session, and unknown
// to anyone outside the session.

#include <openssl/ssl.h>

#include <string>

#include "absl/status/statusor.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::htl {

// ExportHtlBinding returns SSL_export_keying_material(ssl, kExporterLen,
// kExporterLabel, no context). It refuses a session whose handshake is not
// complete, and a TLS 1.2 session without the extended master secret (RFC
// 7627), whose exporter a man in the middle could share with both ends (the
// triple handshake attack). TL_E_TLS_HANDSHAKE on refusal.
absl::StatusOr<std::string> ExportHtlBinding(const SSL* ssl);

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_EXPORTER_H_
