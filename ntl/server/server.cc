#include "ntl/server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pool.h>
#include <openssl/x509.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/server/event_loop.h"
#include "ntl/server/htl_events.h"
#include "ntl/server/htl_worker.h"
#include "ntl/server/log_limiter.h"
#include "ntl/server/preauth_pool.h"
#include "ntl/server/ticket_key_ring.h"
#include "ntl/status.h"
#include "ntl/tls/policy.h"

namespace trustlink::ntl::server {

using internal_engine::Conn;
using internal_engine::Loop;
using internal_engine::TlsContext;

namespace {

// htl/1 is always accepted, so an HTL agent talking to a server without HTL
// gets a goaway that says so rather than a bare ALPN alert.
const absl::string_view kServedAlpn[] = {tls::kAlpnNtl, tls::kAlpnHtl};
constexpr uint8_t kSessionIdContext[] = "trustlink-ntls";
// The listen queue: a reconnect storm waits here, in order, while the
// pre-authentication pool is full of handshakes being served (accept.cc,
// HoldAcceptForBurst). The kernel caps it at net.core.somaxconn.
constexpr int kListenBacklog = 4096;

// VerifyClient pins by registration instead of by CA: any certificate may reach
// this point (it proved key possession in the handshake), and admission
// decides. It pauses the handshake (ssl_verify_retry) while the hostname of a
// registered client is being resolved; the loop resumes it with the answer.
ssl_verify_result_t VerifyClient(SSL* ssl, uint8_t* out_alert) {
  Conn* c = Loop::ConnFromSsl(ssl);
  Loop* loop = c == nullptr ? nullptr : internal_engine::LoopOf(c);
  const absl::string_view leaf =
      internal_engine::LeafCertificateDer(SSL_get0_peer_certificates(ssl));
  if (loop == nullptr || leaf.empty()) {
    *out_alert = SSL_AD_CERTIFICATE_REQUIRED;
    return ssl_verify_invalid;
  }
  return loop->VerifyPeer(c, leaf, out_alert);
}

}  // namespace

int LoopCount(const ServerOptions& options) {
  return options.threads > 0 ? options.threads
                             : static_cast<int>(std::max(
                                   1u, std::thread::hardware_concurrency()));
}

Server::Server(ServerOptions options,
               std::shared_ptr<ClientDirectory> directory,
               std::shared_ptr<CredentialSource> credentials)
    : options_(std::move(options)),
      directory_(std::move(directory)),
      credentials_(std::move(credentials)),
      stats_(std::make_shared<stats::ServerStats>(
          static_cast<size_t>(LoopCount(options_)))),
      log_limiter_(std::make_unique<internal_engine::LogLimiter>(
          options_.log_burst, options_.log_window)) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(
    ServerOptions options, std::shared_ptr<ClientDirectory> directory,
    std::shared_ptr<CredentialSource> credentials) {
  if (directory == nullptr || credentials == nullptr ||
      credentials->Get().current == nullptr) {
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
        "the NTLS server needs a client directory and a server certificate");
  }
  if (options.max_frame_payload < 1024) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 "max_frame_payload must be at least 1024 bytes");
  }
  if (absl::Status st = internal::CheckBusyPollBudget(
          options.busy_poll_us, "the NTLS loops' busy-poll budget");
      !st.ok()) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 st.message());
  }
  return std::unique_ptr<Server>(new Server(
      std::move(options), std::move(directory), std::move(credentials)));
}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::SetPartitionHandler(std::shared_ptr<PartitionHandler> handler) {
  handler_ = std::move(handler);
}

void Server::AddStreamService(std::string name,
                              std::shared_ptr<StreamService> service) {
  services_[std::move(name)] = std::move(service);
}

void Server::SetHtlGate(std::shared_ptr<HtlGate> gate) {
  htl_gate_ = std::move(gate);
}

void LogToStderr(absl::string_view line) {
  const std::string text =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   " ntls: ", line, "\n");
  fwrite(text.data(), 1, text.size(), stderr);
}

