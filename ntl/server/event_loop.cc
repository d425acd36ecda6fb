#include "ntl/server/event_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/server/conn.h"
#include "ntl/server/link_settings.h"
#include "ntl/status.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server::internal_engine {
namespace {

constexpr size_t kScratchSize =
    256 * 1024;  // one large recv per readiness event
constexpr size_t kReadChunk = 64 * 1024;

// The loop running on this thread, so a Responder can tell whether it may
// answer directly (no mailbox round trip) without touching a loop that may be
// gone.
thread_local Loop* t_current_loop = nullptr;

int SslIndex() {
  static const int index =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::string SslErrorText() {
  const uint32_t e = ERR_peek_last_error();
  std::string text = e == 0 ? "connection closed" : ERR_reason_error_string(e);
  ERR_clear_error();
  return text;
}

}  // namespace

namespace {

// The socket BIO reads ciphertext from the connection's application-owned
// buffer and writes with send(MSG_NOSIGNAL), so a dead peer is an error, not
// SIGPIPE.
int BioRead(BIO* bio, char* out, int len) {
  Conn* c = static_cast<Conn*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (c->src_len == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const size_t n = std::min(c->src_len, static_cast<size_t>(len));
  std::memcpy(out, c->src, n);
  c->src += n;
  c->src_len -= n;
  return static_cast<int>(n);
}

int BioWrite(BIO* bio, const char* in, int len) {
  Conn* c = static_cast<Conn*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t n = send(c->fd, in, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      BIO_set_retry_write(bio);
    }
    return -1;
  }
  c->stats->bytes_out.Add(static_cast<uint64_t>(n));
  return static_cast<int>(n);
}

long BioCtrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

const BIO_METHOD* ConnBioMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "ntls-conn");
    BIO_meth_set_read(m, BioRead);
    BIO_meth_set_write(m, BioWrite);
    BIO_meth_set_ctrl(m, BioCtrl);
    return m;
  }();
  return method;
}

bool SamePartitions(const ClientRecord& a, const ClientRecord& b) {
  if (a.partitions.size() != b.partitions.size()) {
    return false;
  }
  for (size_t i = 0; i < a.partitions.size(); ++i) {
    const wire::SlotInfo& x = a.partitions[i];
    const wire::SlotInfo& y = b.partitions[i];
    if (x.partition != y.partition || x.label != y.label ||
        x.serial != y.serial) {
      return false;
    }
  }
  return true;
}

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

Loop::Loop(Server* server, int index) : server_(server), index_(index) {}

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

