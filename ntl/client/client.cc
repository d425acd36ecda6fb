#include "ntl/client/client.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ntl/client/fresh_status.h"
#include "ntl/client/pin.h"
#include "ntl/client/slot_numbers.h"
#include "ntl/client/tls_context.h"
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

const char* SlotStateName(SlotState state) {
  switch (state) {
    case SlotState::kReady:
      return "ready";
    case SlotState::kServerDown:
      return "server-down";
    case SlotState::kRemoved:
      return "removed";
  }
  return "unknown";
}

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

void Client::PushLinkEventLocked(LinkEvent::Kind kind, size_t server,
                                 absl::Status status) {
  LinkEvent event;
  event.kind = kind;
  event.server = server;
  event.status = std::move(status);
  QueueLinkEventLocked(std::move(event));
}

void Client::QueueLinkEventLocked(LinkEvent event) {
  if (!settings_.on_link_event) {
    return;
  }
  link_events_.push_back(std::move(event));
  // A change found outside Process() (a failed write on a caller's thread) is
  // delivered by the next one: make it come soon.
  Wake();
}

void Client::DeliverLinkEvents() {
  std::vector<LinkEvent> events;
  {
    internal::MutexLock lock(&mu_);
    events.swap(link_events_);
  }
  for (const LinkEvent& e : events) {
    settings_.on_link_event(e);
  }
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

absl::Status Client::WaitReady(absl::Time deadline) {
  for (;;) {
    {
      internal::MutexLock lock(&mu_);
      if (initial_done_) {
        return absl::OkStatus();
      }
      if (absl::Now() >= deadline) {
        FinishInitialLocked();
        return Error(absl::StatusCode::kDeadlineExceeded,
                     TL_E_DEADLINE_EXCEEDED,
                     "not every server answered before the deadline");
      }
      if (settings_.use_io_thread) {
        settled_cv_.WaitWithDeadline(&mu_, deadline);
        continue;
      }
    }
    if (process_mu_.TryLock()) {
      ProcessLocked(std::min(deadline - absl::Now(), absl::Milliseconds(50)));
      process_mu_.Unlock();
    } else {
      internal::MutexLock lock(&mu_);
      settled_cv_.WaitWithDeadline(
          &mu_, std::min(deadline, absl::Now() + absl::Milliseconds(5)));
    }
  }
}

void Client::FinishInitialLocked() {
  if (initial_done_) {
    return;
  }
  initial_done_ = true;
  to_number_.clear();  // numbered here with the rest
  std::vector<size_t> welcomed;
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (welcomed_[i]) {
      welcomed.push_back(i);
    }
  }
  AssignSlotsLocked(welcomed);
  NumberHaSlotsLocked();
  RefreshHaLocked(absl::Now());
  settled_cv_.SignalAll();
}

