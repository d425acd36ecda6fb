#ifndef TRUSTLINK_NTL_SERVER_ADMISSION_H_
#define TRUSTLINK_NTL_SERVER_ADMISSION_H_

// The admission rules of docs/wire.md, as a pure function so every rule has a
// unit test.

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/server/directory.h"
#include "ntl/server/resolver.h"
#include "ntl/server/validity_cache.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server {

// Admission is the outcome of admitting one authenticated TLS peer.
struct Admission {
  bool admitted = false;
  std::shared_ptr<const ClientRecord>
      record;              // set when the fingerprint is registered
  int alert = 0;           // TLS alert to send on refusal (SSL_AD_*)
  tl_status code = TL_OK;  // the precise reason, for the log
  std::string rule;        // "registered", "ipcheck", "dns", "validity"
  std::string message;  // the log line's reason, naming the client and the fix
};

// NeedsResolution says whether admitting `record` under `snapshot` needs the
// addresses its hostname resolves to: ipcheck is on, the client is registered
// by hostname, and no address is mapped.
bool NeedsResolution(const DirectorySnapshot& snapshot,
                     const ClientRecord& record);

// Admit checks `fingerprint` and `peer_ip` (canonical text) against `snapshot`.
// `resolved` is the lookup answer for the record's resolve_hostname when
// NeedsResolution holds (null: none known, which refuses). The HTL rule is not
// here: it is answered after hello with goaway, not with an alert.
Admission Admit(const DirectorySnapshot& snapshot,
                absl::string_view fingerprint, absl::string_view peer_ip,
                const Resolution* resolved = nullptr);

// AdmitCertificate is Admit for a peer's leaf certificate `leaf_der` (whose
// SHA-256 fingerprint is `fingerprint`) that also refuses a registered
// certificate outside its validity period at `now`. The TLS layer pins by
// registration and never looks at the dates, so they are checked here: after
// every handshake, resumed ones too. `validity` (may be null) keeps the dates
// of certificates already parsed.
Admission AdmitCertificate(const DirectorySnapshot& snapshot,
                           absl::string_view fingerprint,
                           absl::string_view leaf_der,
                           absl::string_view peer_ip, absl::Time now,
                           const Resolution* resolved = nullptr,
                           ValidityCache* validity = nullptr);

// CanonicalIp returns `ip` in inet_ntop form, with IPv4-mapped IPv6 as plain
// IPv4, or "" when it is not an address.
std::string CanonicalIp(absl::string_view ip);

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_ADMISSION_H_
