// flood: a slowloris driver for the chaos tests (docs/reliability.md). It
// holds idle TCP connections to an NTLS server from many loopback source
// addresses, re-opening those the server closes, while a registered client
// makes links one after another; it prints the links' set-up times and, with
// --pid, the server's CPU time and descriptor count over the flood window.
//
//   flood --port P [--idle N] [--sources K] [--links L] [--hold-ms MS]
//         [--cert FILE --key FILE] [--link-source IP] [--pid PID]
//         [--no-reconnect] [--reconnect-rate PER_SECOND]
//
// Loopback only: idle connections come from 127.0.0.2 .. 127.0.0.(K+1).
// Bounded: at most N idle sockets, L links, 20,000 re-opens at
// --reconnect-rate (default 1,000 a second, so the pressure lasts the whole
// run), and a 120 s run time.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/frame.h"

namespace {

using trustlink::ntl::server::testing::TestClient;
using trustlink::ntl::server::testing::TestClientOptions;

constexpr int kMaxReopens = 20000;
const absl::Duration kMaxRunTime = absl::Seconds(120);

struct Flags {
  int port = 0;
  int idle = 0;
  int sources = 20;
  int links = 0;
  int hold_ms = 0;
  std::string cert, key, link_source = "127.0.0.1";
  int pid = 0;
  bool reconnect = true;
  int reconnect_rate = 1000;
};

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "flood: %s\n", why.c_str());
  std::exit(2);
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    Die("cannot read " + path);
  }
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// OpenIdle starts a non-blocking connect from `source`; -1 when no socket.
int OpenIdle(int port, const std::string& source) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0 &&
       errno != EINPROGRESS)) {
    close(fd);
    return -1;
  }
  return fd;
}

// ProcTicks is the process's user+system CPU in clock ticks, from
// /proc/PID/stat.
long long ProcTicks(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)),
                   std::istreambuf_iterator<char>());
  const size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) {
    return -1;
  }
  std::istringstream rest(stat.substr(close_paren + 2));
  std::string field;
  long long utime = 0, stime = 0;
  // Fields after the command: state is field 3; utime 14, stime 15.
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  return utime + stime;
}