Conn* Loop::ConnFromSsl(const SSL* ssl) {
  return static_cast<Conn*>(SSL_get_ex_data(ssl, SslIndex()));
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
  tick_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTickTag;
  if (tick_fd_ < 0 || timerfd_settime(tick_fd_, 0, &period, nullptr) != 0 ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, tick_fd_, &ev) != 0) {
    return absl::InternalError(absl::StrCat(
        "cannot arm the event loop's tick timer: ", strerror(errno),
        "; check the process's descriptor limit "
        "(ulimit -n)"));
  }
  return absl::OkStatus();
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
  while (true) {
    bool tick_due = false;
    // No timeout: tick_fd_ wakes the loop for Tick (ArmTick says why).
    const int n = epoll_wait(epoll_fd_, events, 128, -1);
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

void Loop::Reap() {
  for (uint64_t id : dead_) {
    conns_.erase(id);
  }
  dead_.clear();
}

bool Loop::SetUpConn(uint64_t id, int fd, const std::string& peer_ip,
                     const std::string& peer, uint64_t pool_ticket) {
  const ServerOptions& o = server_->options_;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  SetKeepAlive(fd, link_settings());
  auto conn = std::make_unique<Conn>();
  Conn* c = conn.get();
  c->loop = this;
  c->id = id;
  c->fd = fd;
  c->peer_ip = peer_ip;
  c->peer = peer;
  c->pool_ticket = pool_ticket;
  c->stats = server_->stats_->shard(static_cast<size_t>(index_));
  c->tls = server_->CurrentTls();
  c->ssl.reset(SSL_new(c->tls->ctx.get()));
  if (!c->ssl) {
    return false;
  }
  SSL_set_accept_state(c->ssl.get());
  SSL_set_ex_data(c->ssl.get(), SslIndex(), c);
  BIO* bio = BIO_new(ConnBioMethod());
  BIO_set_data(bio, c);
  BIO_set_init(bio, 1);
  SSL_set_bio(c->ssl.get(), bio, bio);  // one reference, both directions
  const absl::Time now = absl::Now();
  c->deadline = now + o.handshake_timeout;
  c->last_active = now;
  conns_[c->id] = std::move(conn);
  UpdateEvents(c);
  return true;
}

void Loop::UpdateEvents(Conn* c) {
  if (c->dead) {
    return;
  }
  const uint32_t want = (c->read_paused ? 0u : static_cast<uint32_t>(EPOLLIN)) |
                        (c->want_write ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  if (c->registered && c->events == want) {
    return;
  }
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c->id;
  epoll_ctl(epoll_fd_, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
            &ev);
  c->registered = true;
  c->events = want;
}

void Loop::OnEvent(Conn* c, uint32_t events) {
  if ((events & (EPOLLERR | EPOLLHUP)) &&
      (c->read_paused || !(events & EPOLLIN))) {
    CloseConn(c, "connection reset by peer");
    return;
  }
  if (events & EPOLLOUT) {
    c->want_write = false;
    if (c->state == Conn::State::kHandshake) {
      DriveSsl(c);
    } else {
      Flush(c);
    }
    if (c->dead) {
      return;
    }
    UpdateEvents(c);
  }
  if ((events & EPOLLIN) && !c->read_paused) {
    ReadAndDrive(c);
  }
}

void Loop::ReadAndDrive(Conn* c) {
  const ssize_t n = recv(c->fd, scratch_.data(), scratch_.size(), 0);
  if (n == 0) {
    CloseConn(c, "peer closed the connection");
    return;
  }
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      CloseConn(c, absl::StrCat("read failed: ", strerror(errno)));
    }
    return;
  }
  c->last_active = WakeTime();
  c->stats->bytes_in.Add(static_cast<uint64_t>(n));
  bool from_scratch = c->cipher_pending.empty();
  if (from_scratch) {
    c->src = scratch_.data();
    c->src_len = static_cast<size_t>(n);
  } else {
    c->cipher_pending.append(scratch_.data(), static_cast<size_t>(n));
    c->src = c->cipher_pending.data();
    c->src_len = c->cipher_pending.size();
  }
  DriveSsl(c);
  if (c->dead) {
    return;
  }
  if (c->src_len == 0) {
    std::string().swap(c->cipher_pending);
  } else if (from_scratch) {
    c->cipher_pending.assign(c->src, c->src_len);
  } else {
    c->cipher_pending.erase(0, c->cipher_pending.size() - c->src_len);
  }
  c->src = nullptr;
  c->src_len = 0;
}

