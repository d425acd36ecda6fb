#ifndef TRUSTLINK_NTL_SERVER_DIRECTORY_H_
#define TRUSTLINK_NTL_SERVER_DIRECTORY_H_

// What the NTLS engine needs to know about registered clients, as a small
// interface of its own. The appliance registry (ntl/registry) implements it
// through an adapter; tests and embedders with their own client store use
// InMemoryDirectory.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "ntl/internal/mutex.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::server {

// ClientRecord is one registered client as admission sees it.
struct ClientRecord {
  std::string label;  // the admin's name for the client ("web1")
  std::string
      fingerprint;  // SHA-256 of the certificate's DER, "AB:CD:..." upper case
  // allowed_ips are the source addresses accepted when ipcheck is on: the
  // registered IP, or the hostname's mapped addresses (`client hostip map`).
  // Any textual form inet_pton accepts.
  std::vector<std::string> allowed_ips;
  // resolve_hostname is the registered hostname of a client registered by
  // name. When ipcheck is on and allowed_ips is empty, the engine accepts what
  // this name resolves to, looked up off the event loop through the server's
  // Resolver (ServerOptions::resolver) and cached briefly. Mapped addresses
  // bypass the lookup entirely. A directory never resolves names itself: its
  // snapshot calls run on the event loop.
  std::string resolve_hostname;
  bool require_htl = false;
  std::vector<wire::SlotInfo>
      partitions;  // in the order the client should see them
};

// LinkSettings are the per-link settings an admin may change while the server
// runs (`ntls tcp_keepalive set`, `ntls timeout set -receive`). TCP keep-alive
// is set on each link as it is accepted; the receive timeout is checked on
// every admitted link at every tick, so a change reaches open links too.
struct LinkSettings {
  bool tcp_keepalive = true;
  int keepalive_idle_seconds = 60;
  int keepalive_interval_seconds = 10;
  int keepalive_count = 6;
  // receive_timeout: an admitted link that sends nothing for this long (client
  // pings count) gets goaway. ServerOptions::idle_timeout caps it.
  absl::Duration receive_timeout = absl::InfiniteDuration();
};

// DirectorySnapshot is an immutable view of the registry at one generation.
// Thread safety: immutable; safe to share between threads.
class DirectorySnapshot {
 public:
  virtual ~DirectorySnapshot() = default;
  // FindByFingerprint returns the client whose certificate has `fingerprint`,
  // or null. It must be O(1): it runs on the event loop after every handshake.
  virtual std::shared_ptr<const ClientRecord> FindByFingerprint(
      absl::string_view fingerprint) const = 0;
  // ipcheck says whether the source address must match the client's
  // allowed_ips.
  virtual bool ipcheck() const = 0;
  // max_links_per_client caps one client's admitted links; 0 leaves it to
  // ServerOptions::max_links_per_client.
  virtual size_t max_links_per_client() const { return 0; }
  // link_settings are the directory's link settings at this generation, or
  // nullopt when the directory has none (ServerOptions::link then applies).
  virtual absl::optional<LinkSettings> link_settings() const {
    return absl::nullopt;
  }
};

// ClientDirectory hands out snapshots. generation() changes whenever a new
// snapshot would differ; the server polls it on every loop tick (100 ms by
// default), so a change reaches live connections well within a second. Thread
// safety: implementations must be safe to call from any thread.
class ClientDirectory {
 public:
  virtual ~ClientDirectory() = default;
  virtual std::shared_ptr<const DirectorySnapshot> Snapshot() const = 0;
  virtual uint64_t generation() const = 0;
};

// InMemoryDirectory is a ClientDirectory held in memory: for tests and for
// embedders that keep their own client store and push changes into it. Thread
// safety: all methods are safe to call from any thread.
class InMemoryDirectory : public ClientDirectory {
 public:
  InMemoryDirectory();

  // Put adds or replaces the client with record.fingerprint. Replacing a
  // client's certificate is Remove(old fingerprint) plus Put(new record).
  void Put(ClientRecord record);
  // Remove deletes the client with `fingerprint`; returns whether it existed.
  bool Remove(absl::string_view fingerprint);
  void SetIpCheck(bool on);
  // SetMaxLinksPerClient sets the per-client cap (0: the server's option).
  void SetMaxLinksPerClient(size_t max);
  // SetLinkSettings makes every later snapshot carry `settings`.
  void SetLinkSettings(LinkSettings settings);

  std::shared_ptr<const DirectorySnapshot> Snapshot() const override;
  uint64_t generation() const override;

 private:
  class Snap;
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable internal::Mutex mu_;
  std::map<std::string, std::shared_ptr<const ClientRecord>> clients_
      ABSL_GUARDED_BY(mu_);
  bool ipcheck_ ABSL_GUARDED_BY(mu_) = true;
  size_t max_links_per_client_ ABSL_GUARDED_BY(mu_) = 0;
  absl::optional<LinkSettings> link_settings_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  std::shared_ptr<const DirectorySnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_DIRECTORY_H_
