#ifndef TRUSTLINK_NTL_SERVER_SERVER_H_
#define TRUSTLINK_NTL_SERVER_SERVER_H_

// The NTLS server: a TLS listener whose event loops (epoll, one per core) drive
// non-blocking BoringSSL, admit registered clients after every handshake and
// dispatch partition requests and streams. docs/server.md describes it for
// operators.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/internal/busy_poll.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/credentials.h"
#include "ntl/server/directory.h"
#include "ntl/server/handler.h"
#include "ntl/server/htl_gate.h"
#include "ntl/server/resolver.h"
#include "ntl/server/resolver_pool.h"
#include "ntl/stats/server_stats.h"
#include "ntl/wire/frame.h"

namespace trustlink::ntl::server {

// kDefaultMaxLinksPerClient is the default cap on one client's admitted links:
// far more than one host's applications open (one link per process and
// appliance), far fewer than it takes to starve the appliance's descriptors.
inline constexpr size_t kDefaultMaxLinksPerClient = 256;

struct ServerOptions {
  // listen_address is an IPv4 or IPv6 literal; "::" listens on both families.
  std::string listen_address = "::";
  uint16_t port = 1792;  // 0 picks a free port (tests); see Server::port()
  int threads = 0;       // event loops; 0 = one per core
  // Connection budget (docs/server.md, "Connection budget"). Every cap is
  // also held below what the descriptor limit (RLIMIT_NOFILE) allows at
  // Start; a full cap makes room by evicting the oldest connection not yet
  // admitted rather than refusing the new one.
  size_t max_unauthenticated = 1024;  // connections not yet admitted, in total
  size_t max_unauthenticated_per_ip = 64;  // and per source address
  size_t max_links = 0;  // admitted links in total; 0: the descriptor budget
  // Admitted links of one client; the directory's setting (the registry's
  // max_links_per_client) wins when it has one.
  size_t max_links_per_client = kDefaultMaxLinksPerClient;
  // Descriptors kept back from the budget for the process's other files
  // (logs, registry, status socket, resolver sockets).
  size_t reserved_descriptors = 48;
  // After accept fails for want of descriptors (EMFILE/ENFILE), a loop stops
  // accepting until one of its connections closes or this long has passed.
  absl::Duration accept_pause = absl::Milliseconds(100);
  // Lines that peers not yet admitted can cause (handshake failures,
  // refusals, evictions, deadlines): at most log_burst of each kind per
  // log_window, then one "log-suppressed" line with the count. 0: no limit.
  size_t log_burst = 20;
  absl::Duration log_window = absl::Seconds(10);
  absl::Duration handshake_timeout = absl::Seconds(10);  // TCP accept to hello
  absl::Duration idle_timeout =
      absl::Minutes(10);  // no bytes from an admitted client
  uint32_t max_frame_payload = wire::kDefaultMaxPayload;
  size_t max_pending_output =
      4u << 20;  // stop reading from a client that does not read
  // link: keep-alive and receive timeout when the directory has none
  // (DirectorySnapshot::link_settings; the registry always has them).
  LinkSettings link;
  absl::Duration ticket_lifetime =
      absl::Hours(12);  // capped by the certificate
  absl::Duration ticket_key_rotation =
      absl::Hours(6);  // a key lives two rotations
  // ticket_key_dir keeps the ticket keys (file ticketKeys, 0600) so tickets
  // survive a restart; the C ABI sets it to <root>/server with a registry
  // root. Empty: the keys live in memory and die with the server.
  std::string ticket_key_dir;
  absl::Duration tick =
      absl::Milliseconds(100);  // timers, registry and cert polling
  // busy_poll_us: after a wake-up that served connections, a loop polls its
  // epoll set without blocking for at most this many microseconds before it
  // sleeps, and backs off while its waits take longer
  // (internal/busy_poll.h; docs/server.md, "Busy-poll"). 0, the default, is
  // off: the spin trades CPU for one-call-at-a-time latency. At most
  // internal::kMaxBusyPollMicros.
  uint32_t busy_poll_us = 0;
  absl::Duration htl_tick = absl::Seconds(1);  // HtlGate::Tick, with a gate
  // Hostname admission (docs/server.md, "Admission"): a client registered by
  // hostname with no mapped IP is checked, with ipcheck on, against what the
  // name resolves to. The lookup runs on resolver threads while the handshake
  // waits; the event loop never blocks on it.
  std::shared_ptr<Resolver> resolver;  // null: the system's (c-ares)
  absl::Duration resolve_timeout =
      absl::Seconds(5);  // then the handshake is refused
  absl::Duration resolve_cache_ttl =
      absl::Seconds(30);  // answers with addresses; zero: no cache
  absl::Duration resolve_negative_ttl = absl::Seconds(5);  // "no such host"
  int resolver_threads = 2;         // lookups that may block at once
  size_t max_pending_lookups = 64;  // hostnames waiting; more are refused
  // log receives one line per event; by default lines go to stderr with a
  // timestamp.
  std::function<void(absl::string_view line)> log;
};

// ConnectionLimits are the caps in force, from ServerOptions and the
// descriptor limit at Start.
struct ConnectionLimits {
  size_t descriptor_limit = 0;  // RLIMIT_NOFILE's soft limit at Start
  size_t max_unauthenticated = 0;
  size_t max_unauthenticated_per_ip = 0;
  size_t max_links = 0;
};

// DeriveLimits holds the caps of `options` below what `descriptor_limit`
// descriptors allow: the budget is the limit less reserved_descriptors; a
// quarter of it at most goes to connections not yet admitted, the rest to
// admitted links, so strangers can never take the descriptors that admitted
// links need (connection_limits.cc).
ConnectionLimits DeriveLimits(const ServerOptions& options,
                              uint64_t descriptor_limit);

// LoopCount is the number of event loops `options` asks for (threads, or one
// per core).
int LoopCount(const ServerOptions& options);

// LogToStderr is the default log: `line` with a UTC timestamp and "ntls: " to
// stderr. The C ABI's log hook falls back to it.
void LogToStderr(absl::string_view line);

struct ClientStatus {
  std::string label;
  std::string fingerprint;
  int connections = 0;
};

struct ServerStatus {
  std::string listen;       // "[::]:1792"
  int connections = 0;      // admitted connections
  int unauthenticated = 0;  // in handshake or before hello
  // Of those, registered clients already proven (a ticket accepted, or a
  // finished handshake): never evicted, not counted against their address.
  int proven = 0;
  std::vector<ClientStatus> clients;  // connected clients, by label
};

namespace internal_engine {
class Loop;
class LogLimiter;
class PreAuthPool;
struct PoolDecision;
class HtlWorker;
class HtlEventRouter;
class TicketKeyRing;
struct TlsContext;
}  // namespace internal_engine

// Server runs the NTLS service.
// Thread safety: all public methods are safe to call from any thread, except
// that SetPartitionHandler, AddStreamService and SetHtlGate must precede Start.
class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Create(
      ServerOptions options, std::shared_ptr<ClientDirectory> directory,
      std::shared_ptr<CredentialSource> credentials);
  ~Server();

