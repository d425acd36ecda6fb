// Client's life and its I/O loop: creation from settings, the epoll set
// with its wake, timer, DNS and link sockets, one pass of the loop, the
// timer's re-arming, and teardown. Together because they share the loop's
// tags. The rest lives beside it: link events and the first attempts
// (client_links.cc), slot numbering (client_slots.cc), calls
// (client_calls.cc), streams (client_streams.cc), HA groups (client_ha.cc)
// and counters (client_stats.cc).

#include "ntl/client/client.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ntl/client/tls_context.h"
#include "ntl/internal/busy_poll.h"
#include "ntl/status.h"
#include "ntl/tls/policy.h"

namespace trustlink::ntl::client {

namespace {

constexpr uint64_t kWakeTag = 0;
constexpr uint64_t kTimerTag = 1;
// c-ares sockets are tagged with this bit and their descriptor; connections
// use 2 + their index.
constexpr uint64_t kDnsTagBit = uint64_t{1} << 32;
constexpr int kMaxEvents = 32;

absl::Status ConfigError(absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, TL_E_CONFIG_INVALID,
               message);
}

}  // namespace

Client::Client(ClientSettings settings) : settings_(std::move(settings)) {}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(
    ClientSettings settings) {
  if (settings.servers.empty()) {
    return ConfigError(
        "no servers are configured; add one with "
        "tl_client_settings_add_server, or load a client root that has one "
        "(tl_client_settings_load_root)");
  }
  for (const ServerSettings& s : settings.servers) {
    if (s.name.empty() || s.port == 0) {
      return ConfigError("a configured server has no name or no port");
    }
  }
  if (absl::Status st = HaGroups::Validate(settings); !st.ok()) {
    return st;
  }
  if (absl::Status st = internal::CheckBusyPollBudget(
          settings.busy_poll_us, "the client's busy-poll budget");
      !st.ok()) {
    return ConfigError(st.message());
  }
  std::unique_ptr<Client> c(new Client(std::move(settings)));
  absl::Status st = c->Init();
  if (!st.ok()) {
    return st;
  }
  if (c->settings_.use_io_thread) {
    st = c->WaitReady(absl::Now() + c->settings_.initial_wait);
    (void)st;  // servers still connecting keep going; slots appear as they
               // connect
  }
  return c;
}

absl::Status Client::Init() {
  absl::StatusOr<bssl::UniquePtr<SSL_CTX>> ctx =
      MakeClientContext(settings_, tls::kAlpnNtl);
  if (!ctx.ok()) {
    return ctx.status();
  }
  ctx_ = std::move(*ctx);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || timer_fd_ < 0) {
    return Error(absl::StatusCode::kResourceExhausted, TL_E_IO,
                 absl::StrCat("cannot create the client's event loop: ",
                              strerror(errno)));
  }
  doorbell_ = std::make_shared<Doorbell>(wake_fd_);
  internal::DnsOptions dns_options;
  dns_options.servers = settings_.dns_servers;
  absl::StatusOr<std::unique_ptr<internal::DnsChannel>> dns =
      internal::DnsChannel::Create(
          dns_options, [this](int fd, bool readable, bool writable) {
            WatchDnsSocket(fd, readable, writable);
          });
  if (!dns.ok()) {
    return Error(absl::StatusCode::kResourceExhausted, TL_E_IO,
                 dns.status().message());
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  ev.data.u64 = kTimerTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev);
  {
    internal::MutexLock lock(&mu_);
    dns_ = *std::move(dns);
    if (!settings_.ha_groups.empty()) {
      ha_ = std::make_unique<HaGroups>(settings_);
    }
    for (size_t i = 0; i < settings_.servers.size(); ++i) {
      conns_.push_back(std::make_unique<Connection>(
          i, settings_.servers[i], settings_, ctx_.get(), epoll_fd_, doorbell_,
          dns_.get(), &workers_, &dial_gate_,
          static_cast<ConnectionListener*>(this)));
      welcomed_.push_back(false);
      up_.push_back(false);
      if (conns_.back()->state() != LinkState::kNotTrusted) {
        ++unsettled_;
      }
    }
    initial_deadline_ = absl::Now() + settings_.initial_wait;
    if (unsettled_ == 0) {
      FinishInitialLocked();
    }
    RearmTimerLocked();
  }
  Wake();  // the first Process() starts the connections
  if (settings_.use_io_thread) {
    io_thread_ = std::thread([this]() { Loop(); });
  }
  return absl::OkStatus();
}

