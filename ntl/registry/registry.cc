#include "ntl/registry/registry.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "ntl/cert.h"
#include "ntl/names.h"
#include "ntl/registry/record_format.h"
#include "ntl/status.h"

namespace trustlink::ntl::registry {
namespace {

using internal::MutexLock;

constexpr uint64_t kFirstSerial = 1000001;

std::string ClientKey(absl::string_view label) {
  return absl::StrCat("client ", ClientFileId(label));
}

absl::Status NoSuchClient(absl::string_view label) {
  return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
               absl::StrCat("no client is registered with label '", label,
                            "'; see client list"));
}

absl::Status NoSuchPartition(absl::string_view name) {
  return Error(
      absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
      absl::StrCat("partition '", name,
                   "' does not exist; tl_registry_list_partitions lists "
                   "the partitions, tl_registry_create_partition makes one"));
}

int64_t NowUnix() { return absl::ToUnixSeconds(absl::Now()); }

// CanonicalIp canonicalises an address given to hostip map/unmap; a host name
// is refused.
absl::StatusOr<std::string> CanonicalIp(absl::string_view ip) {
  auto name = CanonicalizeName(ip);
  if (!name.ok()) return name.status();
  if (name->kind == NameKind::kHostname) {
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
        absl::StrCat("'", ip,
                     "' is not an IP address; -ip takes an IPv4 or IPv6 "
                     "address"));
  }
  return name->canonical;
}

// CheckCertificate parses `pem` and checks it names `name`; with force a
// mismatch becomes a warning.
absl::StatusOr<Certificate> CheckCertificate(
    absl::string_view pem, const CanonicalName& name, absl::string_view label,
    bool force, std::vector<std::string>* warnings) {
  if (pem.size() > kMaxCertificatePemSize) {
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_CERT_INVALID,
        absl::StrCat("certificate for client '", label, "' is larger than ",
                     kMaxCertificatePemSize, " bytes; is it a certificate?"));
  }
  auto cert = Certificate::ParsePem(
      pem, absl::StrCat("certificate for client '", label, "'"));
  if (!cert.ok()) return cert.status();
  if (!cert->MatchesName(name)) {
    std::vector<std::string> names = cert->DnsNames();
    for (const std::string& ip : cert->IpAddresses()) names.push_back(ip);
    std::string msg = absl::StrCat(
        "certificate for client '", label, "' is for CN '", cert->CommonName(),
        "' (SAN: ", names.empty() ? "none" : absl::StrJoin(names, ", "),
        "), not for ", name.canonical);
    if (!force) {
      return Error(
          absl::StatusCode::kInvalidArgument, TL_E_CERT_NAME_MISMATCH,
          absl::StrCat(msg,
                       "; register it with the name it was made for, or with "
                       "force to register it anyway"));
    }
    warnings->push_back(absl::StrCat(msg, "; registered anyway (force)"));
  }
  if (cert->IsExpired(absl::Now())) {
    warnings->push_back(
        absl::StrCat("certificate for client '", label,
                     "' has expired; the client cannot connect until it "
                     "makes a new one and it is registered again"));
  }
  return cert;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(
    const std::string& root, bool create) {
  auto store = FileStore::Open(root, create);
  if (!store.ok()) return store.status();
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd >= 0 && inotify_add_watch(fd, root.c_str(), IN_MOVED_TO) < 0) {
    close(fd);
    fd = -1;
  }
  std::unique_ptr<Registry> reg(new Registry(root, std::move(*store), fd));
  absl::Status st = reg->RefreshWith(&FileStore::LockShared);
  if (!st.ok()) return st;
  return reg;
}

Registry::Registry(std::string root, FileStore store, int watch_fd)
    : root_(std::move(root)), watch_fd_(watch_fd), store_(std::move(store)) {
  // Until the first load, state_ is empty at generation 0, which CatchUpLocked
  // treats as "unknown": the journal may not reach back, so it falls back to a
  // full load.
}

Registry::~Registry() {
  if (watch_fd_ >= 0) {
    close(watch_fd_);
  }
}