void Server::Log(absl::string_view line) const {
  if (options_.log) {
    options_.log(line);
    return;
  }
  LogToStderr(line);
}

void Server::LogStranger(absl::string_view kind, absl::string_view line) {
  std::vector<std::string> summaries;
  const bool pass = log_limiter_->Admit(kind, absl::Now(), &summaries);
  for (const std::string& s : summaries) {
    Log(s);
  }
  if (pass) {
    Log(line);
  }
}

void Server::FlushLogLimits() {
  for (const std::string& s : log_limiter_->Flush(absl::Now())) {
    Log(s);
  }
}

void Server::FlushAllLogLimits() {
  for (const std::string& s : log_limiter_->Flush(absl::InfiniteFuture())) {
    Log(s);
  }
}

namespace {

// UseCredential serves `cred`'s certificate and key on a buffers-method
// context (no X509 objects); returns false if BoringSSL refuses them.
bool UseCredential(SSL_CTX* ctx, const ServerCredential& cred) {
  uint8_t* der = nullptr;
  const int len = i2d_X509(cred.cert.get(), &der);
  if (len <= 0) {
    return false;
  }
  bssl::UniquePtr<uint8_t> owned(der);
  bssl::UniquePtr<CRYPTO_BUFFER> leaf(
      CRYPTO_BUFFER_new(der, static_cast<size_t>(len), nullptr));
  CRYPTO_BUFFER* chain[] = {leaf.get()};
  return leaf != nullptr &&
         SSL_CTX_set_chain_and_key(ctx, chain, 1, cred.key.get(), nullptr);
}

}  // namespace

absl::StatusOr<std::shared_ptr<TlsContext>> Server::BuildTls(
    std::shared_ptr<const ServerCredential> cred) {
  auto t = std::make_shared<TlsContext>();
  t->fingerprint = cred->fingerprint;
  t->not_after = cred->not_after;
  // CRYPTO_BUFFERs, not X509 objects: with TLS_method BoringSSL parses the
  // client's certificate into an X509 on every handshake, resumed ones too
  // (from the ticket), which nothing here reads (admission hashes the DER).
  // That parse and its allocations were a fifth of ntlsd's CPU in a
  // reconnect storm.
  t->ctx.reset(SSL_CTX_new(TLS_with_buffers_method()));
  SSL_CTX* ctx = t->ctx.get();
  if (ctx == nullptr) {
    return Error(absl::StatusCode::kInternal, TL_E_NO_MEMORY,
                 "cannot create SSL_CTX");
  }
  absl::Status st = tls::ApplyLinkPolicy(ctx, tls::Role::kServer);
  if (!st.ok()) {
    return st;
  }
  tls::RequireAlpn(ctx, kServedAlpn, 2);
  if (!UseCredential(ctx, *cred)) {
    ERR_clear_error();
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_CERT_INVALID,
        "the server certificate or key cannot be used for TLS; regenerate "
        "them (tl_registry_regenerate_server_certificate)");
  }
  SSL_CTX_set_custom_verify(
      ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, VerifyClient);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext,
                                 sizeof(kSessionIdContext) - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // Protects a resumed client in the pool before its answer leaves.
  SSL_CTX_set_info_callback(ctx, Loop::OnHandshakeStep);
  // One ticket, not BoringSSL's two: a link's client keeps only the newest
  // (one link per server), and each ticket is a session encoded and sealed
  // on every handshake.
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_mode(
      ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A ticket must not outlive the certificate it was issued under.
  absl::Duration life =
      std::min(options_.ticket_lifetime, cred->not_after - absl::Now());
  const uint32_t secs =
      static_cast<uint32_t>(std::max<int64_t>(1, absl::ToInt64Seconds(life)));
  SSL_CTX_set_timeout(ctx, secs);
  SSL_CTX_set_session_psk_dhe_timeout(ctx, secs);
  const absl::Time not_after = cred->not_after;
  t->tickets = std::make_unique<TicketKeys>(
      ticket_ring_, cred->fingerprint,
      [not_after](SSL* ssl, const SSL_SESSION* session) {
        if (absl::Now() >= not_after) {
          return false;
        }
        Conn* c = Loop::ConnFromSsl(ssl);
        Loop* loop = c == nullptr ? nullptr : internal_engine::LoopOf(c);
        const absl::string_view leaf = internal_engine::LeafCertificateDer(
            SSL_SESSION_get0_peer_certificates(session));
        if (loop == nullptr || leaf.empty()) {
          return false;
        }
        // A refused ticket falls back to a full handshake, whose verify
        // callback refuses with the proper alert; so only check here, and log
        // there. The check never waits for DNS: without a cached answer the
        // ticket is refused and the full handshake pauses for the lookup.
        return loop->AdmitResumption(c, leaf);
      });
  t->tickets->Install(ctx);
  return t;
}