void Loop::DriveSsl(Conn* c) {
  c->processing = true;
  if (c->state == Conn::State::kHandshake) {
    const int r = SSL_do_handshake(c->ssl.get());
    if (r != 1) {
      const int err = SSL_get_error(c->ssl.get(), r);
      if (err == SSL_ERROR_WANT_WRITE) {
        c->want_write = true;
        ERR_clear_error();
      } else if (err == SSL_ERROR_WANT_CERTIFICATE_VERIFY) {
        // Paused for a hostname lookup (hostname_admission.cc). Stop reading
        // so what the peer sends meanwhile stays bounded; the answer resumes.
        ERR_clear_error();
        c->read_paused = true;
      } else if (err != SSL_ERROR_WANT_READ) {
        const std::string why = SslErrorText();
        if (!c->refusal_logged) {
          c->stats->handshakes_failed.Add();
          server_->LogStranger("handshake-failed",
                               absl::StrCat("handshake-failed peer=", c->peer,
                                            " reason=\"", why, "\""));
          c->refusal_logged = true;
        }
        c->processing = false;
        CloseConn(c, "");
        return;
      } else {
        ERR_clear_error();
      }
      c->processing = false;
      UpdateEvents(c);
      return;
    }
    OnHandshakeDone(c);
    if (c->dead) {
      c->processing = false;
      return;
    }
  }
  // Read plaintext until BoringSSL needs more ciphertext, decoding frames in
  // place. An HTL proof check in flight pauses reading (htl_link.cc).
  while (!c->dead && c->state != Conn::State::kDraining &&
         c->state != Conn::State::kCheckingHtl) {
    if (c->out.size() > server_->options_.max_pending_output) {
      c->read_paused =
          true;  // the peer is not reading; stop taking its requests
      break;
    }
    pool_.Supply(&c->in);
    const int r = SSL_read(c->ssl.get(), c->in.Tail(kReadChunk),
                           static_cast<int>(kReadChunk));
    if (r > 0) {
      c->in.Commit(static_cast<size_t>(r));
      ProcessFrames(c);
      continue;
    }
    const int err = SSL_get_error(c->ssl.get(), r);
    if (err == SSL_ERROR_WANT_READ) {
      ERR_clear_error();
      break;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      c->processing = false;
      CloseConn(c, "peer closed the link");
      return;
    }
    const std::string why = SslErrorText();
    c->processing = false;
    CloseConn(c, absl::StrCat("TLS error: ", why));
    return;
  }
  if (c->in.empty()) {
    pool_.Recycle(&c->in);  // idle connections hold no plaintext buffer
  }
  c->processing = false;
  if (c->dead) {
    return;
  }
  Flush(c);
  if (!c->dead) {
    UpdateEvents(c);
  }
}

void Loop::ProcessFrames(Conn* c) {
  const uint32_t max = server_->options_.max_frame_payload;
  while (!c->dead && c->state != Conn::State::kDraining &&
         c->state != Conn::State::kCheckingHtl) {
    wire::DecodeResult d = wire::DecodeFrame(c->in.view(), max);
    if (d.kind == wire::DecodeResult::Kind::kNeedMore) {
      return;
    }
    if (d.kind == wire::DecodeResult::Kind::kError) {
      Log(absl::StrCat("protocol-error peer=", c->peer, " reason=\"",
                       d.error.message(), "\""));
      GoAway(c, TL_E_PROTOCOL, d.error.message());
      return;
    }
    HandleFrame(c, d.frame);
    c->in.Consume(d.consumed);
  }
}

void Loop::HandleFrame(Conn* c, const wire::FrameView& f) {
  using wire::FrameType;
  if (c->state == Conn::State::kAwaitHello) {
    if (f.type != FrameType::kHello) {
      GoAway(c, TL_E_PROTOCOL, "the first frame must be hello");
      return;
    }
    HandleHello(c, f);
    return;
  }
  if (c->state == Conn::State::kAwaitHtlProof) {
    HandleHtlProof(c, f);
    return;
  }
  if (c->htl_link) {
    HandleHtlFrame(c, f);
    return;
  }
  switch (f.type) {
    case FrameType::kRequest:
      HandleRequest(c, f);
      return;
    case FrameType::kPing:
      SendFrame(c, FrameType::kPong, f.id, f.payload);
      return;
    case FrameType::kPong:
      return;
    case FrameType::kStreamOpen:
      HandleStreamOpen(c, f);
      return;
    case FrameType::kStreamData: {
      auto it = c->streams.find(f.id);
      if (it == c->streams.end()) {
        return;  // a stream the server already closed; its data is late, not an
                 // error
      }
      it->second.session->OnData(f.payload);
      return;
    }
    case FrameType::kStreamClose: {
      auto it = c->streams.find(f.id);
      if (it != c->streams.end()) {
        std::unique_ptr<StreamSession> s = std::move(it->second.session);
        c->streams.erase(it);
        s->OnClose();
      }
      return;
    }
    case FrameType::kHtlProof:
      GoAway(c, TL_E_PROTOCOL,
             "htl-proof is valid only right after a hello that sets the HTL "
             "bit");
      return;
    default:
      GoAway(c, TL_E_PROTOCOL,
             absl::StrCat("a client may not send ", wire::FrameTypeName(f.type),
                          " frames"));
  }
}

