// storm: a reconnect storm against a running ntlsd (issue 16, "Storms"). It
// holds N links (TLS 1.3 with the client certificate, ALPN ntl/1, hello and
// welcome, as the trustlink client makes them), runs a restart command (kill
// -9 and a new ntlsd, or ntlsh service restart ntls), and measures how long
// the N links take to come back and how many resumed their TLS session.
//
//   storm --port P --cert FILE --key FILE --links N [--sources K]
//         --restart 'COMMAND' [--deadline-s S] [--ramp-concurrency C]
//
// The links reconnect on the trustlink client's schedule, with its defaults
// (ntl/client/reconnect_backoff.h: a random 50-100% of a step doubling from
// 100 ms to 30 s; a connection refused soon after the link was up waits at
// most 500 ms); each offers the newest ticket the server gave it. Link i binds
// to 127.0.0.(1 + i % K): K = 1 is a fleet behind one NAT address. One thread,
// one epoll set, one descriptor per link. The ramp-up keeps at most C links
// (default 64) between connect and welcome, as this one thread does every
// client's handshake crypto; the storm does not.
//
// Prints, for the ramp-up and for the storm after the restart: the time until
// all N links were welcomed, the resumed fraction, and the failed attempts per
// link by kind (refused at the cap: the server's user_canceled alert;
// connection refused: ntlsd not listening yet; other). Exit 0 when every link
// came back within the deadline (default 60 s), 1 otherwise.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ntl/client/reconnect_backoff.h"
#include "ntl/tls/policy.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"
#include "third_party/boringssl_guard.h"

extern char** environ;

namespace {

namespace ntl_client = trustlink::ntl::client;

constexpr int kMaxLinks = 20000;
constexpr int kMaxSources = 250;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "storm: %s\n", why.c_str());
  std::exit(2);
}

struct Flags {
  int port = 0;
  std::string cert, key, restart;
  int links = 0;
  int sources = 1;
  int deadline_s = 60;
  int ramp_concurrency = 64;
};

// Counts is one phase's tally.
struct Counts {
  int welcomed = 0;
  int resumed = 0;
  int refused_cap = 0;  // the server's user_canceled alert
  int refused_tcp = 0;  // ECONNREFUSED: not listening yet
  int other = 0;
};

struct Link {
  enum class State { kWaiting, kConnecting, kHandshake, kWelcome, kUp };
  int index = 0;
  int fd = -1;
  State state = State::kWaiting;
  bssl::UniquePtr<SSL> ssl;
  bssl::UniquePtr<SSL_SESSION> session;  // the newest ticket
  std::string in;
  // The trustlink client's schedule, with its default settings.
  ntl_client::ReconnectBackoff backoff{ntl_client::ReconnectPolicy()};
  bool relink = false;  // must link again since the restart
  absl::Time retry_at = absl::InfinitePast();
};

