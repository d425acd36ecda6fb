// NTLS server benchmarks, each against a baseline measured in the same run:
//  - full mTLS handshakes/s and resumed handshakes/s: the NTLS server (one
//  loop) against a
//    bare blocking BoringSSL server with the same certificates and link policy;
//    both include one small round trip after the handshake (hello/welcome vs. a
//    1-byte echo), because a TLS 1.3 client finishes before the server has
//    checked its certificate;
//  - memory per idle connection at 1,000 and 10,000 admitted connections,
//  measured as the
//    RSS growth of a server running in a child process.
// The ratio counters are NTLS / baseline (higher is better for rates).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "ntl/server/server.h"
#include "ntl/server/software_partition.h"
#include "ntl/tls/policy.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::server {
namespace {

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Fixture {
  std::string server_cert = Read("testdata/tls/server_ed25519.cert.pem");
  std::string server_key = Read("testdata/tls/server_ed25519.key.pem");
  std::string client_cert = Read("testdata/tls/client_ed25519.cert.pem");
  std::string client_key = Read("testdata/tls/client_ed25519.key.pem");
};

const Fixture& F() {
  static const Fixture* f = new Fixture();
  return *f;
}

bssl::UniquePtr<X509> ParseCert(const std::string& pem) {
  bssl::UniquePtr<BIO> b(BIO_new_mem_buf(pem.data(), pem.size()));
  return bssl::UniquePtr<X509>(
      PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
}
bssl::UniquePtr<EVP_PKEY> ParseKey(const std::string& pem) {
  bssl::UniquePtr<BIO> b(BIO_new_mem_buf(pem.data(), pem.size()));
  return bssl::UniquePtr<EVP_PKEY>(
      PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
}

std::unique_ptr<Server> StartNtls(int threads) {
  auto dir = std::make_shared<InMemoryDirectory>();
  ClientRecord r;
  r.label = "bench";
  r.fingerprint = CertificateFingerprint(ParseCert(F().client_cert).get());
  r.allowed_ips = {"127.0.0.1"};
  r.partitions = {{"p1", "P1", "1"}};
  dir->Put(r);
  auto cred = ServerCredential::FromPem(F().server_cert, F().server_key);
  ServerOptions o;
  o.listen_address = "127.0.0.1";
  o.port = 0;
  o.threads = threads;
  o.max_unauthenticated = 20000;
  o.max_unauthenticated_per_ip = 20000;
  o.log = [](absl::string_view) {};
  auto s = Server::Create(o, dir, std::make_shared<StaticCredentials>(*cred));
  (*s)->SetPartitionHandler(std::make_shared<SoftwarePartitionHandler>());
  if (!(*s)->Start().ok()) {
    abort();
  }
  return std::move(*s);
}

// BareServer is the baseline: a blocking BoringSSL accept loop on one thread
// with the same certificate, policy, ALPN and client-certificate request,
// answering a 1-byte echo.
class BareServer {
 public:
  BareServer() {
    ctx_.reset(SSL_CTX_new(TLS_method()));
    tls::ApplyLinkPolicy(ctx_.get(), tls::Role::kServer).IgnoreError();
    static const absl::string_view kAlpn[] = {tls::kAlpnNtl};
    tls::RequireAlpn(ctx_.get(), kAlpn, 1);
    SSL_CTX_use_certificate(ctx_.get(), ParseCert(F().server_cert).get());
    SSL_CTX_use_PrivateKey(ctx_.get(), ParseKey(F().server_key).get());
    SSL_CTX_set_custom_verify(ctx_.get(),
                              SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                              [](SSL*, uint8_t*) { return ssl_verify_ok; });
    static const uint8_t kCtx[] = "bench";
    SSL_CTX_set_session_id_context(ctx_.get(), kCtx, 5);
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 1024);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~BareServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  void Run() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) {
        return;
      }
      const int one = 1;
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      bssl::UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
      SSL_set_fd(ssl.get(), c);
      char b;
      if (SSL_accept(ssl.get()) == 1 && SSL_read(ssl.get(), &b, 1) == 1) {
        SSL_write(ssl.get(), &b, 1);
      }
      close(c);
    }
  }
  bssl::UniquePtr<SSL_CTX> ctx_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

bssl::UniquePtr<SSL_CTX> ClientCtx() {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  tls::ApplyLinkPolicy(ctx.get(), tls::Role::kClient).IgnoreError();
  tls::OfferAlpn(ctx.get(), tls::kAlpnNtl).IgnoreError();
  SSL_CTX_set_custom_verify(ctx.get(), SSL_VERIFY_PEER,
                            [](SSL*, uint8_t*) { return ssl_verify_ok; });
  SSL_CTX_use_certificate(ctx.get(), ParseCert(F().client_cert).get());
  SSL_CTX_use_PrivateKey(ctx.get(), ParseKey(F().client_key).get());
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(ctx.get(), [](SSL* ssl, SSL_SESSION* s) {
    auto* slot =
        static_cast<bssl::UniquePtr<SSL_SESSION>*>(SSL_get_app_data(ssl));
    if (slot != nullptr) {
      slot->reset(s);
      return 1;
    }
    return 0;
  });
  return ctx;
}

int Dial(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string HelloFrame() {
  wire::Hello h;
  h.software = "bench";
  std::string f;
  wire::AppendFrame(wire::FrameType::kHello, 0, 0, wire::EncodeHello(h), &f);
  return f;
}

// OneConnection: handshake plus one round trip; keeps the new session in
// `*session` when asked. Returns the fd still open when `keep_fd`.
bool OneConnection(SSL_CTX* ctx, uint16_t port, bool ntls, SSL_SESSION* resume,
                   bssl::UniquePtr<SSL_SESSION>* session,
                   int* keep_fd = nullptr) {
  int fd = Dial(port);
  if (fd < 0) {
    return false;
  }
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx));
  SSL_set_app_data(ssl.get(), session);
  SSL_set_fd(ssl.get(), fd);
  if (resume != nullptr) {
    SSL_set_session(ssl.get(), resume);
  }
  bool ok = SSL_connect(ssl.get()) == 1;
  if (ok) {
    if (ntls) {
      static const std::string hello = HelloFrame();
      ok = SSL_write(ssl.get(), hello.data(), static_cast<int>(hello.size())) >
           0;
      char buf[512];
      ok = ok && SSL_read(ssl.get(), buf, sizeof(buf)) > 0;  // welcome
    } else {
      char b = 'x';
      ok = SSL_write(ssl.get(), &b, 1) == 1 && SSL_read(ssl.get(), &b, 1) == 1;
    }
  }
  ssl.reset();
  if (keep_fd != nullptr && ok) {
    *keep_fd = fd;
  } else {
    close(fd);
  }
  return ok;
}