void Client::AssignSlotsLocked(const std::vector<size_t>& servers) {
  if (servers.empty()) {
    return;
  }
  std::vector<bool> in_batch(conns_.size(), false);
  for (size_t server : servers) {
    in_batch[server] = true;
  }
  for (auto& [id, e] : slots_) {
    if (in_batch[e.server]) {
      e.listed = false;
    }
  }
  std::vector<ServerPartitions> listed;
  std::set<int> taken;
  for (size_t server : servers) {
    std::vector<std::string> partitions;
    for (const wire::SlotInfo& info : conns_[server]->slots()) {
      partitions.push_back(info.partition);
    }
    listed.emplace_back(conns_[server]->server().name, std::move(partitions));
  }
  for (const auto& [id, e] : slots_) {
    if (!in_batch[e.server]) taken.insert(id);
  }
  if (ha_ != nullptr) {
    for (size_t g = 0; g < ha_->size(); ++g) {
      if (ha_->slot(g) >= 0) taken.insert(ha_->slot(g));
    }
  }
  // The numbers other processes gave these partitions, so that a slot number
  // means the same partition in every process (slot_numbers.h). Without a
  // client root, numbers are given in memory: stable for this process only.
  absl::StatusOr<std::map<SlotKey, int>> stored =
      settings_.slot_numbers_dir.empty()
          ? absl::StatusOr<std::map<SlotKey, int>>(
                absl::UnavailableError("no client root"))
          : NumberServersSlots(settings_.slot_numbers_dir, listed, taken);
  // In-memory numbers are searched from where the last search ended: they
  // only grow within a batch.
  int next_free = 0;
  for (size_t b = 0; b < servers.size(); ++b) {
    const size_t server = servers[b];
    const std::string srv = absl::AsciiStrToLower(listed[b].first);
    for (const wire::SlotInfo& info : conns_[server]->slots()) {
      auto key = std::make_pair(server, info.partition);
      auto it = slot_index_.find(key);
      if (it != slot_index_.end()) {
        slots_[it->second].info = info;
        slots_[it->second].listed = true;
        continue;
      }
      auto s = stored.ok() ? stored->find({srv, info.partition})
                           : std::map<SlotKey, int>::const_iterator();
      int id = -1;
      if (stored.ok() && s != stored->end() && slots_.count(s->second) == 0 &&
          !IsHaSlotLocked(s->second)) {
        id = s->second;
      } else {
        while (slots_.count(next_free) != 0 || IsHaSlotLocked(next_free) ||
               (stored.ok() && taken.count(next_free) != 0)) {
          ++next_free;
        }
        id = next_free;
      }
      slot_index_.emplace(key, id);
      slots_.emplace(id, SlotEntry{server, info, true});
    }
  }
}

void Client::NumberWelcomedLocked() {
  if (to_number_.empty()) {
    return;
  }
  std::vector<size_t> servers;
  servers.swap(to_number_);
  std::sort(servers.begin(), servers.end());
  servers.erase(std::unique(servers.begin(), servers.end()), servers.end());
  AssignSlotsLocked(servers);
  if (initial_done_) {
    RefreshHaLocked(absl::Now());
  }
}

void Client::OnWelcome(size_t server, const wire::Welcome&) {
  mu_.AssertHeld();
  welcomed_[server] = true;
  if (initial_done_) {
    to_number_.push_back(server);  // NumberWelcomedLocked, before unlocking
  }
  if (!up_[server]) {
    up_[server] = true;
    stats_.LinkUp();
    PushLinkEventLocked(LinkEvent::Kind::kUp, server, absl::OkStatus());
  } else {
    PushLinkEventLocked(LinkEvent::Kind::kSlotsChanged, server,
                        absl::OkStatus());
  }
  // The HA groups are refreshed once the slots are numbered
  // (NumberWelcomedLocked).
}

void Client::OnLinkDown(size_t server) {
  mu_.AssertHeld();
  up_[server] = false;
  stats_.LinkDown();
  PushLinkEventLocked(LinkEvent::Kind::kDown, server,
                      conns_[server]->last_error());
  if (initial_done_) {
    RefreshHaLocked(absl::Now());
  }
}

void Client::OnFirstAttemptSettled(size_t) {
  mu_.AssertHeld();
  if (unsettled_ > 0 && --unsettled_ == 0) {
    FinishInitialLocked();
  }
}

std::vector<Slot> Client::Slots() {
  internal::MutexLock lock(&mu_);
  std::vector<Slot> out;
  out.reserve(slots_.size());
  for (const auto& [id, e] : slots_) {
    if (ha_ != nullptr && ha_->ha_only() &&
        !HaMemberRefusalLocked(id, e).ok()) {
      continue;  // HAOnly: only the group's slot is shown
    }
    Slot s;
    s.id = id;
    s.server = conns_[e.server]->server().name;
    s.partition = e.info.partition;
    s.label = e.info.label;
    s.serial = e.info.serial;
    if (!e.listed) {
      s.state = SlotState::kRemoved;
    } else if (conns_[e.server]->state() == LinkState::kReady) {
      s.state = SlotState::kReady;
    } else {
      s.state = SlotState::kServerDown;
    }
    out.push_back(std::move(s));
  }
  AppendHaSlotsLocked(&out);
  return out;
}

