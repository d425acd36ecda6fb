#include "ntl/server/directory.h"

#include <unordered_map>
#include <utility>

namespace trustlink::ntl::server {

class InMemoryDirectory::Snap : public DirectorySnapshot {
 public:
  Snap(
      const std::map<std::string, std::shared_ptr<const ClientRecord>>& clients,
      bool ipcheck, size_t max_links_per_client,
      absl::optional<LinkSettings> link_settings)
      : clients_(clients.begin(), clients.end()),
        ipcheck_(ipcheck),
        max_links_per_client_(max_links_per_client),
        link_settings_(link_settings) {}

  std::shared_ptr<const ClientRecord> FindByFingerprint(
      absl::string_view fingerprint) const override {
    auto it = clients_.find(std::string(fingerprint));
    return it == clients_.end() ? nullptr : it->second;
  }
  bool ipcheck() const override { return ipcheck_; }
  size_t max_links_per_client() const override { return max_links_per_client_; }
  absl::optional<LinkSettings> link_settings() const override {
    return link_settings_;
  }

 private:
  const std::unordered_map<std::string, std::shared_ptr<const ClientRecord>>
      clients_;
  const bool ipcheck_;
  const size_t max_links_per_client_;
  const absl::optional<LinkSettings> link_settings_;
};

InMemoryDirectory::InMemoryDirectory() {
  internal::MutexLock lock(&mu_);
  PublishLocked();
}

void InMemoryDirectory::Put(ClientRecord record) {
  internal::MutexLock lock(&mu_);
  std::string fp = record.fingerprint;
  clients_[fp] = std::make_shared<const ClientRecord>(std::move(record));
  PublishLocked();
}

bool InMemoryDirectory::Remove(absl::string_view fingerprint) {
  internal::MutexLock lock(&mu_);
  const bool existed = clients_.erase(std::string(fingerprint)) > 0;
  PublishLocked();
  return existed;
}

void InMemoryDirectory::SetIpCheck(bool on) {
  internal::MutexLock lock(&mu_);
  ipcheck_ = on;
  PublishLocked();
}

void InMemoryDirectory::SetMaxLinksPerClient(size_t max) {
  internal::MutexLock lock(&mu_);
  max_links_per_client_ = max;
  PublishLocked();
}

void InMemoryDirectory::SetLinkSettings(LinkSettings settings) {
  internal::MutexLock lock(&mu_);
  link_settings_ = settings;
  PublishLocked();
}

std::shared_ptr<const DirectorySnapshot> InMemoryDirectory::Snapshot() const {
  internal::MutexLock lock(&mu_);
  return snapshot_;
}

uint64_t InMemoryDirectory::generation() const {
  internal::MutexLock lock(&mu_);
  return generation_;
}

void InMemoryDirectory::PublishLocked() {
  snapshot_ = std::make_shared<const Snap>(
      clients_, ipcheck_, max_links_per_client_, link_settings_);
  ++generation_;
}

}  // namespace trustlink::ntl::server