std::shared_ptr<const RegistrySnapshot> Registry::Snapshot() {
  MutexLock lock(&mu_);
  if (snapshot_ == nullptr || snapshot_->generation() != generation_ ||
      state_dirty_) {
    state_dirty_ = false;
    snapshot_ = std::make_shared<const RegistrySnapshot>(state_, generation_);
  }
  return snapshot_;
}

uint64_t Registry::generation() {
  MutexLock lock(&mu_);
  return generation_;
}

void Registry::DrainWatch() {
  if (watch_fd_ < 0) {
    return;
  }
  char buf[4096];
  while (read(watch_fd_, buf, sizeof(buf)) > 0) {
  }
}

absl::Status Registry::Refresh() { return RefreshWith(&FileStore::LockShared); }

absl::Status Registry::TryRefresh() {
  return RefreshWith(&FileStore::TryLockShared);
}

void Registry::SetAfterDrainForTest(std::function<void()> hook) {
  MutexLock lock(&hook_mu_);
  after_drain_for_test_ = std::move(hook);
}

void Registry::RunAfterDrainHook() {
  std::function<void()> hook;
  {
    MutexLock lock(&hook_mu_);
    hook = after_drain_for_test_;
  }
  if (hook) hook();
}

absl::Status Registry::RefreshWith(
    absl::StatusOr<internal::FileLock> (FileStore::*lock_shared)()) {
  MutexLock lock(&mu_);
  // Drained under the lock: another thread that then finds the watch quiet and
  // asks for the generation waits here until this one caught up, instead of
  // answering with the view from before the change (a server's second event
  // loop admitting a client that was just deleted).
  DrainWatch();
  RunAfterDrainHook();
  auto g = store_.ReadGeneration();
  if (!g.ok()) return g.status();
  if (snapshot_ != nullptr && *g == generation_ && !needs_full_reload_) {
    return absl::OkStatus();
  }
  // A reader's lock: it waits only for writers, and readers (every admin
  // command opens the registry) never wait for each other.
  auto file_lock = (store_.*lock_shared)();
  if (!file_lock.ok()) return file_lock.status();
  absl::Status st = CatchUpLocked();
  if (!st.ok()) return st;
  snapshot_ = std::make_shared<const RegistrySnapshot>(state_, generation_);
  state_dirty_ = false;
  return absl::OkStatus();
}

absl::Status Registry::Locked(const std::function<absl::Status()>& body) {
  auto file_lock = store_.Lock();
  if (!file_lock.ok()) return file_lock.status();
  absl::Status st = CatchUpLocked();
  if (!st.ok()) return st;
  return body();
}

absl::Status Registry::CatchUpLocked() {
  auto g = store_.ReadGeneration();
  if (!g.ok()) return g.status();
  if (!needs_full_reload_ && *g == generation_) {
    return absl::OkStatus();
  }
  if (!needs_full_reload_ && *g > generation_) {
    auto keys = store_.ChangedKeys(generation_, *g);
    if (!keys.ok()) return keys.status();
    if (keys->has_value()) {
      absl::Status st = store_.ApplyKeys(**keys, &state_);
      if (st.ok()) {
        generation_ = *g;
        return absl::OkStatus();
      }
      RestoreLastGoodLocked();
      return st;
    }
  }
  auto loaded = store_.LoadAll();
  if (!loaded.ok()) return loaded.status();
  absl::Status st = loaded->CheckReferences();
  if (!st.ok()) return st;
  state_ = std::move(*loaded);
  generation_ = *g;
  needs_full_reload_ = false;
  state_dirty_ = true;
  return absl::OkStatus();
}

void Registry::RestoreLastGoodLocked() {
  // state_ may be half updated; fall back to the last published view and reload
  // in full at the next chance.
  needs_full_reload_ = true;
  if (snapshot_ != nullptr) {
    state_ = snapshot_->state();
    generation_ = snapshot_->generation();
  }
}

