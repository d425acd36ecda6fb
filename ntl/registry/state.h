#ifndef TRUSTLINK_NTL_REGISTRY_STATE_H_
#define TRUSTLINK_NTL_REGISTRY_STATE_H_

// RegistryState is the registry's content in memory with its indexes: clients
// by file id, fingerprint, label and IP; partitions by name; settings. It
// enforces the invariants that span records (one client per certificate, per
// label and per IP; assignments name existing partitions), so the loader and
// the writer agree on what "consistent" means.
//
// The client indexes are CowMaps (cow_map.h): copying a state, which is what
// publishing a snapshot does, costs O(1), and the next change copies only the
// buckets it touches, so a running server pays O(change) per snapshot, not
// O(clients). Partitions and settings are few and are copied whole.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ntl/registry/cow_map.h"
#include "ntl/registry/model.h"

namespace trustlink::ntl::registry {

// Thread safety: not thread-safe; a const RegistryState (inside a snapshot) may
// be read and copied from many threads at once. A copy is independent of its
// source: changing either never shows in the other.
class RegistryState {
 public:
  using ClientPtr = std::shared_ptr<const ClientRecord>;

  // CheckClient returns an error naming the other client if `c` would collide
  // with a client other than the one stored under its own label, or if it names
  // an unknown partition.
  absl::Status CheckClient(const ClientRecord& c) const;
  // PutClient inserts or replaces the client stored under c->label; it fails,
  // changing nothing, when CheckClient fails.
  absl::Status PutClient(ClientPtr c);
  void RemoveClientById(const std::string& id);

  absl::Status PutPartition(const Partition& p);
  void RemovePartition(const std::string& name);

  const ClientRecord* FindById(absl::string_view id) const;
  const ClientRecord* FindByFingerprint(absl::string_view canonical_fp) const;
  const ClientRecord* FindByLabel(absl::string_view label) const;
  const ClientRecord* FindByIp(absl::string_view canonical_ip) const;
  const Partition* FindPartition(absl::string_view name) const;
  const Partition* FindPartitionBySerial(absl::string_view serial) const;

  // ClientsSortedByLabel lists every client, sorted by label.
  std::vector<const ClientRecord*> ClientsSortedByLabel() const;
  // ClientsUsingPartition lists the labels of the clients assigned `name`,
  // sorted.
  std::vector<std::string> ClientsUsingPartition(absl::string_view name) const;
  // CheckReferences verifies every assignment names an existing partition.
  absl::Status CheckReferences() const;

  size_t client_count() const { return by_id_.size(); }
  const std::map<std::string, Partition>& partitions() const {
    return partitions_;
  }
  const Settings& settings() const { return settings_; }
  void set_settings(const Settings& s) { settings_ = s; }

 private:
  // by_id_ owns the records; the other indexes point into them. Records are
  // immutable and shared between a state and its copies.
  CowMap<ClientPtr> by_id_;
  CowMap<const ClientRecord*> by_fingerprint_;
  CowMap<const ClientRecord*> by_label_;
  CowMap<const ClientRecord*> by_ip_;
  std::map<std::string, Partition> partitions_;
  Settings settings_;
};

}  // namespace trustlink::ntl::registry

#endif  // TRUSTLINK_NTL_REGISTRY_STATE_H_