  void SetPartitionHandler(std::shared_ptr<PartitionHandler> handler);
  void AddStreamService(std::string name,
                        std::shared_ptr<StreamService> service);
  // SetHtlGate turns the Host Trust Link on (docs/htl.md): ALPN htl/1 links,
  // htl-proof admission of requirehtl clients' ntl/1 links, and closing a
  // client's links when its HTL goes Down. Without a gate, HTL clients are
  // refused with a message saying so.
  void SetHtlGate(std::shared_ptr<HtlGate> gate);

  // Start binds the listener and starts the event loops.
  absl::Status Start();
  // port is the bound port (useful with port 0), valid after Start.
  uint16_t port() const { return port_; }

  // Shutdown stops accepting, lets in-flight calls finish (up to `grace`), says
  // goaway to every client and joins the loops. Idempotent.
  void Shutdown(absl::Duration grace);

  // CloseDescriptorsInForkedChild closes a fork() child's copies of the
  // listener and of every loop's descriptors, and nothing else: no epoll_ctl,
  // no shutdown(2), no TLS alert, no lock (forked_child.cc). The Server must
  // not be used or destroyed afterwards.
  void CloseDescriptorsInForkedChild();

  ServerStatus GetStatus() const;
  // Stats returns the counters since the server was made (docs/server.md,
  // "Counters"). Cheap enough to poll: it sums one shard per loop.
  stats::StatList Stats() const { return stats_->Snapshot(); }
  // limits are the connection caps in force; valid after Start.
  ConnectionLimits limits() const { return limits_; }
  // hostname_lookups is how many times admission called the Resolver; cached
  // answers and handshakes sharing a lookup do not count.
  size_t hostname_lookups() const;
  // busy_poll sums what the loops' busy-polls did (ServerOptions::
  // busy_poll_us); all zero while it is off. Valid from Start to Shutdown.
  internal::BusyPollCounts busy_poll() const;