class Storm {
 public:
  explicit Storm(const Flags& f) : f_(f), links_(f.links) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    ctx_.reset(SSL_CTX_new(TLS_method()));
    if (!trustlink::ntl::tls::ApplyLinkPolicy(
             ctx_.get(), trustlink::ntl::tls::Role::kClient)
             .ok() ||
        !trustlink::ntl::tls::OfferAlpn(ctx_.get(), "ntl/1").ok()) {
      Die("cannot apply the link policy");
    }
    // The benchmark measures the server; the real client pins the server
    // certificate, which costs the same on every handshake.
    SSL_CTX_set_custom_verify(ctx_.get(), SSL_VERIFY_PEER,
                              [](SSL*, uint8_t*) { return ssl_verify_ok; });
    SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_CLIENT);
    SSL_CTX_sess_set_new_cb(ctx_.get(), &Storm::NewSession);
    if (!SSL_CTX_use_certificate_chain_file(ctx_.get(), f.cert.c_str()) ||
        !SSL_CTX_use_PrivateKey_file(ctx_.get(), f.key.c_str(),
                                     SSL_FILETYPE_PEM)) {
      Die("cannot load the client certificate or key");
    }
    for (int i = 0; i < f.links; ++i) {
      links_[i].index = i;
    }
  }

  // RunUntilAllUp drives every link until all are up (after `child`, the
  // restart command if any, has ended) or the deadline passes; returns
  // whether all came up, with the time it took in *took. The command runs
  // meanwhile, so links retry while ntlsd is down, as real clients do.
  bool RunUntilAllUp(absl::Time start, pid_t child, absl::Duration* took) {
    const absl::Time deadline = start + absl::Seconds(f_.deadline_s);
    std::vector<epoll_event> events(1024);
    // The ramp-up paces its dials: this one process has to do every client's
    // handshake crypto, which a real fleet spreads over its hosts. The storm
    // after a restart does not: every link redials when its backoff says.
    const int max_dialing = f_.ramp_concurrency;
    if (child > 0) {
      restarted_ = true;
      // Done only when every link has linked again since the restart began:
      // one not yet told of the restart still looks up.
      for (Link& l : links_) {
        l.relink = true;
      }
      relinks_pending_ = f_.links;
    }
    while (up_ < f_.links || child > 0 || relinks_pending_ > 0) {
      const absl::Time now = absl::Now();
      if (now >= deadline) {
        return false;
      }
      int status = 0;
      if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
        child = 0;
        child_done_ = now;
        child_ok_ = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      }
      for (Link& l : links_) {
        if (dialing_ >= max_dialing && child == 0 && restarted_ == false) {
          break;
        }
        if (l.state == Link::State::kWaiting && now >= l.retry_at) {
          Dial(&l);
        }
      }
      const int n =
          epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 5);
      for (int i = 0; i < n; ++i) {
        Link& l = links_[events[i].data.u32];
        Drive(&l, events[i].events);
      }
    }
    *took = absl::Now() - start;
    return true;
  }

  Counts TakeCounts() {
    Counts c = counts_;
    counts_ = Counts();
    return c;
  }
  int up() const { return up_; }
  absl::Time child_done() const { return child_done_; }
  bool child_ok() const { return child_ok_; }

 private:
  static int NewSession(SSL* ssl, SSL_SESSION* session) {
    auto* l = static_cast<Link*>(SSL_get_app_data(ssl));
    l->session.reset(session);
    return 1;
  }

  void Dial(Link* l) {
    l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    // Without it bind() picks the source port before it knows the
    // destination, searching every port in use or in TIME_WAIT: that search
    // was 60% of the driver's CPU in a 5,000-link storm, more than all of its
    // TLS. With it connect() picks the port for the 4-tuple.
    setsockopt(l->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(0x7f000001u + l->index % f_.sources);
    bind(l->fd, reinterpret_cast<sockaddr*>(&local), sizeof(local));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(f_.port));
    addr.sin_addr.s_addr = htonl(0x7f000001u);
    if (connect(l->fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
        errno != EINPROGRESS) {
      Fail(l, errno == ECONNREFUSED ? &counts_.refused_tcp : &counts_.other);
      return;
    }
    l->state = Link::State::kConnecting;
    ++dialing_;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(l->index);
    epoll_ctl(epoll_, EPOLL_CTL_ADD, l->fd, &ev);
    // The ClientHello goes out at once, as a client's does: on loopback the
    // connection is usually up already, and if not the write waits for it.
    Drive(l, 0);
  }

  void Drive(Link* l, uint32_t events) {
    if (l->state == Link::State::kConnecting) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        Fail(l, err == ECONNREFUSED ? &counts_.refused_tcp : &counts_.other);
        return;
      }
      l->ssl.reset(SSL_new(ctx_.get()));
      SSL_set_app_data(l->ssl.get(), l);
      SSL_set_connect_state(l->ssl.get());
      SSL_set_fd(l->ssl.get(), l->fd);
      if (l->session) {
        SSL_set_session(l->ssl.get(), l->session.get());
      }
      l->state = Link::State::kHandshake;
      Interest(l, EPOLLIN);
    }
    if (l->state == Link::State::kHandshake) {
      errno = 0;  // FailSsl reads it: not another link's leftover
      const int r = SSL_do_handshake(l->ssl.get());
      if (r != 1) {
        const int e = SSL_get_error(l->ssl.get(), r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
          Interest(l, e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN);
          return;
        }
        FailSsl(l);
        return;
      }
      trustlink::ntl::wire::Hello h;
      h.software = "storm";
      std::string out;
      trustlink::ntl::wire::AppendFrame(
          trustlink::ntl::wire::FrameType::kHello, 0, 0,
          trustlink::ntl::wire::EncodeHello(h), &out);
      if (SSL_write(l->ssl.get(), out.data(), static_cast<int>(out.size())) <=
          0) {
        FailSsl(l);
        return;
      }
      l->state = Link::State::kWelcome;
      Interest(l, EPOLLIN);
    }
    (void)events;
    ReadFrames(l);
  }

  void ReadFrames(Link* l) {
    char buf[16384];
    for (;;) {
      errno = 0;
      const int n = SSL_read(l->ssl.get(), buf, sizeof(buf));
      if (n <= 0) {
        const int e = SSL_get_error(l->ssl.get(), n);
        if (e == SSL_ERROR_WANT_READ) {
          ERR_clear_error();
          return;
        }
        FailSsl(l);
        return;
      }
      l->in.append(buf, static_cast<size_t>(n));
      for (;;) {
        auto d = trustlink::ntl::wire::DecodeFrame(l->in, 1u << 20);
        if (d.kind != trustlink::ntl::wire::DecodeResult::Kind::kFrame) {
          break;
        }
        const bool welcome =
            d.frame.type == trustlink::ntl::wire::FrameType::kWelcome;
        l->in.erase(0, d.consumed);
        if (welcome && l->state == Link::State::kWelcome) {
          l->state = Link::State::kUp;
          --dialing_;
          l->backoff.OnUp();
          if (l->relink) {
            l->relink = false;
            --relinks_pending_;
          }
          ++up_;
          ++counts_.welcomed;
          if (SSL_session_reused(l->ssl.get())) {
            ++counts_.resumed;
          }
        } else if (!welcome) {
          // goaway (a restart in place) or anything else: the link ends.
          FailSsl(l);
          return;
        }
      }
    }
  }

  void Interest(Link* l, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u32 = static_cast<uint32_t>(l->index);
    epoll_ctl(epoll_, EPOLL_CTL_MOD, l->fd, &ev);
  }

  void FailSsl(Link* l) {
    const uint32_t e = ERR_peek_last_error();
    if (getenv("STORM_DEBUG") != nullptr) {
      char text[256];
      ERR_error_string_n(e, text, sizeof(text));
      std::fprintf(stderr, "link %d: %s (errno %d)\n", l->index, text, errno);
    }
    const bool cap =
        ERR_GET_LIB(e) == ERR_LIB_SSL &&
        ERR_GET_REASON(e) == SSL_AD_REASON_OFFSET + SSL_AD_USER_CANCELLED;
    // The ClientHello is written before the connection is up, so a refused
    // connection usually surfaces here, as the handshake's socket error.
    const bool refused = errno == ECONNREFUSED;
    ERR_clear_error();
    // A link that was up and lost its server is the restart, not a failure.
    Fail(l, l->state == Link::State::kUp ? nullptr
            : cap                        ? &counts_.refused_cap
            : refused                    ? &counts_.refused_tcp
                                         : &counts_.other);
  }

  // Fail closes the link and schedules its reconnect as the trustlink
  // client would; `count` tallies the failure (null: a loss, not a failure).
  void Fail(Link* l, int* count) {
    if (count != nullptr) {
      ++*count;
    }
    if (l->state == Link::State::kUp) {
      --up_;
    } else if (l->state != Link::State::kWaiting) {
      --dialing_;
    }
    l->ssl.reset();
    if (l->fd >= 0) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, l->fd, nullptr);
      close(l->fd);
      l->fd = -1;
    }
    l->in.clear();
    const bool was_up = l->state == Link::State::kUp;
    l->state = Link::State::kWaiting;
    const absl::Time now = absl::Now();
    l->retry_at =
        now + l->backoff.Next(count == &counts_.refused_tcp
                                  ? ntl_client::AttemptFailure::kRefused
                                  : ntl_client::AttemptFailure::kOther,
                              was_up, now, ntl_client::RandomJitter());
  }

  const Flags f_;
  std::vector<Link> links_;
  bssl::UniquePtr<SSL_CTX> ctx_;
  int epoll_ = -1;
  int up_ = 0;
  int dialing_ = 0;  // links between connect and welcome
  bool restarted_ = false;
  int relinks_pending_ = 0;
  Counts counts_;
  absl::Time child_done_;
  bool child_ok_ = false;
};