uint64_t Server::RefreshTls() {
  internal::MutexLock lock(&tls_mu_);
  const uint64_t gen = credentials_->generation();
  if (gen == cred_generation_ && current_tls_ != nullptr) {
    return tls_generation_;
  }
  cred_generation_ = gen;
  CredentialSet set = credentials_->Get();
  auto reuse = [&](const std::shared_ptr<const ServerCredential>& cred)
      -> std::shared_ptr<TlsContext> {
    tls_mu_.AssertHeld();  // the lambda runs under the lock taken above
    if (cred == nullptr) {
      return nullptr;
    }
    if (current_tls_ && current_tls_->fingerprint == cred->fingerprint) {
      return current_tls_;
    }
    if (overlap_tls_ && overlap_tls_->fingerprint == cred->fingerprint) {
      return overlap_tls_;
    }
    auto built = BuildTls(cred);
    if (!built.ok()) {
      Log(absl::StrCat("certificate-error reason=\"", built.status().message(),
                       "\""));
      return nullptr;
    }
    return *built;
  };
  std::shared_ptr<TlsContext> current = reuse(set.current);
  std::shared_ptr<TlsContext> overlap = reuse(set.overlap);
  if (current == nullptr) {
    return tls_generation_;  // keep serving what works; the error is logged
  }
  if (current_tls_ && current_tls_->fingerprint != current->fingerprint) {
    Log(absl::StrCat(
        "certificate-changed serving=", current->fingerprint,
        " overlap=", overlap ? overlap->fingerprint : std::string("none")));
  }
  current_tls_ = std::move(current);
  overlap_tls_ = std::move(overlap);
  return ++tls_generation_;
}

std::shared_ptr<TlsContext> Server::CurrentTls() {
  internal::MutexLock lock(&tls_mu_);
  return current_tls_;
}

bool Server::IsServed(absl::string_view fp) {
  internal::MutexLock lock(&tls_mu_);
  return (current_tls_ && current_tls_->fingerprint == fp) ||
         (overlap_tls_ && overlap_tls_->fingerprint == fp);
}

internal_engine::PoolDecision Server::JoinPool(const std::string& ip, int loop,
                                               uint64_t conn_id, int fd) {
  internal_engine::PoolDecision d;
  {
    internal::MutexLock lock(&stats_mu_);
    d = pool_->Join(ip, loop, conn_id, fd);
  }
  if (d.evicted) {
    Loop* victim_loop = loops_[static_cast<size_t>(d.victim.loop)].get();
    const uint64_t id = d.victim.conn_id;
    const std::string rule = d.rule;
    victim_loop->mailbox()->Post(
        [victim_loop, id, rule] { victim_loop->Evict(id, rule); });
  }
  return d;
}

void Server::LeavePool(uint64_t ticket) {
  internal::MutexLock lock(&stats_mu_);
  pool_->Leave(ticket);
}

void Server::ProtectInPool(uint64_t ticket) {
  internal::MutexLock lock(&stats_mu_);
  pool_->Protect(ticket);
}