void Loop::SendFrame(Conn* c, wire::FrameType type, uint32_t id,
                     absl::string_view payload) {
  if (c->dead) {
    return;
  }
  std::string header;  // 12 bytes: no allocation (short string)
  wire::AppendFrameHeader(type, 0, id, static_cast<uint32_t>(payload.size()),
                          &header);
  AppendOut(c, header);
  AppendOut(c, payload);
}

void Loop::AppendOut(Conn* c, absl::string_view bytes) {
  pool_.Supply(&c->out);
  c->out.Append(bytes);
}

void Loop::FlushSoon(Conn* c) {
  if (!flushing_later_) {
    Flush(c);
  } else if (!c->flush_queued) {
    c->flush_queued = true;
    flush_later_.push_back(c->id);
  }
}

void Loop::Flush(Conn* c) {
  // Counted before the answers leave, so a client that reads the counters
  // after its answer finds its call there.
  CountInlineAnswers();
  while (!c->dead && !c->out.empty()) {
    const int n =
        SSL_write(c->ssl.get(), c->out.data(),
                  static_cast<int>(std::min<size_t>(c->out.size(), 1u << 20)));
    if (n > 0) {
      c->out.Consume(static_cast<size_t>(n));
      continue;
    }
    const int err = SSL_get_error(c->ssl.get(), n);
    if (err == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      c->want_write = true;
      UpdateEvents(c);
      return;
    }
    CloseConn(c, absl::StrCat("write failed: ", SslErrorText()));
    return;
  }
  if (c->dead) {
    return;
  }
  pool_.Recycle(&c->out);
  if (c->state == Conn::State::kDraining) {
    SSL_shutdown(c->ssl.get());
    ERR_clear_error();
    CloseConn(c, "");
    return;
  }
  // A handshake paused for a hostname lookup resumes reading only when the
  // answer comes (hostname_admission.cc).
  if (c->read_paused && !c->processing && c->state != Conn::State::kHandshake &&
      c->state != Conn::State::kCheckingHtl) {
    c->read_paused = false;
    UpdateEvents(c);
    if (!c->cipher_pending.empty()) {
      // Ciphertext that arrived while paused: drive it now rather than wait for
      // more.
      std::string pending;
      pending.swap(c->cipher_pending);
      c->src = pending.data();
      c->src_len = pending.size();
      DriveSsl(c);
      if (!c->dead && c->src_len > 0) {
        c->cipher_pending.assign(c->src, c->src_len);
      }
      c->src = nullptr;
      c->src_len = 0;
    }
  }
}

void Loop::GoAway(Conn* c, int32_t status, absl::string_view message) {
  if (c->dead || c->state == Conn::State::kDraining) {
    return;
  }
  wire::Closing cl;
  cl.status = status;
  cl.message = std::string(message);
  SendFrame(c, wire::FrameType::kGoAway, 0, wire::EncodeClosing(cl));
  c->state = Conn::State::kDraining;
  c->read_paused = true;
  if (!c->processing) {
    Flush(c);
  }
}

