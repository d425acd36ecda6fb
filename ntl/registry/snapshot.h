#ifndef TRUSTLINK_NTL_REGISTRY_SNAPSHOT_H_
#define TRUSTLINK_NTL_REGISTRY_SNAPSHOT_H_

// RegistrySnapshot: one consistent, immutable view of the appliance registry at
// one generation. The NTLS server takes a snapshot per handshake (cheap: a
// shared_ptr copy) and asks it who a certificate belongs to.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ntl/registry/model.h"
#include "ntl/registry/state.h"

namespace trustlink::ntl::registry {

// Thread safety: immutable; every method may be called from any number of
// threads.
class RegistrySnapshot {
 public:
  RegistrySnapshot(RegistryState state, uint64_t generation)
      : state_(std::move(state)), generation_(generation) {}

  // generation is the registry generation this snapshot shows.
  uint64_t generation() const { return generation_; }

  // FindClientByFingerprint returns the client whose certificate has this
  // SHA-256 fingerprint, or nullptr. `sha256_fingerprint` is the canonical
  // "AB:CD:..." form of Certificate::Sha256Fingerprint() (other forms:
  // normalise with NormalizeFingerprint). O(1). The record lives as long as the
  // snapshot.
  const ClientRecord* FindClientByFingerprint(
      absl::string_view sha256_fingerprint) const {
    return state_.FindByFingerprint(sha256_fingerprint);
  }
  const ClientRecord* FindClientByLabel(absl::string_view label) const {
    return state_.FindByLabel(label);
  }
  // FindClientByIp returns the client registered with -ip `canonical_ip` or
  // mapped to it with hostip map, or nullptr.
  const ClientRecord* FindClientByIp(absl::string_view canonical_ip) const {
    return state_.FindByIp(canonical_ip);
  }
  // ClientAllowsSourceIp says whether a connection from `canonical_ip` matches
  // the client's registered IP or one of its mapped host IPs (what ipcheck
  // enforces).
  static bool ClientAllowsSourceIp(const ClientRecord& client,
                                   absl::string_view canonical_ip);

  // EffectiveOttExpirySeconds is the client's OTT expiry, or the default when
  // it has none.
  int64_t EffectiveOttExpirySeconds(const ClientRecord& client) const {
    return client.ott_expiry_seconds > 0
               ? client.ott_expiry_seconds
               : state_.settings().htl_default_ott_expiry_seconds;
  }

  // ClientPartitions returns the partitions assigned to `client`, in name
  // order.
  std::vector<const Partition*> ClientPartitions(
      const ClientRecord& client) const;

  std::vector<const ClientRecord*> ClientsSortedByLabel() const {
    return state_.ClientsSortedByLabel();
  }
  size_t client_count() const { return state_.client_count(); }
  const Partition* FindPartition(absl::string_view name) const {
    return state_.FindPartition(name);
  }
  std::vector<std::string> ClientsUsingPartition(absl::string_view name) const {
    return state_.ClientsUsingPartition(name);
  }
  const std::map<std::string, Partition>& partitions() const {
    return state_.partitions();
  }
  const Settings& settings() const { return state_.settings(); }
  const RegistryState& state() const { return state_; }

 private:
  const RegistryState state_;
  const uint64_t generation_;
};

}  // namespace trustlink::ntl::registry

#endif  // TRUSTLINK_NTL_REGISTRY_SNAPSHOT_H_
