// The event loop's own machinery (docs/server.md, "Engine"): setting up
// its epoll set, eventfd mailbox and tick timerfd, and the thread that waits on
// them and hands each readiness to the accept path, a connection, the mailbox's
// tasks or the tick. What happens to a connection lives in the files beside
// this one (docs/server.md's file table).

#include "ntl/server/event_loop.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/server/conn.h"
#include "ntl/server/resource_error.h"

namespace trustlink::ntl::server::internal_engine {

namespace {

constexpr size_t kScratchSize =
    256 * 1024;  // one large recv per readiness event

// The loop running on this thread, so a Responder can tell whether it may
// answer directly (no mailbox round trip) without touching a loop that may be
// gone.
thread_local Loop* t_current_loop = nullptr;

}  // namespace

Loop* LoopOf(const Conn* c) { return c->loop; }
bool IsCurrentLoop(const Loop* loop) { return t_current_loop == loop; }

bool Mailbox::Post(std::function<void()> task) {
  internal::MutexLock lock(&mu_);
  if (!open_) {
    return false;
  }
  tasks_.push_back(std::move(task));
  const uint64_t one = 1;
  ssize_t ignored = write(event_fd_, &one, sizeof(one));
  (void)ignored;
  return true;
}

std::vector<std::function<void()>> Mailbox::Take() {
  internal::MutexLock lock(&mu_);
  std::vector<std::function<void()>> out;
  out.swap(tasks_);
  return out;
}

void Mailbox::Close() {
  internal::MutexLock lock(&mu_);
  open_ = false;
}

Loop::Loop(Server* server, int index)
    : server_(server),
      index_(index),
      busy_poll_(server->options_.busy_poll_us) {}

Loop::~Loop() {
  if (epoll_fd_ >= 0) {
    close(epoll_fd_);
  }
  if (event_fd_ >= 0) {
    close(event_fd_);
  }
  if (tick_fd_ >= 0) {
    close(tick_fd_);
  }
}

absl::Status Loop::Init(int listen_fd) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || event_fd_ < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create event loop: ", strerror(errno)));
  }
  mailbox_ = std::make_shared<Mailbox>(event_fd_);
  listen_fd_ = listen_fd;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kEventTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev);
  if (absl::Status st = ArmTick(); !st.ok()) {
    return st;
  }
  // EPOLLEXCLUSIVE: one loop wakes per new connection, not all of them.
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = kListenTag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot watch the listener: ", strerror(errno)));
  }
  listening_ = true;
  scratch_.resize(kScratchSize);
  directory_generation_ = server_->directory_->generation();
  snapshot_ = server_->directory_->Snapshot();
  revalidated_generation_ = directory_generation_;
  tls_generation_ = server_->RefreshTls();
  return absl::OkStatus();
}

absl::Status Loop::ArmTick() {
  // At least 1 ms, as the timed wait it replaces was.
  const int64_t ns = std::max<int64_t>(
      absl::ToInt64Nanoseconds(server_->options_.tick), 1000000);
  itimerspec period{};
  period.it_interval.tv_sec = ns / 1000000000;
  period.it_interval.tv_nsec = ns % 1000000000;
  period.it_value = period.it_interval;
  const char* step = "creating the timerfd";
  tick_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tick_fd_ >= 0) {
    step = "starting it";
    if (timerfd_settime(tick_fd_, 0, &period, nullptr) == 0) {
      step = "adding it to the epoll set";
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kTickTag;
      if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, tick_fd_, &ev) == 0) {
        return absl::OkStatus();
      }
    }
  }
  const int error = errno;
  return absl::InternalError(absl::StrCat(
      "cannot arm the event loop's tick timer: ", step, " failed: ",
      ResourceErrorCause(error, server_->limits_.descriptor_limit)));
}

void Loop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Loop::Join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Loop::Wake() {
  const uint64_t one = 1;
  ssize_t ignored = write(event_fd_, &one, sizeof(one));
  (void)ignored;
}

Conn* Loop::Find(uint64_t id) {
  auto it = conns_.find(id);
  return it == conns_.end() || it->second->dead ? nullptr : it->second.get();
}

void Loop::Run() {
  t_current_loop = this;
  const std::string name = absl::StrCat("ntls-loop-", index_);
  pthread_setname_np(pthread_self(), name.c_str());
  tick_time_ = absl::Now();
  tick_steady_ = wake_ = std::chrono::steady_clock::now();
  epoll_event events[128];
  // Whether the last wake-up served a connection: only then may the next wait
  // spin first (busy_poll_), so an idle loop never does.
  bool had_traffic = false;
  while (true) {
    bool tick_due = false;
    int n = 0;
    // No timeout: tick_fd_ wakes the loop for Tick (ArmTick says why).
    const auto sleep = [&]() { n = epoll_wait(epoll_fd_, events, 128, -1); };
    if (had_traffic) {
      busy_poll_.Wait(
          [&]() {
            n = epoll_wait(epoll_fd_, events, 128, 0);
            return n != 0;
          },
          sleep);
    } else {
      sleep();
    }
    had_traffic = false;
    wake_ = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        Accept();
      } else if (tag == kEventTag || tag == kTickTag) {
        uint64_t v;
        ssize_t ignored =
            read(tag == kEventTag ? event_fd_ : tick_fd_, &v, sizeof(v));
        (void)ignored;
        tick_due = tick_due || tag == kTickTag;
      } else if (Conn* c = Find(tag)) {
        OnEvent(c, events[i].events);
        had_traffic = true;
      }
      Reap();
    }
    // Answers that other threads handed over since the last wake-up leave
    // together: one flush (one SSL_write, one send) per connection, not one
    // per answer.
    flushing_later_ = true;
    for (auto& task : mailbox_->Take()) {
      task();
      Reap();
      had_traffic = true;  // an answer or stream data handed over
    }
    flushing_later_ = false;
    for (uint64_t id : flush_later_) {
      if (Conn* c = Find(id)) {
        c->flush_queued = false;
        Flush(c);
      }
    }
    flush_later_.clear();
    Reap();
    CountInlineAnswers();
    if (tick_due || server_->draining_.load()) {
      const absl::Time now = absl::Now();
      tick_time_ = now;
      tick_steady_ = wake_ = std::chrono::steady_clock::now();
      Tick(now);
      Reap();
    }
    if (drain_started_ && conns_.empty()) {
      break;
    }
  }
  t_current_loop = nullptr;
  mailbox_->Close();
  // Tasks posted before the close still hold borrowed pointers into this loop;
  // drop them.
  mailbox_->Take();
}

}  // namespace trustlink::ntl::server::internal_engine