std::string Server::TryClientConnected(const ClientRecord& record,
                                       size_t per_client) {
  internal::MutexLock lock(&stats_mu_);
  if (static_cast<size_t>(admitted_) >= limits_.max_links) {
    return absl::StrCat(
        "the appliance holds its maximum of ", limits_.max_links,
        " links (descriptor limit ", limits_.descriptor_limit,
        "); try again later, or raise ntlsd's descriptor limit (ulimit -n)");
  }
  auto it = clients_.find(record.fingerprint);
  const size_t have = it == clients_.end() ? 0 : it->second.connections;
  if (have >= per_client) {
    return absl::StrCat("client '", record.label, "' already holds ", have,
                        " links, the most one client may hold on this "
                        "appliance; close some, or raise the cap "
                        "(tl_appliance_settings_set_max_links_per_client)");
  }
  ClientStatus& s = clients_[record.fingerprint];
  s.label = record.label;
  s.fingerprint = record.fingerprint;
  ++s.connections;
  ++admitted_;
  return "";
}

void Server::ClientConnected(const ClientRecord& record) {
  internal::MutexLock lock(&stats_mu_);
  ClientStatus& s = clients_[record.fingerprint];
  s.label = record.label;
  s.fingerprint = record.fingerprint;
  ++s.connections;
  ++admitted_;
}

void Server::ClientDisconnected(const std::string& fingerprint) {
  internal::MutexLock lock(&stats_mu_);
  auto it = clients_.find(fingerprint);
  if (it != clients_.end() && --it->second.connections <= 0) {
    clients_.erase(it);
  }
  --admitted_;
}

ServerStatus Server::GetStatus() const {
  ServerStatus st;
  st.listen = listen_text_;
  internal::MutexLock lock(&stats_mu_);
  st.connections = admitted_;
  st.unauthenticated = pool_ ? static_cast<int>(pool_->total()) : 0;
  st.proven = pool_ ? static_cast<int>(pool_->proven()) : 0;
  for (const auto& [fp, c] : clients_) {
    st.clients.push_back(c);
  }
  std::sort(st.clients.begin(), st.clients.end(),
            [](const ClientStatus& a, const ClientStatus& b) {
              return a.label < b.label;
            });
  return st;
}

size_t Server::hostname_lookups() const {
  return resolver_pool_ ? resolver_pool_->lookups() : 0;
}

internal::BusyPollCounts Server::busy_poll() const {
  internal::BusyPollCounts sum;
  for (const auto& loop : loops_) {
    const internal::BusyPollCounts c = loop->busy_poll();
    sum.polls += c.polls;
    sum.hits += c.hits;
    sum.misses += c.misses;
  }
  return sum;
}