std::vector<ServerStatus> Client::Servers() {
  internal::MutexLock lock(&mu_);
  std::vector<ServerStatus> out;
  for (size_t i = 0; i < conns_.size(); ++i) {
    const Connection& c = *conns_[i];
    ServerStatus s;
    s.name = c.server().name;
    s.host = c.server().host;
    s.port = c.server().port;
    s.state = c.state();
    s.last_error = FreshStatus(c.last_error());
    s.welcomed = welcomed_[i];
    s.resumed = c.resumed();
    s.connects = c.connects();
    s.retry_at = c.retry_at();
    s.tls_writes = c.tls_writes();
    s.socket_reads = c.socket_reads();
    s.caller_reads = c.caller_reads();
    s.epoll_changes = c.epoll_changes();
    s.client_label = c.client_label();
    s.slots = c.slots();
    out.push_back(std::move(s));
  }
  return out;
}

uint64_t Client::TimerArms() {
  internal::MutexLock lock(&mu_);
  return timer_arms_;
}

absl::StatusOr<Connection*> Client::ConnectionForSlotLocked(
    int slot, std::string* partition) {
  auto found = slots_.find(slot);
  if (found == slots_.end() && IsHaSlotLocked(slot)) {
    return Error(
        absl::StatusCode::kUnimplemented, TL_E_UNIMPLEMENTED,
        absl::StrCat(
            "slot ", slot, " is HA group '",
            ha_->label(ha_->GroupForSlot(slot)),
            "', which takes calls only; open byte streams on a "
            "member's slot (PKCS#11 goes through the group's bridge)"));
  }
  if (found == slots_.end()) {
    return Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat("slot ", slot, " does not exist (this client has ",
                     slots_.size(),
                     " slots); take a slot id from tl_client_slots"));
  }
  const SlotEntry& e = found->second;
  if (absl::Status refused = HaMemberRefusalLocked(slot, e); !refused.ok()) {
    return refused;
  }
  if (!e.listed) {
    return Error(
        absl::StatusCode::kPermissionDenied, TL_E_PARTITION_NOT_ASSIGNED,
        absl::StrCat("partition '", e.info.partition, "' (slot ", slot,
                     ") is no longer assigned to this client on server '",
                     conns_[e.server]->server().name, "'"));
  }
  *partition = e.info.partition;
  return conns_[e.server].get();
}

absl::Status Client::StartCallLocked(
    int slot, uint32_t op, absl::string_view data, absl::Time deadline,
    CallCallback cb, size_t* server, uint32_t* id, uint64_t* token,
    std::shared_ptr<HaCall>* ha_call, Completions* done, ReaderWait* reader) {
  cb = stats_.Wrap(std::move(cb));
  if (ha_ != nullptr && ha_->GroupForSlot(slot) >= 0) {
    absl::Status st =
        StartHaCallLocked(static_cast<size_t>(ha_->GroupForSlot(slot)), op,
                          data, deadline, std::move(cb), ha_call, done);
    if ((st.ok() && deadline < timer_armed_for_) || !done->empty()) {
      RearmTimerLocked();
    }
    return st;
  }
  std::string partition;
  absl::StatusOr<Connection*> conn = ConnectionForSlotLocked(slot, &partition);
  if (!conn.ok()) {
    return conn.status();
  }
  *server = slots_.at(slot).server;
  absl::Status st = (*conn)->StartCall(partition, op, data, deadline,
                                       std::move(cb), id, token, done, reader);
  if ((st.ok() && deadline < timer_armed_for_) || !done->empty()) {
    RearmTimerLocked();
  }
  return st;
}

absl::Status Client::CallAsync(int slot, uint32_t op, absl::string_view data,
                               absl::Time deadline, CallCallback cb) {
  Completions done;
  absl::Status st;
  {
    internal::MutexLock lock(&mu_);
    size_t server;
    uint32_t id;
    uint64_t token;
    std::shared_ptr<HaCall> ha_call;
    st = StartCallLocked(slot, op, data, deadline, std::move(cb), &server, &id,
                         &token, &ha_call, &done);
  }
  done.RunAll();
  return st;
}