Client::~Client() {
  stop_.store(true);
  Wake();
  if (io_thread_.joinable()) {
    io_thread_.join();
  }
  Completions done;
  {
    internal::MutexLock lock(&mu_);
    const absl::Status closing = Error(absl::StatusCode::kCancelled,
                                       TL_E_CANCELLED, "the client is closing");
    for (auto& c : conns_) {
      c->Shutdown(closing, &done);
    }
  }
  done.RunAll();
  {
    internal::MutexLock lock(&mu_);
    conns_.clear();
    // Cancels every lookup still running, at once (getaddrinfo could not be):
    // closing never waits for DNS.
    dns_.reset();
  }
  // No thread of ours outlives the Client: proof requests are cancelled.
  workers_.StopAll();
  if (doorbell_ != nullptr) {
    // A name lookup still running must not ring a closed (or reused) fd.
    doorbell_->Disconnect();
  }
  for (int fd : {epoll_fd_, wake_fd_, timer_fd_}) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

void Client::Wake() {
  if (doorbell_ != nullptr) {
    doorbell_->Ring();
  }
}

void Client::WatchDnsSocket(int fd, bool readable, bool writable) {
  if (!readable && !writable) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    return;
  }
  epoll_event ev{};
  ev.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  ev.data.u64 = kDnsTagBit | static_cast<uint32_t>(fd);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void Client::Loop() {
  while (!stop_.load()) {
    internal::MutexLock lock(&process_mu_);
    ProcessLocked(absl::InfiniteDuration());
  }
}

void Client::RunCompletions(Completions* done) {
  Doorbell::DeferScope defer(doorbell_.get());
  for (;;) {
    done->RunAll();
    // A callback that made a call rang for the loop, which is this thread:
    // its frames (and those of every callback after it) go out now, in one
    // write, instead of after an eventfd round trip through epoll.
    if (!defer.rang() || stop_.load()) {
      return;
    }
    internal::MutexLock lock(&mu_);
    for (auto& c : conns_) {
      c->FlushQueued(done);
    }
    RearmTimerLocked();
  }
}

absl::Status Client::Process(absl::Duration timeout) {
  internal::MutexLock lock(&process_mu_);
  ProcessLocked(timeout);
  return absl::OkStatus();
}

void Client::ProcessLocked(absl::Duration timeout) {
  epoll_event events[kMaxEvents];
  int ms = -1;
  if (timeout != absl::InfiniteDuration()) {
    ms = static_cast<int>(
        std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  }
  const int n = epoll_wait(epoll_fd_, events, kMaxEvents, ms);
  // Reused from pass to pass (process_mu_ is held): no allocation per pass.
  Completions& done = pass_done_;
  {
    internal::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) {
        uint64_t v;
        ssize_t r = read(wake_fd_, &v, sizeof(v));
        (void)r;
      } else if (tag == kTimerTag) {
        uint64_t v;
        ssize_t r = read(timer_fd_, &v, sizeof(v));
        (void)r;
        timer_armed_for_ = absl::InfiniteFuture();
      } else if ((tag & kDnsTagBit) != 0) {
        const uint32_t ev = events[i].events;
        dns_->Process(static_cast<int>(tag & 0xffffffffu),
                      (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0,
                      (ev & EPOLLOUT) != 0);
      } else if (tag - 2 < conns_.size()) {
        conns_[tag - 2]->OnEvent(events[i].events, now, &done);
      }
    }
    // Lookups whose try timed out are retried or failed (cheap when none is).
    dns_->ProcessTimeouts();
    if (!stop_.load()) {
      for (auto& c : conns_) {
        c->OnTimer(now, &done);
        // Calls appended since the last write leave together, in one record.
        c->FlushQueued(&done);
      }
    }
    NumberWelcomedLocked();
    if (!initial_done_ && now >= initial_deadline_) {
      FinishInitialLocked();
    }
    if (ha_ != nullptr && initial_done_ && now >= ha_->NextProbe()) {
      RefreshHaLocked(now);
    }
    RearmTimerLocked();
  }
  RunCompletions(&done);
  DeliverLinkEvents();
}

void Client::RearmTimerLocked() {
  absl::Time next = absl::InfiniteFuture();
  for (auto& c : conns_) {
    next = std::min(next, c->NextWakeup());
  }
  if (!initial_done_) {
    next = std::min(next, initial_deadline_);
  }
  next = std::min(next, dns_->NextDeadline());
  if (ha_ != nullptr && initial_done_) {
    next = std::min(next, ha_->NextProbe());
  }
  // Only an earlier deadline re-arms. Every answer moves the heartbeat
  // deadline later, and re-arming for that cost a timerfd_settime per call; a
  // timer left armed for an earlier time fires once, finds nothing due, and
  // is armed afresh then (timer_armed_for_ is reset when it fires).
  if (next >= timer_armed_for_) {
    return;
  }
  itimerspec spec{};
  if (next != absl::InfiniteFuture()) {
    // timerfd needs a non-zero value to arm; 1 ns means "now".
    const absl::Duration d = std::max(next - absl::Now(), absl::Nanoseconds(1));
    spec.it_value = absl::ToTimespec(d);
  }
  timerfd_settime(timer_fd_, 0, &spec, nullptr);
  ++timer_arms_;
  timer_armed_for_ = next;
}

uint64_t Client::TimerArms() {
  internal::MutexLock lock(&mu_);
  return timer_arms_;
}

}  // namespace trustlink::ntl::client