 private:
  friend class internal_engine::Loop;
  Server(ServerOptions options, std::shared_ptr<ClientDirectory> directory,
         std::shared_ptr<CredentialSource> credentials);

  void Log(absl::string_view line) const;
  // LogStranger writes a line that a peer not yet admitted caused, under the
  // per-kind rate limit (ServerOptions::log_burst).
  void LogStranger(absl::string_view kind, absl::string_view line);
  // FlushLogLimits writes the summaries of windows that ended; at shutdown,
  // FlushAllLogLimits those of every window.
  void FlushLogLimits();
  void FlushAllLogLimits();
  // RefreshTls rebuilds the TLS contexts when the credentials changed and
  // returns the current TLS generation.
  uint64_t RefreshTls();
  std::shared_ptr<internal_engine::TlsContext> CurrentTls();
  bool IsServed(absl::string_view server_fingerprint);
  // JoinPool counts a new connection as not yet admitted (preauth_pool.h);
  // a connection it evicts is closed through its loop's mailbox.
  internal_engine::PoolDecision JoinPool(const std::string& ip, int loop,
                                         uint64_t conn_id, int fd);
  void LeavePool(uint64_t ticket);
  void ProtectInPool(uint64_t ticket);
  // TryClientConnected counts an admitted link of `record` unless the total
  // or the client's cap (`per_client`) is reached; then it returns why.
  std::string TryClientConnected(const ClientRecord& record, size_t per_client);
  void ClientConnected(const ClientRecord& record);
  void ClientDisconnected(const std::string& fingerprint);
  absl::StatusOr<std::shared_ptr<internal_engine::TlsContext>> BuildTls(
      std::shared_ptr<const ServerCredential> cred);

  const ServerOptions options_;
  const std::shared_ptr<ClientDirectory> directory_;
  const std::shared_ptr<CredentialSource> credentials_;
  // Shared with the HTL event router, which may outlive the loops.
  const std::shared_ptr<stats::ServerStats> stats_;
  std::shared_ptr<PartitionHandler> handler_;
  std::map<std::string, std::shared_ptr<StreamService>> services_;
  std::shared_ptr<HtlGate> htl_gate_;
  std::unique_ptr<internal_engine::HtlWorker> htl_worker_;
  std::unique_ptr<ResolverPool> resolver_pool_;  // made by Start
  // Made by Start before the first TLS context; shared by every certificate's
  // ticket keys.
  std::shared_ptr<internal_engine::TicketKeyRing> ticket_ring_;
  std::atomic<uint64_t> next_htl_link_id_{0};

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::string listen_text_;
  std::vector<std::unique_ptr<internal_engine::Loop>> loops_;
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> drain_deadline_ns_{0};
  std::atomic<bool> started_{false};

  internal::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;

  internal::Mutex tls_mu_;
  uint64_t cred_generation_ ABSL_GUARDED_BY(tls_mu_) = 0;
  uint64_t tls_generation_ ABSL_GUARDED_BY(tls_mu_) = 0;
  std::shared_ptr<internal_engine::TlsContext> current_tls_
      ABSL_GUARDED_BY(tls_mu_);
  std::shared_ptr<internal_engine::TlsContext> overlap_tls_
      ABSL_GUARDED_BY(tls_mu_);

  ConnectionLimits limits_;  // set by Start, before the loops run
  std::unique_ptr<internal_engine::LogLimiter> log_limiter_;

  mutable internal::Mutex stats_mu_;
  std::unique_ptr<internal_engine::PreAuthPool> pool_
      ABSL_GUARDED_BY(stats_mu_);
  std::map<std::string, ClientStatus> clients_ ABSL_GUARDED_BY(stats_mu_);
  int admitted_ ABSL_GUARDED_BY(stats_mu_) = 0;
};

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_SERVER_H_
