#include "ntl/registry/state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl::registry {
namespace {

std::vector<std::string> IpsOf(const ClientRecord& c) {
  std::vector<std::string> ips = c.host_ips;
  if (c.name_kind != NameKind::kHostname) {
    ips.push_back(c.name);
  }
  return ips;
}

template <typename Map>
const ClientRecord* Lookup(const Map& map, absl::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : it->second;
}

}  // namespace

absl::Status RegistryState::CheckClient(const ClientRecord& c) const {
  if (const ClientRecord* other = FindByFingerprint(c.fingerprint);
      other != nullptr && other->label != c.label) {
    return Error(
        absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
        absl::StrCat("this certificate (", c.fingerprint.substr(0, 23),
                     "...) is already registered as client '", other->label,
                     "'; delete that client or use another certificate"));
  }
  for (const std::string& ip : IpsOf(c)) {
    if (const ClientRecord* other = FindByIp(ip);
        other != nullptr && other->label != c.label) {
      return Error(
          absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
          absl::StrCat("IP address ", ip, " already belongs to client '",
                       other->label, "'; unmap or delete it there first"));
    }
  }
  for (const std::string& p : c.partitions) {
    if (FindPartition(p) == nullptr) {
      return Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat("client '", c.label, "' is assigned partition '", p,
                       "', which does not exist"));
    }
  }
  return absl::OkStatus();
}

absl::Status RegistryState::PutClient(ClientPtr c) {
  absl::Status st = CheckClient(*c);
  if (!st.ok()) {
    return st;
  }
  std::string id = ClientFileId(c->label);
  RemoveClientById(id);
  const ClientRecord* raw = c.get();
  by_fingerprint_[raw->fingerprint] = raw;
  by_label_[raw->label] = raw;
  for (const std::string& ip : IpsOf(*raw)) {
    by_ip_[ip] = raw;
  }
  by_id_[id] = std::move(c);
  return absl::OkStatus();
}

void RegistryState::RemoveClientById(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    return;
  }
  const ClientRecord& c = *it->second;
  by_fingerprint_.erase(c.fingerprint);
  by_label_.erase(c.label);
  for (const std::string& ip : IpsOf(c)) {
    auto ip_it = by_ip_.find(ip);
    if (ip_it != by_ip_.end() && ip_it->second == &c) {
      by_ip_.erase(ip_it);
    }
  }
  by_id_.erase(it);
}

absl::Status RegistryState::PutPartition(const Partition& p) {
  const Partition* same_serial = FindPartitionBySerial(p.serial);
  if (same_serial != nullptr && same_serial->name != p.name) {
    return Error(absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
                 absl::StrCat("serial number ", p.serial,
                              " already belongs to partition '",
                              same_serial->name, "'; choose another serial"));
  }
  partitions_[p.name] = p;
  return absl::OkStatus();
}

void RegistryState::RemovePartition(const std::string& name) {
  partitions_.erase(name);
}

const ClientRecord* RegistryState::FindById(absl::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second.get();
}
const ClientRecord* RegistryState::FindByFingerprint(
    absl::string_view fp) const {
  return Lookup(by_fingerprint_, fp);
}
const ClientRecord* RegistryState::FindByLabel(absl::string_view label) const {
  return Lookup(by_label_, label);
}
const ClientRecord* RegistryState::FindByIp(absl::string_view ip) const {
  return Lookup(by_ip_, ip);
}

const Partition* RegistryState::FindPartition(absl::string_view name) const {
  auto it = partitions_.find(std::string(name));
  return it == partitions_.end() ? nullptr : &it->second;
}

const Partition* RegistryState::FindPartitionBySerial(
    absl::string_view serial) const {
  // Partitions are few (tens); a scan keeps one index less to keep right.
  for (const auto& [name, p] : partitions_) {
    if (p.serial == serial) {
      return &p;
    }
  }
  return nullptr;
}

std::vector<const ClientRecord*> RegistryState::ClientsSortedByLabel() const {
  std::vector<const ClientRecord*> out;
  out.reserve(by_id_.size());
  for (const auto& [id, c] : by_id_) {
    out.push_back(c.get());
  }
  std::sort(out.begin(), out.end(),
            [](const ClientRecord* a, const ClientRecord* b) {
              return a->label < b->label;
            });
  return out;
}

std::vector<std::string> RegistryState::ClientsUsingPartition(
    absl::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [id, c] : by_id_) {
    if (std::binary_search(c->partitions.begin(), c->partitions.end(),
                           std::string(name))) {
      out.push_back(c->label);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status RegistryState::CheckReferences() const {
  for (const auto& [id, c] : by_id_) {
    for (const std::string& p : c->partitions) {
      if (FindPartition(p) == nullptr) {
        return Error(
            absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
            absl::StrCat("registry file clients/", id, ": client '", c->label,
                         "' is assigned partition '", p,
                         "', which has no file in partitions/; recreate the "
                         "partition or fix the client file"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace trustlink::ntl::registry