int ProcFds(int pid) {
  const std::string cmd =
      "ls /proc/" + std::to_string(pid) + "/fd 2>/dev/null | wc -l";
  FILE* p = popen(cmd.c_str(), "r");
  int n = -1;
  if (p != nullptr) {
    if (std::fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
  }
  return n;
}

class IdleFlood {
 public:
  explicit IdleFlood(const Flags& f) : f_(f), start_(absl::Now()) {}

  void Open() {
    for (int i = 0; i < f_.idle; ++i) {
      fds_.push_back(OpenIdle(f_.port, Source(i)));
    }
  }

  // Sweep notices connections the server closed and, with reconnect, opens
  // new ones in their place.
  void Sweep() {
    std::vector<pollfd> p;
    for (int fd : fds_) {
      p.push_back({fd, POLLIN, 0});
    }
    if (poll(p.data(), p.size(), 0) <= 0) {
      return;
    }
    for (size_t i = 0; i < p.size(); ++i) {
      if (fds_[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      close(fds_[i]);
      fds_[i] = -1;
      ++closed_by_server_;
      if (f_.reconnect && reopens_ < kMaxReopens && reopens_ < Allowed()) {
        ++reopens_;
        fds_[i] = OpenIdle(f_.port, Source(static_cast<int>(i)));
      }
    }
    // Sockets closed while over the rate are re-opened at a later sweep.
    for (size_t i = 0; i < fds_.size() && f_.reconnect; ++i) {
      if (fds_[i] < 0 && reopens_ < kMaxReopens && reopens_ < Allowed()) {
        ++reopens_;
        fds_[i] = OpenIdle(f_.port, Source(static_cast<int>(i)));
      }
    }
  }

  void CloseAll() {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
    fds_.clear();
  }

  int open_count() const {
    return static_cast<int>(std::count_if(fds_.begin(), fds_.end(),
                                          [](int fd) { return fd >= 0; }));
  }
  int closed_by_server() const { return closed_by_server_; }
  int reopens() const { return reopens_; }

 private:
  // Allowed is how many re-opens the rate allows by now.
  int Allowed() const {
    return static_cast<int>(absl::ToDoubleSeconds(absl::Now() - start_) *
                            f_.reconnect_rate);
  }
  std::string Source(int i) const {
    return "127.0.0." + std::to_string(2 + i % f_.sources);
  }
  const Flags& f_;
  const absl::Time start_;
  std::vector<int> fds_;
  int closed_by_server_ = 0;
  int reopens_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--port")
      f.port = std::atoi(next().c_str());
    else if (a == "--idle")
      f.idle = std::atoi(next().c_str());
    else if (a == "--sources")
      f.sources = std::atoi(next().c_str());
    else if (a == "--links")
      f.links = std::atoi(next().c_str());
    else if (a == "--hold-ms")
      f.hold_ms = std::atoi(next().c_str());
    else if (a == "--cert")
      f.cert = next();
    else if (a == "--key")
      f.key = next();
    else if (a == "--link-source")
      f.link_source = next();
    else if (a == "--pid")
      f.pid = std::atoi(next().c_str());
    else if (a == "--no-reconnect")
      f.reconnect = false;
    else if (a == "--reconnect-rate")
      f.reconnect_rate = std::atoi(next().c_str());
    else
      Die("unknown argument " + a);
  }
  if (f.port <= 0 || f.sources < 1 || f.sources > 200 || f.idle < 0 ||
      f.idle > 5000 || f.links < 0 || f.links > 5000 || f.reconnect_rate < 1 ||
      f.reconnect_rate > 100000) {
    Die("need --port; --idle 0..5000, --sources 1..200, --links 0..5000, "
        "--reconnect-rate 1..100000");
  }
  if (f.links > 0 && (f.cert.empty() || f.key.empty())) {
    Die("--links needs --cert and --key of a registered client");
  }
  // This process holds the flood; its own limit must not be what bites.
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  const absl::Time start = absl::Now();
  IdleFlood flood(f);
  flood.Open();
  // Let the server take the flood in before the measured window opens.
  for (int i = 0; i < 20; ++i) {
    flood.Sweep();
    absl::SleepFor(absl::Milliseconds(50));
  }
  const long long ticks0 = f.pid > 0 ? ProcTicks(f.pid) : 0;
  const absl::Time window0 = absl::Now();
  int max_fds = f.pid > 0 ? ProcFds(f.pid) : -1;

  TestClientOptions o;
  if (f.links > 0) {
    o.cert_pem = Slurp(f.cert);
    o.key_pem = Slurp(f.key);
    o.source_ip = f.link_source;
    o.io_timeout_seconds = 5;
  }
  std::vector<double> ms;
  int failed = 0;
  std::string first_failure;
  for (int i = 0; i < f.links && absl::Now() - start < kMaxRunTime; ++i) {
    flood.Sweep();
    const absl::Time t0 = absl::Now();
    auto c = TestClient::Connect(static_cast<uint16_t>(f.port), o);
    bool ok = c.ok();
    std::string why = c.ok() ? "" : std::string(c.status().message());
    if (ok) {
      auto w = (*c)->Hello();
      ok = w.ok() && w->type == trustlink::ntl::wire::FrameType::kWelcome;
      if (!ok) {
        why = w.ok() ? "answered with a frame other than welcome"
                     : std::string(w.status().message());
      }
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    if (!ok) {
      ++failed;
      if (first_failure.empty()) first_failure = why;
    }
    if (f.pid > 0 && i % 20 == 0) {
      max_fds = std::max(max_fds, ProcFds(f.pid));
    }
  }
  const absl::Time hold_until = window0 + absl::Milliseconds(f.hold_ms);
  while (absl::Now() < hold_until && absl::Now() - start < kMaxRunTime) {
    flood.Sweep();
    if (f.pid > 0) max_fds = std::max(max_fds, ProcFds(f.pid));
    absl::SleepFor(absl::Milliseconds(100));
  }
  const double window_s = absl::ToDoubleSeconds(absl::Now() - window0);
  flood.Sweep();

  std::printf(
      "idle connections held: %d of %d from %d sources; closed by the "
      "server: %d; re-opened: %d\n",
      flood.open_count(), f.idle, f.sources, flood.closed_by_server(),
      flood.reopens());
  if (!ms.empty()) {
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    auto pct = [&](double p) {
      size_t idx = static_cast<size_t>(p * (sorted.size() - 1) + 0.5);
      return sorted[std::min(idx, sorted.size() - 1)];
    };
    std::printf(
        "links: %zu, failed: %d; set-up ms p50 %.1f p99 %.1f max "
        "%.1f\n",
        ms.size(), failed, pct(0.50), pct(0.99), sorted.back());
    std::printf("RESULT p99_ms=%.1f failed=%d\n", pct(0.99), failed);
    if (failed > 0) {
      std::printf("first failure: %s\n", first_failure.c_str());
    }
  }
  if (f.pid > 0) {
    const long long ticks = ProcTicks(f.pid) - ticks0;
    const double cpu = static_cast<double>(ticks) /
                       static_cast<double>(sysconf(_SC_CLK_TCK)) / window_s;
    std::printf(
        "server over %.1f s: CPU %.1f%% of one core; descriptors at "
        "most %d\n",
        window_s, cpu * 100, max_fds);
    std::printf("RESULT cpu_percent=%.1f max_fds=%d\n", cpu * 100, max_fds);
  }
  flood.CloseAll();
  return 0;
}