absl::Status Registry::CommitLocked(const std::vector<FileChange>& changes) {
  std::set<std::string> leftover;
  auto next = store_.Commit(generation_, changes, &leftover);
  if (!next.ok()) {
    // Some files may be written but not announced; state_ still shows the last
    // generation.
    needs_full_reload_ = true;
    return next.status();
  }
  generation_ = *next;
  if (!leftover.empty()) {
    // A writer died before announcing these; this commit announced them, so
    // read them now.
    absl::Status st = store_.ApplyKeys(leftover, &state_);
    if (!st.ok()) {
      RestoreLastGoodLocked();
      return st;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ClientRecord> Registry::BuildClient(
    const ClientRegistration& reg, std::vector<std::string>* warnings) {
  absl::Status st = ValidateLabel(reg.label);
  if (!st.ok()) return st;
  auto name = CanonicalizeName(reg.name);
  if (!name.ok()) return name.status();
  if (reg.name_is_ip && name->kind == NameKind::kHostname) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
                 absl::StrCat("-ip '", reg.name,
                              "' is not an IP address; use -hostname"));
  }
  if (!reg.name_is_ip && name->kind != NameKind::kHostname) {
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
        absl::StrCat("-hostname '", reg.name, "' is an IP address; use -ip"));
  }
  for (const std::string& w : name->warnings) warnings->push_back(w);
  st = ValidateOttExpiry(reg.ott_expiry_seconds);
  if (!st.ok()) return st;
  if (const ClientRecord* existing = state_.FindByLabel(reg.label);
      existing != nullptr) {
    return Error(
        absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
        absl::StrCat("client '", reg.label, "' is already registered (",
                     existing->name,
                     "); choose another label, or give it a new certificate "
                     "(tl_registry_replace_certificate)"));
  }
  auto cert = CheckCertificate(reg.certificate_pem, *name, reg.label,
                               reg.force_name_mismatch, warnings);
  if (!cert.ok()) return cert.status();
  ClientRecord c;
  c.label = reg.label;
  c.name_kind = name->kind;
  c.name = name->canonical;
  c.fingerprint = cert->Sha256Fingerprint();
  c.certificate_pem = cert->Pem();
  c.require_htl = reg.require_htl;
  c.ott_expiry_seconds = reg.ott_expiry_seconds;
  c.registered_unix = c.changed_unix = NowUnix();
  st = state_.CheckClient(c);
  if (!st.ok()) return st;
  return c;
}

absl::StatusOr<ChangeResult> Registry::RegisterClient(
    const ClientRegistration& reg) {
  MutexLock lock(&mu_);
  ChangeResult result;
  absl::Status st = Locked([&]() -> absl::Status {
    mu_.AssertHeld();
    auto c = BuildClient(reg, &result.warnings);
    if (!c.ok()) return c.status();
    absl::Status st =
        CommitLocked({FileChange{ClientKey(c->label), FormatClient(*c)}});
    if (!st.ok()) return st;
    result.client = *c;
    return state_.PutClient(
        std::make_shared<const ClientRecord>(std::move(*c)));
  });
  if (!st.ok()) return st;
  return result;
}

