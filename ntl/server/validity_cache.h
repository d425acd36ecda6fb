// The validity windows of registered client certificates, by fingerprint, so
// admission parses a certificate once per loop rather than on every handshake
// (twice on a resumed one: the ticket filter and after the handshake).

#ifndef TRUSTLINK_NTL_SERVER_VALIDITY_CACHE_H_
#define TRUSTLINK_NTL_SERVER_VALIDITY_CACHE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace trustlink::ntl::server {

// Validity is a certificate's notBefore and notAfter.
struct Validity {
  absl::Time not_before;
  absl::Time not_after;
};

// ValidityCache maps a certificate's SHA-256 fingerprint to its validity. The
// fingerprint names the DER exactly, so an entry never goes stale; the cache
// is emptied when it reaches kMaxEntries (far above a fleet's registered
// certificates: admission asks only for registered ones).
//
// Thread safety: none; each event loop owns one.
class ValidityCache {
 public:
  static constexpr size_t kMaxEntries = 16384;

  // Get returns the validity of `leaf_der`, whose fingerprint is
  // `fingerprint`, parsing it unless cached; the parse error otherwise (not
  // cached, so a bad certificate is reported on each attempt).
  absl::StatusOr<Validity> Get(absl::string_view fingerprint,
                               absl::string_view leaf_der);

  size_t size() const { return map_.size(); }

 private:
  absl::flat_hash_map<std::string, Validity> map_;
};

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_VALIDITY_CACHE_H_
