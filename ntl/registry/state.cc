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

const ClientRecord* Lookup(const CowMap<const ClientRecord*>& map,
                           absl::string_view key) {
  const ClientRecord* const* found = map.Find(key);
  return found == nullptr ? nullptr : *found;
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
  by_fingerprint_.Put(raw->fingerprint, raw);
  by_label_.Put(raw->label, raw);
  for (const std::string& ip : IpsOf(*raw)) {
    by_ip_.Put(ip, raw);
  }
  by_id_.Put(id, std::move(c));
  return absl::OkStatus();
}

void RegistryState::RemoveClientById(const std::string& id) {
  const ClientPtr* found = by_id_.Find(id);
  if (found == nullptr) {
    return;
  }
  // Hold the record: erasing from by_id_ may drop the last reference.
  const ClientPtr record = *found;
  const ClientRecord& c = *record;
  by_fingerprint_.Erase(c.fingerprint);
  by_label_.Erase(c.label);
  for (const std::string& ip : IpsOf(c)) {
    if (Lookup(by_ip_, ip) == &c) {
      by_ip_.Erase(ip);
    }
  }
  by_id_.Erase(id);
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
  const ClientPtr* found = by_id_.Find(id);
  return found == nullptr ? nullptr : found->get();
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
  by_id_.ForEach([&out](const std::string&, const ClientPtr& c) {
    out.push_back(c.get());
  });
  std::sort(out.begin(), out.end(),
            [](const ClientRecord* a, const ClientRecord* b) {
              return a->label < b->label;
            });
  return out;
}

std::vector<std::string> RegistryState::ClientsUsingPartition(
    absl::string_view name) const {
  std::vector<std::string> out;
  const std::string wanted(name);
  by_id_.ForEach([&](const std::string&, const ClientPtr& c) {
    if (std::binary_search(c->partitions.begin(), c->partitions.end(),
                           wanted)) {
      out.push_back(c->label);
    }
  });
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status RegistryState::CheckReferences() const {
  absl::Status first_problem;
  by_id_.ForEach([&](const std::string& id, const ClientPtr& c) {
    if (!first_problem.ok()) {
      return;
    }
    for (const std::string& p : c->partitions) {
      if (FindPartition(p) == nullptr) {
        first_problem = Error(
            absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
            absl::StrCat("registry file clients/", id, ": client '", c->label,
                         "' is assigned partition '", p,
                         "', which has no file in partitions/; recreate the "
                         "partition or fix the client file"));
        return;
      }
    }
  });
  return first_problem;
}

}  // namespace trustlink::ntl::registry
