#include "ntl/server/validity_cache.h"

#include "ntl/cert.h"

namespace trustlink::ntl::server {

absl::StatusOr<Validity> ValidityCache::Get(absl::string_view fingerprint,
                                            absl::string_view leaf_der) {
  auto it = map_.find(fingerprint);
  if (it != map_.end()) {
    return it->second;
  }
  absl::StatusOr<Certificate> cert =
      Certificate::ParseDer(leaf_der, "client certificate");
  if (!cert.ok()) {
    return cert.status();
  }
  if (map_.size() >= kMaxEntries) {
    map_.clear();
  }
  const Validity v{cert->NotBefore(), cert->NotAfter()};
  map_.emplace(std::string(fingerprint), v);
  return v;
}

}  // namespace trustlink::ntl::server