void Loop::CloseConn(Conn* c, absl::string_view reason) {
  if (c->dead) {
    return;
  }
  c->dead = true;
  if (!reason.empty()) {
    const std::string line = absl::StrCat(
        "closed peer=", c->peer,
        c->admission.record
            ? absl::StrCat(" client='", c->admission.record->label, "'")
            : std::string(),
        " reason=\"", reason, "\"");
    // A peer that was never admitted can cause this line at will.
    if (c->unauthenticated) {
      server_->LogStranger("closed-unauthenticated", line);
    } else {
      Log(line);
    }
  }
  if (c->unauthenticated) {
    server_->LeavePool(c->pool_ticket);
  } else {
    server_->ClientDisconnected(c->fingerprint);
  }
  HtlLinkClosed(c);
  for (auto& [id, stream] : c->streams) {
    stream.session->OnClose();
  }
  c->streams.clear();
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  c->fd = -1;
  dead_.push_back(c->id);
  if (accept_paused_) {
    ResumeAccept();  // a descriptor just came free
  }
}

void Loop::MaybeFinishDrain(Conn* c) {
  if (!c->pending.empty() || c->dead) {
    return;
  }
  if (c->htl_goaway_code != TL_OK) {
    GoAway(c, c->htl_goaway_code, c->htl_goaway_message);
  } else if (c->finish_then_close) {
    GoAway(c, TL_E_UNAVAILABLE, "the appliance is shutting down");
  }
}