absl::Status Registry::RegisterClients(
    const std::vector<ClientRegistration>& regs) {
  MutexLock lock(&mu_);
  return Locked([&]() -> absl::Status {
    mu_.AssertHeld();
    // Check the batch against the registry (BuildClient) and against itself (a
    // state holding only the batch) before writing anything; copying the whole
    // registry would cost O(N).
    RegistryState batch;
    std::vector<FileChange> changes;
    std::vector<std::shared_ptr<const ClientRecord>> records;
    changes.reserve(regs.size());
    records.reserve(regs.size());
    for (const ClientRegistration& reg : regs) {
      std::vector<std::string> warnings;
      auto c = BuildClient(reg, &warnings);
      if (!c.ok()) return c.status();
      auto rec = std::make_shared<const ClientRecord>(std::move(*c));
      if (batch.FindByLabel(rec->label) != nullptr) {
        return Error(absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
                     absl::StrCat("client '", rec->label,
                                  "' appears twice in the batch"));
      }
      absl::Status st = batch.PutClient(rec);
      if (!st.ok()) return st;
      changes.push_back(FileChange{ClientKey(rec->label), FormatClient(*rec)});
      records.push_back(std::move(rec));
    }
    absl::Status st = CommitLocked(changes);
    if (!st.ok()) return st;
    for (auto& rec : records) {
      st = state_.PutClient(std::move(rec));
      if (!st.ok()) {
        RestoreLastGoodLocked();
        return st;
      }
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<ChangeResult> Registry::EditClient(
    absl::string_view label,
    const std::function<absl::Status(ClientRecord*, std::vector<std::string>*,
                                     bool*)>& edit) {
  MutexLock lock(&mu_);
  ChangeResult result;
  absl::Status st = Locked([&]() -> absl::Status {
    mu_.AssertHeld();
    const ClientRecord* existing = state_.FindByLabel(label);
    if (existing == nullptr) return NoSuchClient(label);
    ClientRecord c = *existing;
    bool changed = true;
    absl::Status st = edit(&c, &result.warnings, &changed);
    if (!st.ok()) return st;
    result.changed = changed;
    if (!changed) {
      result.client = c;
      return absl::OkStatus();
    }
    c.changed_unix = NowUnix();
    st = state_.CheckClient(c);
    if (!st.ok()) return st;
    st = CommitLocked({FileChange{ClientKey(c.label), FormatClient(c)}});
    if (!st.ok()) return st;
    result.client = c;
    return state_.PutClient(std::make_shared<const ClientRecord>(std::move(c)));
  });
  if (!st.ok()) return st;
  return result;
}

absl::StatusOr<ChangeResult> Registry::ReplaceCertificate(
    absl::string_view label, absl::string_view certificate_pem,
    bool force_name_mismatch) {
  return EditClient(label,
                    [&](ClientRecord* c, std::vector<std::string>* warnings,
                        bool* changed) -> absl::Status {
                      auto name = CanonicalizeName(c->name);
                      if (!name.ok()) return name.status();
                      auto cert =
                          CheckCertificate(certificate_pem, *name, c->label,
                                           force_name_mismatch, warnings);
                      if (!cert.ok()) return cert.status();
                      std::string fp = cert->Sha256Fingerprint();
                      if (fp == c->fingerprint) {
                        *changed = false;
                        warnings->push_back(absl::StrCat(
                            "client '", c->label,
                            "' already has this certificate; nothing changed"));
                        return absl::OkStatus();
                      }
                      c->fingerprint = fp;
                      c->certificate_pem = cert->Pem();
                      return absl::OkStatus();
                    });
}

absl::Status Registry::DeleteClient(absl::string_view label) {
  MutexLock lock(&mu_);
  return Locked([&]() -> absl::Status {
    mu_.AssertHeld();
    if (state_.FindByLabel(label) == nullptr) return NoSuchClient(label);
    absl::Status st =
        CommitLocked({FileChange{ClientKey(label), absl::nullopt}});
    if (!st.ok()) return st;
    state_.RemoveClientById(ClientFileId(label));
    return absl::OkStatus();
  });
}

absl::StatusOr<ChangeResult> Registry::SetRequireHtl(
    absl::string_view label, bool require_htl, int64_t ott_expiry_seconds) {
  absl::Status st = ValidateOttExpiry(ott_expiry_seconds);
  if (!st.ok()) return st;
  return EditClient(label,
                    [&](ClientRecord* c, std::vector<std::string>*,
                        bool* changed) -> absl::Status {
                      *changed = c->require_htl != require_htl ||
                                 c->ott_expiry_seconds != ott_expiry_seconds;
                      c->require_htl = require_htl;
                      c->ott_expiry_seconds = ott_expiry_seconds;
                      return absl::OkStatus();
                    });
}

absl::StatusOr<ChangeResult> Registry::MapHostIp(absl::string_view label,
                                                 absl::string_view ip) {
  auto canonical = CanonicalIp(ip);
  if (!canonical.ok()) return canonical.status();
  return EditClient(
      label,
      [&](ClientRecord* c, std::vector<std::string>* warnings,
          bool* changed) -> absl::Status {
        if (c->name_kind != NameKind::kHostname) {
          return Error(
              absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
              absl::StrCat("client '", c->label, "' is registered by IP (",
                           c->name,
                           "); host IP maps are for clients registered by host "
                           "name"));
        }
        if (std::find(c->host_ips.begin(), c->host_ips.end(), *canonical) !=
            c->host_ips.end()) {
          *changed = false;
          warnings->push_back(absl::StrCat(*canonical,
                                           " is already mapped to client '",
                                           c->label, "'; nothing changed"));
          return absl::OkStatus();
        }
        if (c->host_ips.size() >= kMaxHostIpsPerClient) {
          return Error(absl::StatusCode::kResourceExhausted,
                       TL_E_RESOURCE_EXHAUSTED,
                       absl::StrCat("client '", c->label, "' already has ",
                                    kMaxHostIpsPerClient,
                                    " mapped IPs; unmap one first"));
        }
        c->host_ips.push_back(*canonical);
        return absl::OkStatus();
      });
}

absl::StatusOr<ChangeResult> Registry::UnmapHostIp(absl::string_view label,
                                                   absl::string_view ip) {
  auto canonical = CanonicalIp(ip);
  if (!canonical.ok()) return canonical.status();
  return EditClient(
      label,
      [&](ClientRecord* c, std::vector<std::string>*, bool*) -> absl::Status {
        auto it = std::find(c->host_ips.begin(), c->host_ips.end(), *canonical);
        if (it == c->host_ips.end()) {
          return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                       absl::StrCat(*canonical, " is not mapped to client '",
                                    c->label, "'; see client show"));
        }
        c->host_ips.erase(it);
        return absl::OkStatus();
      });
}

absl::StatusOr<ChangeResult> Registry::AssignPartition(
    absl::string_view label, absl::string_view partition) {
  return EditClient(
      label,
      [&](ClientRecord* c, std::vector<std::string>* warnings,
          bool* changed) -> absl::Status {
        mu_.AssertHeld();
        if (state_.FindPartition(partition) == nullptr)
          return NoSuchPartition(partition);
        std::string p(partition);
        if (std::binary_search(c->partitions.begin(), c->partitions.end(), p)) {
          *changed = false;
          warnings->push_back(absl::StrCat("partition '", p,
                                           "' is already assigned to client '",
                                           c->label, "'; nothing changed"));
          return absl::OkStatus();
        }
        if (c->partitions.size() >= kMaxPartitionsPerClient) {
          return Error(absl::StatusCode::kResourceExhausted,
                       TL_E_RESOURCE_EXHAUSTED,
                       absl::StrCat("client '", c->label, "' already has ",
                                    kMaxPartitionsPerClient, " partitions"));
        }
        c->partitions.insert(
            std::lower_bound(c->partitions.begin(), c->partitions.end(), p), p);
        return absl::OkStatus();
      });
}

absl::StatusOr<ChangeResult> Registry::RevokePartition(
    absl::string_view label, absl::string_view partition) {
  return EditClient(label,
                    [&](ClientRecord* c, std::vector<std::string>* warnings,
                        bool* changed) -> absl::Status {
                      mu_.AssertHeld();
                      std::string p(partition);
                      auto it = std::lower_bound(c->partitions.begin(),
                                                 c->partitions.end(), p);
                      if (it == c->partitions.end() || *it != p) {
                        if (state_.FindPartition(partition) == nullptr)
                          return NoSuchPartition(partition);
                        *changed = false;
                        warnings->push_back(absl::StrCat(
                            "partition '", p, "' is not assigned to client '",
                            c->label, "'; nothing changed"));
                        return absl::OkStatus();
                      }
                      c->partitions.erase(it);
                      return absl::OkStatus();
                    });
}

absl::StatusOr<Partition> Registry::CreatePartition(absl::string_view name,
                                                    absl::string_view label,
                                                    absl::string_view serial) {
  absl::Status st = ValidatePartitionName(name);
  if (!st.ok()) return st;
  st = ValidatePartitionLabel(label);
  if (!st.ok()) return st;
  if (!serial.empty()) {
    st = ValidateSerial(serial);
    if (!st.ok()) return st;
  }
  MutexLock lock(&mu_);
  Partition p;
  st = Locked([&]() -> absl::Status {
    mu_.AssertHeld();
    if (state_.FindPartition(name) != nullptr) {
      return Error(absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
                   absl::StrCat("partition '", name,
                                "' already exists; see partition show"));
    }
    p.name = std::string(name);
    p.label = std::string(label);
    if (serial.empty()) {
      uint64_t next = kFirstSerial;
      for (const auto& [n, existing] : state_.partitions()) {
        uint64_t s;
        if (absl::SimpleAtoi(existing.serial, &s) && s >= next) next = s + 1;
      }
      p.serial = absl::StrCat(next);
    } else {
      p.serial = std::string(serial);
    }
    p.created_unix = NowUnix();
    if (const Partition* other = state_.FindPartitionBySerial(p.serial);
        other != nullptr) {
      return Error(absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
                   absl::StrCat("serial number ", p.serial,
                                " already belongs to partition '", other->name,
                                "'; choose another serial"));
    }
    absl::Status st = CommitLocked(
        {FileChange{absl::StrCat("partition ", p.name), FormatPartition(p)}});
    if (!st.ok()) return st;
    return state_.PutPartition(p);
  });
  if (!st.ok()) return st;
  return p;
}

absl::StatusOr<std::vector<std::string>> Registry::DeletePartition(
    absl::string_view name, bool force) {
  MutexLock lock(&mu_);
  std::vector<std::string> users;
  absl::Status st = Locked([&]() -> absl::Status {
    mu_.AssertHeld();
    if (state_.FindPartition(name) == nullptr) return NoSuchPartition(name);
    users = state_.ClientsUsingPartition(name);
    if (!users.empty() && !force) {
      return Error(
          absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
          absl::StrCat(
              "partition '", name, "' is assigned to ", users.size(),
              " client(s) (", absl::StrJoin(users, ", "),
              "); revoke it first, or delete it with force and they lose "
              "access"));
    }
    // Clients first, then the partition: a crash in between leaves a partition
    // no one uses, never an assignment to a partition that does not exist.
    std::vector<FileChange> changes;
    std::vector<std::shared_ptr<const ClientRecord>> updated;
    for (const std::string& label : users) {
      ClientRecord c = *state_.FindByLabel(label);
      c.partitions.erase(std::remove(c.partitions.begin(), c.partitions.end(),
                                     std::string(name)),
                         c.partitions.end());
      c.changed_unix = NowUnix();
      changes.push_back(FileChange{ClientKey(label), FormatClient(c)});
      updated.push_back(std::make_shared<const ClientRecord>(std::move(c)));
    }
    changes.push_back(
        FileChange{absl::StrCat("partition ", name), absl::nullopt});
    absl::Status st = CommitLocked(changes);
    if (!st.ok()) return st;
    for (auto& c : updated) {
      st = state_.PutClient(std::move(c));
      if (!st.ok()) return st;
    }
    state_.RemovePartition(std::string(name));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return users;
}

absl::StatusOr<Settings> Registry::UpdateSettings(
    const std::function<absl::Status(Settings*)>& edit) {
  MutexLock lock(&mu_);
  Settings s;
  absl::Status st = Locked([&]() -> absl::Status {
    mu_.AssertHeld();
    s = state_.settings();
    absl::Status st = edit(&s);
    if (!st.ok()) return st;
    st = ValidateSettings(s);
    if (!st.ok()) return st;
    st = CommitLocked({FileChange{"settings", FormatSettings(s)}});
    if (!st.ok()) return st;
    state_.set_settings(s);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return s;
}

}  // namespace trustlink::ntl::registry

namespace trustlink::ntl::registry {

absl::StatusOr<ServerIdentities> Registry::RegenerateServerCertificate(
    absl::string_view name, KeyType key_type) {
  MutexLock lock(&mu_);
  absl::StatusOr<ServerIdentities> result;
  absl::Status st = Locked([&]() -> absl::Status {
    mu_.AssertHeld();
    result = RegenerateServerIdentity(root_, name, key_type);
    if (!result.ok()) return result.status();
    return CommitLocked({FileChange{"server", absl::nullopt}});
  });
  if (!st.ok()) return st;
  return result;
}

absl::StatusOr<int> Registry::DropOldServerCertificates() {
  MutexLock lock(&mu_);
  absl::StatusOr<int> result;
  absl::Status st = Locked([&]() -> absl::Status {
    mu_.AssertHeld();
    result = DropPreviousServerIdentities(root_);
    if (!result.ok()) return result.status();
    return CommitLocked({FileChange{"server", absl::nullopt}});
  });
  if (!st.ok()) return st;
  return result;
}

}  // namespace trustlink::ntl::registry