double Rate(bool ntls, bool resumed, absl::Duration run) {
  std::unique_ptr<Server> server;
  std::unique_ptr<BareServer> bare;
  uint16_t port;
  if (ntls) {
    server = StartNtls(1);
    port = server->port();
  } else {
    bare = std::make_unique<BareServer>();
    port = bare->port();
  }
  bssl::UniquePtr<SSL_CTX> ctx = ClientCtx();
  bssl::UniquePtr<SSL_SESSION> session;
  if (resumed && !OneConnection(ctx.get(), port, ntls, nullptr, &session)) {
    abort();
  }
  const absl::Time end = absl::Now() + run;
  int64_t n = 0;
  while (absl::Now() < end) {
    bssl::UniquePtr<SSL_SESSION> next;
    if (!OneConnection(ctx.get(), port, ntls, resumed ? session.get() : nullptr,
                       &next)) {
      abort();
    }
    if (resumed && next) {
      session = std::move(next);
    }
    ++n;
  }
  if (server) {
    server->Shutdown(absl::Seconds(1));
  }
  return static_cast<double>(n) / absl::ToDoubleSeconds(run);
}

void Handshakes(benchmark::State& state, bool resumed) {
  double ntls = 0, bare = 0;
  for (auto _ : state) {
    ntls = Rate(true, resumed, absl::Seconds(2));
    bare = Rate(false, resumed, absl::Seconds(2));
  }
  state.counters["ntls_per_s"] = ntls;
  state.counters["bare_boringssl_per_s"] = bare;
  state.counters["ratio"] = bare > 0 ? ntls / bare : 0;
  state.SetItemsProcessed(static_cast<int64_t>(ntls * 2 * state.iterations()));
}

void BM_FullHandshake(benchmark::State& state) { Handshakes(state, false); }
void BM_ResumedHandshake(benchmark::State& state) { Handshakes(state, true); }
BENCHMARK(BM_FullHandshake)->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_ResumedHandshake)->Iterations(1)->Unit(benchmark::kSecond);

long RssKb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

// BM_IdleConnectionMemory runs the server in a child process (forked before any
// thread of this benchmark exists), opens N admitted connections from here, and
// reports the child's RSS growth per connection. Client SSL objects are freed
// once admitted; their sockets stay.
void BM_IdleConnectionMemory(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur <
      static_cast<rlim_t>(n + 200)) {  // the server is another process
    state.SkipWithError("RLIMIT_NOFILE too low for this many connections");
    return;
  }
  for (auto _ : state) {
    int to_parent[2], to_child[2];
    if (pipe(to_parent) != 0 || pipe(to_child) != 0) {
      abort();
    }
    const pid_t child = fork();
    if (child == 0) {
      auto server = StartNtls(1);
      const uint16_t port = server->port();
      ssize_t w = write(to_parent[1], &port, sizeof(port));
      (void)w;
      char b;
      ssize_t r = read(to_child[0], &b, 1);  // until the parent is done
      (void)r;
      server->Shutdown(absl::ZeroDuration());
      _exit(0);
    }
    uint16_t port = 0;
    if (read(to_parent[0], &port, sizeof(port)) != sizeof(port)) {
      abort();
    }
    bssl::UniquePtr<SSL_CTX> ctx = ClientCtx();
    // Warm up: the first connections allocate one-time state (loop buffers,
    // caches).
    std::vector<int> fds;
    for (int i = 0; i < 50; ++i) {
      int fd = -1;
      if (OneConnection(ctx.get(), port, true, nullptr, nullptr, &fd)) {
        fds.push_back(fd);
      }
    }
    const long before = RssKb(child);
    for (int i = 0; i < n; ++i) {
      int fd = -1;
      if (!OneConnection(ctx.get(), port, true, nullptr, nullptr, &fd)) {
        state.SkipWithError("connection failed");
        break;
      }
      fds.push_back(fd);
    }
    const long after = RssKb(child);
    state.counters["connections"] = n;
    state.counters["bytes_per_idle_connection"] =
        static_cast<double>(after - before) * 1024.0 / n;
    for (int fd : fds) {
      close(fd);
    }
    ssize_t w = write(to_child[1], "x", 1);
    (void)w;
    waitpid(child, nullptr, 0);
    close(to_parent[0]);
    close(to_parent[1]);
    close(to_child[0]);
    close(to_child[1]);
  }
}
BENCHMARK(BM_IdleConnectionMemory)
    ->Arg(1000)
    ->Arg(10000)
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace trustlink::ntl::server