void Loop::Revalidate(Conn* c) {
  if (c->state != Conn::State::kAwaitHello &&
      c->state != Conn::State::kAwaitHtlProof &&
      c->state != Conn::State::kCheckingHtl && c->state != Conn::State::kOpen) {
    return;
  }
  if (!server_->IsServed(c->tls->fingerprint)) {
    Log(absl::StrCat("closing peer=", c->peer,
                     " reason=\"the server certificate ", c->tls->fingerprint,
                     " is no longer served\""));
    GoAway(c, TL_E_UNAVAILABLE,
           "the appliance's server certificate was replaced; reconnect (the "
           "client must "
           "trust the new server.pem)");
    return;
  }
  // A hostname client keeps the addresses it was admitted with; only a
  // changed hostname needs a lookup, which must not block the loop: the link
  // is judged again when the answer comes.
  const Resolution* answer = nullptr;
  std::shared_ptr<const ClientRecord> record =
      snapshot_->FindByFingerprint(c->fingerprint);
  if (record != nullptr && NeedsResolution(*snapshot_, *record)) {
    answer = AnswerFor(c, record->resolve_hostname);
    if (answer == nullptr &&
        (c->resolving || StartLookup(c, record->resolve_hostname))) {
      return;
    }
  }
  Admission a = Admit(*snapshot_, c->fingerprint, c->peer_ip, answer);
  if (!a.admitted) {
    Log(absl::StrCat("closing peer=", c->peer, " fingerprint=", c->fingerprint,
                     " rule=", a.rule, " reason=\"", a.message, "\""));
    GoAway(c, a.code,
           a.code == TL_E_NOT_REGISTERED
               ? "this client's registration was removed or its certificate "
                 "replaced on "
                 "the appliance"
               : "this client's registration no longer allows this source "
                 "address");
    return;
  }
  std::shared_ptr<const ClientRecord> old = c->admission.record;
  c->admission = a;
  if (c->state != Conn::State::kOpen) {
    return;
  }
  if (!HtlStillAdmits(c)) {
    return;
  }
  if (old && old->label != a.record->label) {
    server_->ClientDisconnected(c->fingerprint);
    server_->ClientConnected(*a.record);
  }
  if (c->htl_link || (old && SamePartitions(*old, *a.record))) {
    return;  // an htl/1 link has no partitions
  }
  // Fail calls and streams on revoked partitions at once; later answers are
  // dropped.
  for (auto it = c->pending.begin(); it != c->pending.end();) {
    if (!HasPartition(*a.record, it->second.partition)) {
      RespondNow(c, it->first, TL_E_PARTITION_NOT_ASSIGNED,
                 absl::StrCat("partition '", it->second.partition,
                              "' was unassigned from this client during the "
                              "call"));
      it = c->pending.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = c->streams.begin(); it != c->streams.end();) {
    if (const std::string* gone =
            FirstUnassigned(*a.record, it->second.partitions)) {
      wire::Closing cl;
      cl.status = TL_E_PARTITION_NOT_ASSIGNED;
      cl.message = absl::StrCat("partition '", *gone, "' was unassigned");
      SendFrame(c, wire::FrameType::kStreamClose, it->first,
                wire::EncodeClosing(cl));
      std::unique_ptr<StreamSession> s = std::move(it->second.session);
      it = c->streams.erase(it);
      s->OnClose();
    } else {
      ++it;
    }
  }
  SendFrame(c, wire::FrameType::kSlotsChanged, 0, WelcomeFor(*a.record));
  Log(absl::StrCat("slots-changed client='", a.record->label,
                   "' peer=", c->peer, " slots=", a.record->partitions.size()));
  Flush(c);
}

void Loop::Tick(absl::Time now) {
  bool recheck = false;
  snapshot();
  if (directory_generation_ != revalidated_generation_) {
    revalidated_generation_ = directory_generation_;
    recheck = true;
  }
  const uint64_t tls_gen = server_->RefreshTls();
  if (tls_gen != tls_generation_) {
    tls_generation_ = tls_gen;
    recheck = true;
  }
  const ServerOptions& o = server_->options_;
  const LinkSettings link = link_settings();
  const bool draining = server_->draining_.load();
  if (accept_paused_ && now >= accept_resume_at_) {
    ResumeAccept();  // a descriptor may have freed outside this loop
  }
  server_->FlushLogLimits();
  if (draining && !drain_started_) {
    drain_started_ = true;
    listening_ = false;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  }
  const bool force = draining && now >= absl::FromUnixNanos(
                                            server_->drain_deadline_ns_.load());
  std::vector<Conn*> all;
  all.reserve(conns_.size());
  for (auto& [id, c] : conns_) {
    if (!c->dead) {
      all.push_back(c.get());
    }
  }
  for (Conn* c : all) {
    if (c->dead) {
      continue;
    }
    if (force) {
      CloseConn(c, "shutdown grace period ended");
      continue;
    }
    if (recheck) {
      Revalidate(c);
      if (c->dead) {
        continue;
      }
    }
    CheckLookupDeadline(c, now);
    if (c->dead) {
      continue;
    }
    const bool admitted = c->state == Conn::State::kOpen;
    if (!admitted && c->state != Conn::State::kDraining && now >= c->deadline) {
      CloseConn(c, c->state == Conn::State::kHandshake
                       ? "handshake deadline passed"
                   : c->state == Conn::State::kAwaitHello
                       ? "no hello before the deadline"
                       : "no HTL proof admitted before the deadline");
      continue;
    }
    if (c->state == Conn::State::kDraining &&
        now >= c->deadline + o.handshake_timeout &&
        now - c->last_active >= o.handshake_timeout) {
      CloseConn(c, "peer did not read its goaway");
      continue;
    }
    absl::string_view idle_rule;
    const absl::Duration idle_limit =
        IdleLimit(link, o.idle_timeout, c->htl_link, &idle_rule);
    if (admitted && now - c->last_active >= idle_limit) {
      Log(absl::StrCat("closing peer=", c->peer, " rule=", idle_rule,
                       " reason=\"nothing received for ",
                       absl::FormatDuration(idle_limit), "\""));
      GoAway(c, TL_E_UNAVAILABLE,
             absl::StrCat("the link was idle too long (nothing received for ",
                          absl::FormatDuration(idle_limit), "); reconnect"));
      if (!c->dead) {
        c->deadline = now;
        c->last_active = now;
      }
      continue;
    }
    if (draining) {
      if (!admitted) {
        if (c->state != Conn::State::kDraining) {
          CloseConn(c, "shutting down");
        }
      } else if (!c->finish_then_close) {
        c->finish_then_close = true;
        MaybeFinishDrain(c);
      }
    }
  }
}

}  // namespace trustlink::ntl::server::internal_engine