absl::Status Server::Start() {
  if (started_.exchange(true)) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 TL_E_FAILED_PRECONDITION,
                 "the NTLS server is already started");
  }
  internal_engine::TicketKeyRingOptions ring_options;
  ring_options.rotation = options_.ticket_key_rotation;
  ring_options.dir = options_.ticket_key_dir;
  ring_options.log = [this](absl::string_view line) { Log(line); };
  ticket_ring_ = internal_engine::TicketKeyRing::Open(std::move(ring_options),
                                                      absl::Now());
  if (RefreshTls() == 0 || CurrentTls() == nullptr) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_CERT_INVALID,
                 "the server certificate cannot be used; regenerate it "
                 "(tl_registry_regenerate_server_certificate)");
  }
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  const std::string host = options_.listen_address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(options_.port);
    addr_len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(options_.port);
    addr_len = sizeof(*v6);
  } else {
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
        absl::StrCat(
            "listen address '", host,
            "' is not an IPv4 or IPv6 address; use e.g. 0.0.0.0 or ::"));
  }
  listen_fd_ =
      socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    return Error(
        absl::StatusCode::kUnavailable, TL_E_IO,
        absl::StrCat("cannot create the listening socket: ", strerror(errno)));
  }
  const int one = 1;
  const int zero = 0;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (addr.ss_family == AF_INET6) {
    setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0 ||
      listen(listen_fd_, kListenBacklog) != 0) {
    const int e = errno;
    close(listen_fd_);
    listen_fd_ = -1;
    return Error(
        absl::StatusCode::kUnavailable, TL_E_IO,
        absl::StrCat("cannot listen on ", host, " port ", options_.port, ": ",
                     strerror(e),
                     e == EADDRINUSE ? " (is another ntlsd running?)" : ""));
  }
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  listen_text_ = addr.ss_family == AF_INET
                     ? absl::StrCat(host, ":", port_)
                     : absl::StrCat("[", host, "]:", port_);
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  limits_ =
      DeriveLimits(options_, nofile.rlim_cur == RLIM_INFINITY
                                 ? UINT64_MAX
                                 : static_cast<uint64_t>(nofile.rlim_cur));
  {
    internal::MutexLock lock(&stats_mu_);
    pool_ = std::make_unique<internal_engine::PreAuthPool>(
        limits_.max_unauthenticated, limits_.max_unauthenticated_per_ip);
  }
  const int threads = LoopCount(options_);
  ResolverPoolOptions ro;
  ro.threads = options_.resolver_threads;
  ro.max_pending = options_.max_pending_lookups;
  ro.ttl = options_.resolve_cache_ttl;
  ro.negative_ttl = options_.resolve_negative_ttl;
  resolver_pool_ = std::make_unique<ResolverPool>(
      options_.resolver ? options_.resolver : SystemResolver(), ro);
  for (int i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>(this, i);
    absl::Status st = loop->Init(listen_fd_);
    if (!st.ok()) {
      return st;
    }
    loops_.push_back(std::move(loop));
  }
  if (htl_gate_) {
    htl_worker_ = std::make_unique<internal_engine::HtlWorker>(
        htl_gate_, options_.htl_tick);
    std::vector<internal_engine::HtlEventRouter::Target> targets;
    for (auto& loop : loops_) {
      targets.push_back({loop->mailbox(), loop.get()});
    }
    std::function<void(absl::string_view)> log = options_.log;
    if (!log) {
      log = LogToStderr;
    }
    auto router = std::make_shared<internal_engine::HtlEventRouter>(
        std::move(log), std::move(targets), stats_);
    htl_gate_->SetListener(
        [router](const HtlGateEvent& e) { router->OnEvent(e); });
    htl_worker_->Start();
  }
  for (auto& loop : loops_) {
    loop->Start();
  }
  Log(absl::StrCat(
      "listening on ", listen_text_, " loops=", threads, " certificate=",
      CurrentTls()->fingerprint, " descriptors=", limits_.descriptor_limit,
      " max_links=", limits_.max_links,
      " max_unauthenticated=", limits_.max_unauthenticated,
      " max_unauthenticated_per_ip=", limits_.max_unauthenticated_per_ip,
      // Named only when on, so nobody mistakes a spinning server's figures
      // for the default's.
      options_.busy_poll_us != 0
          ? absl::StrCat(" busy_poll_us=", options_.busy_poll_us)
          : std::string()));
  return absl::OkStatus();
}

void Server::Shutdown(absl::Duration grace) {
  {
    internal::MutexLock lock(&shutdown_mu_);
    if (shut_down_) {
      return;
    }
    shut_down_ = true;
  }
  if (!loops_.empty()) {
    Log("shutting down: finishing in-flight calls");
  }
  drain_deadline_ns_.store(absl::ToUnixNanos(absl::Now() + grace));
  draining_.store(true);
  for (auto& loop : loops_) {
    loop->Wake();
  }
  for (auto& loop : loops_) {
    loop->Join();
  }
  if (htl_worker_) {
    // After the loops: every link's close is queued by now, and the worker
    // runs it before it ends.
    htl_gate_->SetListener(nullptr);
    htl_worker_->Stop();
  }
  loops_.clear();
  if (resolver_pool_) {
    // After the loops: answers still arriving find their mailboxes closed. A
    // resolver stuck on a dead DNS server does not hold up the shutdown.
    resolver_pool_->Stop();
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    FlushAllLogLimits();  // what a flood cost, even if its window is not over
    Log("stopped");
  }
}

}  // namespace trustlink::ntl::server