void Report(const char* phase, int links, absl::Duration took,
            const Counts& c) {
  const double per = links > 0 ? 1.0 / links : 0;
  std::printf(
      "%s: %d links up in %lld ms; resumed %d of %d (%.1f%%); failed "
      "attempts per link: %.2f refused at the cap, %.2f connection refused, "
      "%.2f other\n",
      phase, links, static_cast<long long>(absl::ToInt64Milliseconds(took)),
      c.resumed, c.welcomed, c.welcomed ? 100.0 * c.resumed / c.welcomed : 0.0,
      c.refused_cap * per, c.refused_tcp * per, c.other * per);
  std::fflush(stdout);
}

// CpuMs is this process's user and system CPU time so far, in ms.
std::pair<long long, long long> CpuMs() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ms = [](const timeval& t) {
    return static_cast<long long>(t.tv_sec) * 1000 + t.tv_usec / 1000;
  };
  return {ms(u.ru_utime), ms(u.ru_stime)};
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    bool ok = true;
    if (k == "--port") {
      ok = absl::SimpleAtoi(v, &f.port);
    } else if (k == "--cert") {
      f.cert = v;
    } else if (k == "--key") {
      f.key = v;
    } else if (k == "--links") {
      ok = absl::SimpleAtoi(v, &f.links);
    } else if (k == "--sources") {
      ok = absl::SimpleAtoi(v, &f.sources);
    } else if (k == "--restart") {
      f.restart = v;
    } else if (k == "--ramp-concurrency") {
      ok = absl::SimpleAtoi(v, &f.ramp_concurrency);
    } else if (k == "--deadline-s") {
      ok = absl::SimpleAtoi(v, &f.deadline_s);
    } else {
      Die(absl::StrCat("unknown flag ", k));
    }
    if (!ok) {
      Die(absl::StrCat(k, " takes a number, not '", v, "'"));
    }
  }
  if (f.port <= 0 || f.cert.empty() || f.key.empty() || f.restart.empty() ||
      f.links < 1 || f.links > kMaxLinks || f.sources < 1 ||
      f.ramp_concurrency < 1 || f.sources > kMaxSources) {
    Die(
        absl::StrCat("usage: storm --port P --cert FILE --key FILE --links N "
                     "(1..",
                     kMaxLinks, ") [--sources K (1..", kMaxSources,
                     ")] --restart 'COMMAND' [--deadline-s S]"));
  }
  // A write to a link the server just closed must fail, not end the run.
  signal(SIGPIPE, SIG_IGN);
  Storm storm(f);
  absl::Duration took;
  if (!storm.RunUntilAllUp(absl::Now(), 0, &took)) {
    std::printf("ramp-up: only %d of %d links up within %d s\n", storm.up(),
                f.links, f.deadline_s);
    return 1;
  }
  Report("ramp-up", f.links, took, storm.TakeCounts());
  const auto cpu_before = CpuMs();
  const absl::Time restart = absl::Now();
  pid_t child = 0;
  const char* args[] = {"/bin/sh", "-c", f.restart.c_str(), nullptr};
  if (posix_spawn(&child, "/bin/sh", nullptr, nullptr,
                  const_cast<char* const*>(args), environ) != 0) {
    Die("cannot run the restart command");
  }
  const bool back = storm.RunUntilAllUp(restart, child, &took);
  Counts c = storm.TakeCounts();
  if (!back) {
    std::printf("storm: only %d of %d links back within %d s\n", storm.up(),
                f.links, f.deadline_s);
    return 1;
  }
  if (!storm.child_ok()) {
    Die(absl::StrCat("the restart command failed: ", f.restart));
  }
  Report("storm", f.links, took, c);
  const auto cpu_after = CpuMs();
  std::printf(
      "storm: the driver used %lld ms user, %lld ms system CPU from the "
      "restart until all were back\n",
      cpu_after.first - cpu_before.first, cpu_after.second - cpu_before.second);
  std::printf(
      "storm: ntlsd served again %lld ms after the restart began; all links "
      "back %lld ms after that\n",
      static_cast<long long>(
          absl::ToInt64Milliseconds(storm.child_done() - restart)),
      static_cast<long long>(
          absl::ToInt64Milliseconds(restart + took - storm.child_done())));
  return 0;
}