absl::Status Client::CallAsyncRaw(int slot, uint32_t op, absl::string_view data,
                                  absl::Time deadline,
                                  const RawCallCallback& cb) {
  Completions done;
  absl::Status st;
  bool group_slot = false;
  {
    // One lock per call: the group check and the call share it.
    internal::MutexLock lock(&mu_);
    group_slot = IsHaSlotLocked(slot);
    if (!group_slot) {
      std::string partition;
      absl::StatusOr<Connection*> conn =
          ConnectionForSlotLocked(slot, &partition);
      st = conn.status();
      if (st.ok()) {
        st = (*conn)->StartRawCall(partition, op, data, deadline, cb, &stats_,
                                   &done);
        if ((st.ok() && deadline < timer_armed_for_) || !done.empty()) {
          RearmTimerLocked();
        }
      }
    }
  }
  if (group_slot) {
    // A group's call keeps its closure: the HA call retries it member by
    // member (client_ha.cc), which the raw path's one pending entry cannot.
    return CallAsync(
        slot, op, data, deadline, [cb](absl::StatusOr<std::string> r) {
          if (r.ok()) {
            cb.fn(cb.arg, TL_OK, reinterpret_cast<const uint8_t*>(r->data()),
                  r->size());
          } else {
            cb.fn(cb.arg, ToTlStatus(r.status()),
                  reinterpret_cast<const uint8_t*>(r.status().message().data()),
                  r.status().message().size());
          }
        });
  }
  if (!st.ok()) {
    // Counted as a failed call, as a wrapped callback dropped unrun is.
    stats_.CallEnd(stats_.CallStart(), false);
  }
  done.RunAll();
  return st;
}

absl::StatusOr<std::string> Client::Call(int slot, uint32_t op,
                                         absl::string_view data,
                                         absl::Time deadline) {
  auto waiter = std::make_shared<Waiter>();
  size_t server = 0;
  uint32_t id = 0;
  uint64_t token = 0;
  std::shared_ptr<HaCall> ha_call;
  Completions done;
  ReaderWait wait;
  {
    internal::MutexLock lock(&mu_);
    absl::Status st = StartCallLocked(
        slot, op, data, deadline,
        [waiter](absl::StatusOr<std::string> r) {
          internal::MutexLock l(&waiter->mu);
          waiter->result = std::move(r);
          waiter->done = true;
          waiter->cv.SignalAll();
        },
        &server, &id, &token, &ha_call, &done,
        // Alone on an idle link, this thread reads its own answer instead of
        // having the I/O thread read it and wake it. Without an I/O thread it
        // drives the whole loop below anyway.
        settings_.use_io_thread ? &wait : nullptr);
    if (!st.ok()) {
      return st;
    }
  }
  done.RunAll();
  if (wait.socket >= 0) {
    ReadOwnAnswer(server, id, token, wait, deadline);
  }
  waiter->mu.Lock();
  for (;;) {
    if (settings_.use_io_thread) {
      waiter->cv.WaitUntil(&waiter->mu, deadline, [&]() {
        waiter->mu.AssertHeld();
        return waiter->done;
      });
    }
    if (waiter->done) {
      absl::StatusOr<std::string> result = std::move(waiter->result);
      waiter->mu.Unlock();
      return result;
    }
    if (absl::Now() >= deadline) {
      break;
    }
    if (!settings_.use_io_thread) {
      // Without an I/O thread this caller drives the loop, unless another
      // thread is already doing so; then it sleeps briefly on its own result.
      waiter->mu.Unlock();
      bool processed = false;
      if (process_mu_.TryLock()) {
        ProcessLocked(std::min(deadline - absl::Now(), absl::Milliseconds(50)));
        process_mu_.Unlock();
        processed = true;
      }
      waiter->mu.Lock();
      if (!processed && !waiter->done) {
        waiter->cv.WaitWithDeadline(
            &waiter->mu,
            std::min(deadline, absl::Now() + absl::Milliseconds(5)));
      }
    }
  }
  waiter->mu.Unlock();
  {
    internal::MutexLock lock(&mu_);
    if (ha_call != nullptr) {
      CancelHaCallLocked(ha_call.get());
    } else {
      conns_[server]->CancelCall(id, token);
    }
  }
  return Error(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
               absl::StrCat("call on slot ", slot,
                            " got no response before its deadline"));
}

