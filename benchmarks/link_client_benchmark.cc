// Client-side link benchmarks, each beside a baseline measured in the same run:
//   BM_TcpRoundTrip / BM_LinkRoundTrip        one small call at a time, one
//                                             connection
//   BM_TcpPipelined64 / BM_LinkPipelined64    64 calls in flight on one
//                                             connection (writes_per_call: how
//                                             well the client coalesces)
//   BM_BoringSslBulk / BM_LinkBulk            256 KiB echoes, MB/s both ways
// The link runs the real NTLS engine (one loop) with the software partition's
// echo op on loopback. Baselines use the same 12-byte frames over plain TCP,
// and the same TLS policy and certificates over bare BoringSSL. Each link
// benchmark reports `x_baseline`, its rate divided by its baseline's (run the
// whole suite so the baseline runs first).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/baseline_median.h"
#include "ntl/client/client.h"
#include "ntl/client/pin.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/credentials.h"
#include "ntl/server/directory.h"
#include "ntl/server/server.h"
#include "ntl/server/software_partition.h"
#include "ntl/tls/policy.h"
#include "ntl/wire/frame.h"

namespace trustlink::ntl {
using ::trustlink::benchmarks::BaselineRun;
using ::trustlink::benchmarks::MedianBaseline;
namespace {

constexpr uint32_t kEcho = 1;
constexpr size_t kBulk = 256 * 1024;

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
std::string Fixture(const std::string& name) {
  return Slurp("testdata/tls/" + name);
}

// Baselines, keyed by name: every run of each measured earlier in this run
// (baseline_median.h says why all of them).
std::map<std::string, std::vector<BaselineRun>>& Baselines() {
  static auto* m = new std::map<std::string, std::vector<BaselineRun>>();
  return *m;
}
// Timer measures a benchmark's own rate (items per second of wall time), so a
// link benchmark can divide by its baseline's rate from earlier in the same
// run.
class Timer {
 public:
  Timer() : start_(absl::Now()) {}
  double Rate(double items) const { return items / Seconds(); }
  double Seconds() const { return absl::ToDoubleSeconds(absl::Now() - start_); }

