#include "ntl/server/registry_adapter.h"

#include <openssl/x509.h>
#include <poll.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/registry/server_identity.h"

namespace trustlink::ntl::server {

class RegistryDirectory::Snap : public DirectorySnapshot {
 public:
  explicit Snap(std::shared_ptr<const registry::RegistrySnapshot> snap)
      : snap_(std::move(snap)) {}

  std::shared_ptr<const ClientRecord> FindByFingerprint(
      absl::string_view fingerprint) const override {
    const registry::ClientRecord* c =
        snap_->FindClientByFingerprint(fingerprint);
    if (c == nullptr) {
      return nullptr;
    }
    auto r = std::make_shared<ClientRecord>();
    r->label = c->label;
    r->fingerprint = c->fingerprint;
    if (c->name_kind != NameKind::kHostname) {
      r->allowed_ips.push_back(c->name);
    }
    r->allowed_ips.insert(r->allowed_ips.end(), c->host_ips.begin(),
                          c->host_ips.end());
    if (c->name_kind == NameKind::kHostname) {
      // Resolved by the engine, off the event loop, only when no IP is
      // mapped and ipcheck is on (docs/server.md, "Admission").
      r->resolve_hostname = c->name;
    }
    r->require_htl = c->require_htl;
    for (const registry::Partition* p : snap_->ClientPartitions(*c)) {
      r->partitions.push_back({p->name, p->label, p->serial});
    }
    return r;
  }
  bool ipcheck() const override { return snap_->settings().ipcheck; }
  size_t max_links_per_client() const override {
    return static_cast<size_t>(snap_->settings().max_links_per_client);
  }
  absl::optional<LinkSettings> link_settings() const override {
    const registry::Settings& s = snap_->settings();
    LinkSettings l;
    l.tcp_keepalive = s.tcp_keepalive;
    l.keepalive_idle_seconds = s.keepalive_idle_seconds;
    l.keepalive_interval_seconds = s.keepalive_interval_seconds;
    l.keepalive_count = s.keepalive_probes;
    l.receive_timeout = absl::Milliseconds(s.receive_timeout_ms);
    return l;
  }

 private:
  const std::shared_ptr<const registry::RegistrySnapshot> snap_;
};

RegistryDirectory::RegistryDirectory(std::shared_ptr<registry::Registry> reg)
    : reg_(std::move(reg)) {}

uint64_t RegistryDirectory::generation() const {
  bool refresh = false;
  const int fd = reg_->watch_fd();
  {
    internal::MutexLock lock(&mu_);
    if (fd >= 0) {
      pollfd p{fd, POLLIN, 0};
      refresh = refresh_pending_ || poll(&p, 1, 0) > 0;
    } else {
      const absl::Time now = absl::Now();
      if (refresh_pending_ || now - last_refresh_ >= absl::Milliseconds(250)) {
        last_refresh_ = now;
        refresh = true;
      }
    }
    refresh_pending_ = false;
  }
  if (refresh) {
    // Event loops call this: never wait for an admin command that is writing
    // (its commit fsyncs, which takes seconds on a busy disk). Until it is
    // done, its change is not committed, so the previous view is still the
    // truth; the next tick or admission looks again. A damaged file also keeps
    // the previous view; the registry's error names the file and the admin
    // tools report it.
    if (absl::IsUnavailable(reg_->TryRefresh())) {
      internal::MutexLock lock(&mu_);
      refresh_pending_ = true;
    }
  }
  return reg_->generation();
}

std::shared_ptr<const DirectorySnapshot> RegistryDirectory::Snapshot() const {
  std::shared_ptr<const registry::RegistrySnapshot> snap = reg_->Snapshot();
  internal::MutexLock lock(&mu_);
  if (cached_ == nullptr || cached_generation_ != snap->generation()) {
    cached_generation_ = snap->generation();
    cached_ = std::make_shared<const Snap>(std::move(snap));
  }
  return cached_;
}

namespace {

std::shared_ptr<const ServerCredential> FromIdentity(const Identity& id) {
  auto c = std::make_shared<ServerCredential>();
  X509_up_ref(id.cert.get());
  c->cert.reset(id.cert.get());
  EVP_PKEY_up_ref(id.key.get());
  c->key.reset(id.key.get());
  c->fingerprint = id.cert.Sha256Fingerprint();
  c->not_after = id.cert.NotAfter();
  return c;
}

}  // namespace

RegistryCredentials::RegistryCredentials(
    std::shared_ptr<RegistryDirectory> directory, std::string root)
    : directory_(std::move(directory)), root_(std::move(root)) {}

absl::StatusOr<std::shared_ptr<RegistryCredentials>>
RegistryCredentials::Create(std::shared_ptr<RegistryDirectory> directory,
                            std::string root) {
  auto c = std::shared_ptr<RegistryCredentials>(
      new RegistryCredentials(std::move(directory), std::move(root)));
  internal::MutexLock lock(&c->mu_);
  c->seen_registry_generation_ = c->directory_->generation();
  absl::Status st = c->ReloadLocked();
  if (!st.ok()) {
    return st;
  }
  return c;
}

absl::Status RegistryCredentials::ReloadLocked() const {
  auto ids = registry::LoadServerIdentity(root_);
  if (!ids.ok()) {
    return ids.status();
  }
  CredentialSet next;
  next.current = FromIdentity(ids->current);
  if (!ids->previous.empty()) {
    next.overlap = FromIdentity(ids->previous.front());
  }
  const bool same = set_.current &&
                    set_.current->fingerprint == next.current->fingerprint &&
                    ((set_.overlap == nullptr && next.overlap == nullptr) ||
                     (set_.overlap && next.overlap &&
                      set_.overlap->fingerprint == next.overlap->fingerprint));
  if (!same) {
    set_ = std::move(next);
    ++generation_;
  }
  return absl::OkStatus();
}

void RegistryCredentials::MaybeReload() const {
  const uint64_t reg_gen = directory_->generation();
  internal::MutexLock lock(&mu_);
  if (reg_gen != seen_registry_generation_) {
    seen_registry_generation_ = reg_gen;
    ReloadLocked().IgnoreError();  // keep serving the identity that works
  }
}

CredentialSet RegistryCredentials::Get() const {
  internal::MutexLock lock(&mu_);
  return set_;
}

uint64_t RegistryCredentials::generation() const {
  MaybeReload();
  internal::MutexLock lock(&mu_);
  return generation_;
}

void ApplySettings(const registry::Settings& s, ServerOptions* o) {
  o->listen_address = s.bind_address;
  o->port = static_cast<uint16_t>(s.port);
}

}  // namespace trustlink::ntl::server