void Client::ReadOwnAnswer(size_t server, uint32_t id, uint64_t token,
                           ReaderWait wait, absl::Time deadline) {
  pollfd fds[2] = {{wait.socket, POLLIN, 0}, {wait.kick, POLLIN, 0}};
  for (;;) {
    // No timeout: the call's deadline is in the loop's timer already, and the
    // loop expiring it takes the role back and kicks this wait. A timed sleep
    // arms a kernel timer per round trip, and in a VM reprogramming the timer
    // device can cost an exit to the hypervisor.
    const int n = ppoll(fds, 2, nullptr, nullptr);
    const bool poll_failed = n < 0 && errno != EINTR;
    const bool readable = n > 0 && fds[0].revents != 0;
    Completions done;
    bool still_reading;
    {
      internal::MutexLock lock(&mu_);
      const absl::Time now = absl::Now();
      Connection* conn = conns_[server].get();
      still_reading = conn->ReadForCaller(id, token, readable, now, &done);
      NumberWelcomedLocked();  // a slots-changed frame read here
      if (still_reading && (now >= deadline || poll_failed)) {
        // The wait below reports the deadline and cancels the call.
        conn->GiveBackReading(token);
        still_reading = false;
      }
      // A failed link is due for a reconnect, on the loop's timer.
      RearmTimerLocked();
    }
    done.RunAll();
    if (!still_reading) {
      return;
    }
  }
}

absl::StatusOr<uint64_t> Client::StreamOpen(int slot, absl::string_view service,
                                            StreamCallbacks callbacks) {
  Completions done;
  absl::StatusOr<uint64_t> out;
  {
    internal::MutexLock lock(&mu_);
    std::string partition;
    absl::StatusOr<Connection*> conn =
        ConnectionForSlotLocked(slot, &partition);
    if (!conn.ok()) {
      return conn.status();
    }
    absl::StatusOr<uint32_t> id =
        (*conn)->OpenStream(partition, service, std::move(callbacks), &done);
    if (!id.ok()) {
      out = id.status();
    } else {
      out = (static_cast<uint64_t>(slots_.at(slot).server) << 32) | *id;
    }
  }
  done.RunAll();
  return out;
}

absl::StatusOr<uint64_t> Client::ServerStreamOpen(size_t server,
                                                  absl::string_view service,
                                                  StreamCallbacks callbacks) {
  Completions done;
  absl::StatusOr<uint64_t> out;
  {
    internal::MutexLock lock(&mu_);
    if (server >= conns_.size()) {
      return Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat("no server number ", server, "; this client has ",
                       conns_.size(), " servers configured"));
    }
    // An empty partition asks the server for a client-wide stream.
    absl::StatusOr<uint32_t> id =
        conns_[server]->OpenStream("", service, std::move(callbacks), &done);
    if (!id.ok()) {
      out = id.status();
    } else {
      out = (static_cast<uint64_t>(server) << 32) | *id;
    }
  }
  done.RunAll();
  return out;
}

absl::Status Client::StreamSend(uint64_t stream, absl::string_view data) {
  Completions done;
  absl::Status st;
  {
    internal::MutexLock lock(&mu_);
    const size_t server = static_cast<size_t>(stream >> 32);
    if (server >= conns_.size()) {
      return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                   "no such stream");
    }
    st = conns_[server]->StreamSend(static_cast<uint32_t>(stream), data, &done);
  }
  done.RunAll();
  return st;
}

absl::Status Client::StreamClose(uint64_t stream) {
  Completions done;
  absl::Status st;
  {
    internal::MutexLock lock(&mu_);
    const size_t server = static_cast<size_t>(stream >> 32);
    if (server >= conns_.size()) {
      return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                   "no such stream");
    }
    st = conns_[server]->StreamClose(static_cast<uint32_t>(stream), &done);
  }
  done.RunAll();
  return st;
}

}  // namespace trustlink::ntl::client