 private:
  absl::Time start_;
};

void RecordBaseline(const std::string& key, const Timer& timer, double items) {
  Baselines()[key].push_back(BaselineRun{timer.Rate(items), timer.Seconds()});
}

void Report(benchmark::State& state, const std::string& key, double rate) {
  auto it = Baselines().find(key);
  const double baseline =
      it == Baselines().end() ? 0 : MedianBaseline(it->second);
  if (baseline > 0) {
    state.counters["x_baseline"] = rate / baseline;
  }
}

// ---- The link: a real NTLS server and one client
// ---------------------------------------

struct Link {
  std::unique_ptr<server::Server> srv;
  std::unique_ptr<client::Client> cli;
};

Link& TheLink() {
  static Link* link = [] {
    auto* l = new Link();
    const std::string client_pem = Fixture("client_ed25519.cert.pem");
    auto dir = std::make_shared<server::InMemoryDirectory>();
    server::ClientRecord r;
    r.label = "bench";
    r.fingerprint =
        client::Sha256Fingerprint(*client::CertPemToDer(client_pem, "c"));
    r.allowed_ips = {"127.0.0.1"};
    r.partitions = {{"p1", "bench", "1"}};
    dir->Put(r);
    auto cred = server::ServerCredential::FromPem(
        Fixture("server_ed25519.cert.pem"), Fixture("server_ed25519.key.pem"));
    server::ServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    o.log = [](absl::string_view) {};
    l->srv = *server::Server::Create(
        o, dir, std::make_shared<server::StaticCredentials>(*cred));
    l->srv->SetPartitionHandler(
        std::make_shared<server::SoftwarePartitionHandler>());
    (void)l->srv->Start();
    client::ClientSettings s;
    client::ServerSettings ss;
    ss.name = "bench";
    ss.host = "127.0.0.1";
    ss.port = l->srv->port();
    ss.pinned_cert_der =
        *client::CertPemToDer(Fixture("server_ed25519.cert.pem"), "s");
    s.servers.push_back(ss);
    s.client_cert_pem = client_pem;
    s.client_key_pem = Fixture("client_ed25519.key.pem");
    l->cli = *client::Client::Create(s);
    return l;
  }();
  return *link;
}

// ---- Baseline peers
// ----------------------------------------------------------------------

int Listen(uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  listen(fd, 4);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

int Dial(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// FrameEcho serves one plain TCP connection: every frame comes back as a
// response frame.
void FrameEcho(int listen_fd) {
  const int fd = accept(listen_fd, nullptr, nullptr);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::string in;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    in.append(buf, static_cast<size_t>(n));
    std::string out;
    size_t off = 0;
    for (;;) {
      auto r = wire::DecodeFrame(absl::string_view(in).substr(off),
                                 wire::kDefaultMaxPayload);
      if (r.kind != wire::DecodeResult::Kind::kFrame) {
        break;
      }
      wire::AppendFrame(wire::FrameType::kResponse, 0, r.frame.id,
                        r.frame.payload, &out);
      off += r.consumed;
    }
    in.erase(0, off);
    if (!out.empty() && write(fd, out.data(), out.size()) < 0) {
      break;
    }
  }
  close(fd);
}

// ReadFrames reads until `count` complete frames arrived.
void ReadFrames(int fd, std::string* in, int count) {
  char buf[65536];
  while (count > 0) {
    auto r = wire::DecodeFrame(*in, wire::kDefaultMaxPayload);
    if (r.kind == wire::DecodeResult::Kind::kFrame) {
      in->erase(0, r.consumed);
      --count;
      continue;
    }
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      return;
    }
    in->append(buf, static_cast<size_t>(n));
  }
}

void BM_TcpRoundTrip(benchmark::State& state) {
  uint16_t port;
  const int lfd = Listen(&port);
  std::thread peer(FrameEcho, lfd);
  const int fd = Dial(port);
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  std::string frame, in;
  wire::AppendFrame(wire::FrameType::kRequest, 0, 1, payload, &frame);
  Timer timer;
  for (auto _ : state) {
    if (write(fd, frame.data(), frame.size()) < 0) {
      break;
    }
    ReadFrames(fd, &in, 1);
  }
  RecordBaseline("rt" + std::to_string(state.range(0)), timer,
                 static_cast<double>(state.iterations()));
  close(fd);
  peer.join();
  close(lfd);
  state.SetItemsProcessed(state.iterations());
}

void BM_TcpPipelined64(benchmark::State& state) {
  uint16_t port;
  const int lfd = Listen(&port);
  std::thread peer(FrameEcho, lfd);
  const int fd = Dial(port);
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  std::string frame, in;
  wire::AppendFrame(wire::FrameType::kRequest, 0, 1, payload, &frame);
  std::string burst;
  for (int i = 0; i < 64; ++i) {
    burst += frame;
  }
  // 64 in flight per round: send 64, read 64 answers.
  Timer timer;
  for (auto _ : state) {
    if (write(fd, burst.data(), burst.size()) < 0) {
      break;
    }
    ReadFrames(fd, &in, 64);
  }
  RecordBaseline("pipe" + std::to_string(state.range(0)), timer,
                 static_cast<double>(state.iterations()) * 64);
  close(fd);
  peer.join();
  close(lfd);
  state.SetItemsProcessed(state.iterations() * 64);
}

// ---- Link benchmarks
// ---------------------------------------------------------------------

void BM_LinkRoundTrip(benchmark::State& state) {
  client::Client& c = *TheLink().cli;
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  Timer timer;
  for (auto _ : state) {
    auto r = c.Call(0, kEcho, payload, absl::Now() + absl::Seconds(10));
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
  }
  Report(state, "rt" + std::to_string(state.range(0)),
         timer.Rate(static_cast<double>(state.iterations())));
  state.SetItemsProcessed(state.iterations());
}

void BM_LinkPipelined64(benchmark::State& state) {
  client::Client& c = *TheLink().cli;
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  internal::Mutex mu;
  internal::CondVar cv;
  int done = 0;
  const uint64_t writes_before = c.Servers()[0].tls_writes;
  Timer timer;
  for (auto _ : state) {
    {
      internal::MutexLock l(&mu);
      done = 0;
    }
    for (int i = 0; i < 64; ++i) {
      (void)c.CallAsync(0, kEcho, payload, absl::Now() + absl::Seconds(10),
                        [&](absl::StatusOr<std::string>) {
                          internal::MutexLock l(&mu);
                          if (++done == 64) {
                            cv.Signal();
                          }
                        });
    }
    internal::MutexLock l(&mu);
    cv.WaitUntil(&mu, absl::Now() + absl::Seconds(10), [&]() {
      mu.AssertHeld();
      return done == 64;
    });
  }
  Report(state, "pipe" + std::to_string(state.range(0)),
         timer.Rate(static_cast<double>(state.iterations()) * 64));
  // How well the client coalesces: TLS writes (records + sends) per call.
  state.counters["writes_per_call"] =
      static_cast<double>(c.Servers()[0].tls_writes - writes_before) /
      (static_cast<double>(state.iterations()) * 64);
  state.SetItemsProcessed(state.iterations() * 64);
}

// ---- Bulk
// ----------------------------------------------------------------------------------

bssl::UniquePtr<SSL_CTX> Ctx(tls::Role role, const std::string& id) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  (void)tls::ApplyLinkPolicy(ctx.get(), role);
  const std::string cert = Fixture(id + ".cert.pem");
  const std::string key = Fixture(id + ".key.pem");
  bssl::UniquePtr<BIO> cb(
      BIO_new_mem_buf(cert.data(), static_cast<int>(cert.size())));
  bssl::UniquePtr<BIO> kb(
      BIO_new_mem_buf(key.data(), static_cast<int>(key.size())));
  bssl::UniquePtr<X509> x(
      PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  bssl::UniquePtr<EVP_PKEY> k(
      PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  SSL_CTX_use_certificate(ctx.get(), x.get());
  SSL_CTX_use_PrivateKey(ctx.get(), k.get());
  SSL_CTX_set_custom_verify(ctx.get(), SSL_VERIFY_PEER,
                            [](SSL*, uint8_t*) { return ssl_verify_ok; });
  return ctx;
}

void BM_BoringSslBulk(benchmark::State& state) {
  uint16_t port;
  const int lfd = Listen(&port);
  auto sctx = Ctx(tls::Role::kServer, "server_ed25519");
  std::thread peer([&]() {
    const int fd = accept(lfd, nullptr, nullptr);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bssl::UniquePtr<SSL> ssl(SSL_new(sctx.get()));
    SSL_set_fd(ssl.get(), fd);
    if (SSL_accept(ssl.get()) == 1) {
      std::string buf(65536, '\0');
      for (;;) {
        const int n =
            SSL_read(ssl.get(), &buf[0], static_cast<int>(buf.size()));
        if (n <= 0 || SSL_write(ssl.get(), buf.data(), n) <= 0) {
          break;
        }
      }
    }
    close(fd);
  });
  auto cctx = Ctx(tls::Role::kClient, "client_ed25519");
  const int fd = Dial(port);
  bssl::UniquePtr<SSL> ssl(SSL_new(cctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_connect(ssl.get());
  const std::string chunk(kBulk, 'x');
  std::string buf(65536, '\0');
  Timer timer;
  for (auto _ : state) {
    // Write and read concurrently enough not to deadlock: 16 KiB steps.
    size_t sent = 0, got = 0;
    while (got < kBulk) {
      if (sent < kBulk) {
        const int n =
            SSL_write(ssl.get(), chunk.data() + sent,
                      static_cast<int>(std::min<size_t>(16384, kBulk - sent)));
        if (n <= 0) {
          break;
        }
        sent += static_cast<size_t>(n);
      }
      if (sent - got >= 65536 || sent == kBulk) {
        const int n =
            SSL_read(ssl.get(), &buf[0], static_cast<int>(buf.size()));
        if (n <= 0) {
          break;
        }
        got += static_cast<size_t>(n);
      }
    }
  }
  RecordBaseline("bulk", timer,
                 static_cast<double>(state.iterations()) * kBulk * 2);
  SSL_shutdown(ssl.get());
  close(fd);
  peer.join();
  close(lfd);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kBulk) * 2);
}

void BM_LinkBulk(benchmark::State& state) {
  client::Client& c = *TheLink().cli;
  const std::string chunk(kBulk, 'x');
  Timer timer;
  for (auto _ : state) {
    auto r = c.Call(0, kEcho, chunk, absl::Now() + absl::Seconds(10));
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
  }
  Report(state, "bulk",
         timer.Rate(static_cast<double>(state.iterations()) * kBulk * 2));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kBulk) * 2);
}

BENCHMARK(BM_TcpRoundTrip)->Arg(64)->Arg(1024)->UseRealTime();
BENCHMARK(BM_LinkRoundTrip)->Arg(64)->Arg(1024)->UseRealTime();
BENCHMARK(BM_TcpPipelined64)->Arg(64)->UseRealTime();
BENCHMARK(BM_LinkPipelined64)->Arg(64)->UseRealTime();
BENCHMARK(BM_BoringSslBulk)->UseRealTime();
BENCHMARK(BM_LinkBulk)->UseRealTime();

}  // namespace
}  // namespace trustlink::ntl
