#include "ntl/client/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ntl/client/fresh_status.h"
#include "ntl/client/pin.h"
#include "ntl/client/remote_status.h"
#include "ntl/client/socket_bio.h"
#include "ntl/status.h"
#include "ntl/wire/bytes.h"

namespace trustlink::ntl::client {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kWriteChunk = 256 * 1024;

absl::Status LinkLost(absl::string_view server, const absl::Status& why) {
  return Error(
      absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
      absl::StrCat("lost the link to server '", server, "': ", why.message()));
}

absl::Status ProtocolError(absl::string_view server, absl::string_view what) {
  return Error(
      absl::StatusCode::kInternal, TL_E_PROTOCOL,
      absl::StrCat("protocol error from server '", server, "': ", what));
}

}  // namespace

const char* LinkStateName(LinkState state) {
  switch (state) {
    case LinkState::kNotTrusted:
      return "not-trusted";
    case LinkState::kBackoff:
      return "backoff";
    case LinkState::kConnecting:
      return "connecting";
    case LinkState::kHandshaking:
      return "handshaking";
    case LinkState::kAwaitingProof:
      return "awaiting-proof";
    case LinkState::kAwaitingWelcome:
      return "awaiting-welcome";
    case LinkState::kReady:
      return "ready";
    case LinkState::kStopped:
      return "stopped";
  }
  return "unknown";
}

Connection::Connection(size_t index, const ServerSettings& server,
                       const ClientSettings& settings, SSL_CTX* ctx,
                       int epoll_fd, std::shared_ptr<Doorbell> doorbell,
                       internal::DnsChannel* dns, Workers* workers,
                       DialGate* gate, ConnectionListener* listener)
    : index_(index),
      server_(server),
      settings_(settings),
      ctx_(ctx),
      epoll_fd_(epoll_fd),
      doorbell_(std::move(doorbell)),
      dns_(dns),
      workers_(workers),
      gate_(gate),
      dial_key_(DialKey(server.host.empty() ? server.name : server.host,
                        server.port)),
      listener_(listener),
      backoff_(ReconnectPolicy{settings.reconnect_min, settings.reconnect_max,
                               settings.reconnect_refused_max,
                               settings.reconnect_refused_window}) {
  if (server_.host.empty()) {
    server_.host = server_.name;
  }
  if (server_.pinned_cert_der.empty()) {
    state_ = LinkState::kNotTrusted;
    first_settled_ = true;
    last_error_ = Error(
        absl::StatusCode::kFailedPrecondition, TL_E_TRUST_STORE_INCONSISTENT,
        !server_.trust_error.empty()
            ? server_.trust_error
            : absl::StrCat(
                  "server cert for '", server_.name,
                  "' is not in CAFile.pem; it is never contacted; register "
                  "its certificate again (tl_client_root_add_server)"));
  } else {
    last_error_ =
        Error(absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
              absl::StrCat("server '", server_.name, "' is not connected yet"));
  }
}

Connection::~Connection() {
  gate_->Leave(&dial_ticket_);
  CloseSocket();
  if (kick_fd_ >= 0) {
    close(kick_fd_);
  }
}

void Connection::CloseSocket() {
  link_stats_.Bank(ssl_.get());
  if (reader_active_) {
    // Woken before the socket closes, so its ppoll cannot wait on a closed
    // (or reused) number.
    reader_active_ = false;
    KickReader();
  }
  parked_ = false;
  if (fd_ >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
    close(fd_);
    fd_ = -1;
  }
  ssl_.reset();
  proof_.reset();  // a worker still asking keeps its own reference
  proof_request_ = ProofRequest();
  interest_ = 0;
  in_ = internal::ByteBuffer();
  out_.clear();
  out_off_ = 0;
}

void Connection::SetInterest(uint32_t events) {
  if (fd_ < 0 || events == interest_) {
    return;
  }
  HandBackReading();  // the loop needs the socket (a full send buffer)
  if (events == interest_) {
    return;
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = index_ + 2;  // 0 and 1 are the client's wake and timer fds
  ++epoll_changes_;
  epoll_ctl(epoll_fd_, interest_ == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd_,
            &ev);
  interest_ = events;
}

void Connection::SettleFirstAttempt() {
  if (!first_settled_) {
    first_settled_ = true;
    listener_->OnFirstAttemptSettled(index_);
  }
}

void Connection::Fail(const absl::Status& why, absl::Time now,
                      Completions* done) {
  const bool was_ready = state_ == LinkState::kReady;
  gate_->Leave(&dial_ticket_);  // the next queued attempt starts
  CloseSocket();
  last_error_ = why;
  // Closing the client cancels; anything else is a lost link.
  const absl::Status lost =
      ToTlStatus(why) == TL_E_CANCELLED ? why : LinkLost(server_.name, why);
  // In id order, as callers saw them sent.
  std::vector<uint32_t> ids;
  ids.reserve(pending_.size());
  for (const auto& [id, p] : pending_) {
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  for (uint32_t id : ids) {
    FailCall(&pending_[id], lost, done);
  }
  pending_.clear();
  deadlines_.Clear();
  for (auto& [id, s] : streams_) {
    if (s.on_close) {
      done->push_back(
          [cb = std::move(s.on_close), lost]() { cb(FreshStatus(lost)); });
    }
  }
  streams_.clear();
  if (settings_.reconnect && state_ != LinkState::kStopped) {
    state_ = LinkState::kBackoff;
    retry_at_ = now + backoff_.Next(ToTlStatus(why) == TL_E_CONNECTION_REFUSED
                                        ? AttemptFailure::kRefused
                                        : AttemptFailure::kOther,
                                    was_ready, now, RandomJitter());
  } else {
    state_ = LinkState::kStopped;
  }
  if (was_ready) {
    listener_->OnLinkDown(index_);
  }
  SettleFirstAttempt();
}

void Connection::Shutdown(const absl::Status& why, Completions* done) {
  if (state_ == LinkState::kNotTrusted) {
    return;
  }
  state_ = LinkState::kStopped;
  Fail(why, absl::Now(), done);
  state_ = LinkState::kStopped;
}

void Connection::OnConnected(absl::Time now, Completions* done) {
  ssl_.reset(SSL_new(ctx_));
  BIO* bio = ssl_ != nullptr ? NewSocketBio(fd_, &socket_reads_) : nullptr;
  if (bio == nullptr) {
    Fail(Error(absl::StatusCode::kInternal, TL_E_INTERNAL,
               "cannot create the TLS object"),
         now, done);
    return;
  }
  SSL_set_bio(ssl_.get(), bio,
              bio);  // the SSL owns the BIO; the BIO does not own fd_
  SSL_set_app_data(ssl_.get(), static_cast<PinnedPeer*>(this));
  SSL_set_connect_state(ssl_.get());
  in6_addr scratch;
  if (inet_pton(AF_INET, server_.host.c_str(), &scratch) != 1 &&
      inet_pton(AF_INET6, server_.host.c_str(), &scratch) != 1) {
    SSL_set_tlsext_host_name(ssl_.get(), server_.host.c_str());
  }
  if (session_ != nullptr) {
    SSL_set_session(ssl_.get(), session_.get());
  }
  pin_error_ = absl::OkStatus();
  state_ = LinkState::kHandshaking;
  ++connects_;
  DoHandshake(now, done);
}

bool Connection::CheckPin(const SSL* ssl) {
  const std::string leaf = PeerLeafDer(ssl);
  if (leaf == server_.pinned_cert_der) {
    return true;
  }
  pin_error_ = PinMismatch(server_.name, leaf, server_.pinned_cert_der);
  return false;
}

void Connection::DoHandshake(absl::Time now, Completions* done) {
  const int rc = SSL_do_handshake(ssl_.get());
  if (rc != 1) {
    const int saved_errno = errno;
    const int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ) {
      SetInterest(EPOLLIN);
      return;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      SetInterest(EPOLLIN | EPOLLOUT);
      return;
    }
    absl::Status why = pin_error_.ok()
                           ? TlsFailure(server_.name, err, saved_errno, false)
                           : pin_error_;
    ERR_clear_error();
    Fail(why, now, done);
    return;
  }
  // A resumed session skips the verify callback; check the pin on every
  // handshake anyway.
  if (!CheckPin(ssl_.get())) {
    Fail(pin_error_, now, done);
    return;
  }
  resumed_ = SSL_session_reused(ssl_.get());
  link_stats_.Handshake(resumed_);
  // An HTL server admits the link only with a proof bound to this very
  // session, so it is asked for after every handshake, resumed ones included.
  if (server_.htl) {
    RequestProof(now, done);
    return;
  }
  SendHello(std::string(), now, done);
}

void Connection::OnEvent(uint32_t events, absl::Time now, Completions* done) {
  if (fd_ < 0 || reader_active_ || parked_) {
    // A calling thread reads this socket now (TakeReading), or did and parked
    // it; the event was harvested before the socket left the epoll set.
    return;
  }
  switch (state_) {
    case LinkState::kConnecting: {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        AddressFailed(strerror(err), err == ECONNREFUSED, now, done);
        return;
      }
      if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
        OnConnected(now, done);
      }
      return;
    }
    case LinkState::kHandshaking:
      DoHandshake(now, done);
      return;
    case LinkState::kAwaitingProof:
      // Read (TLS 1.3 session tickets, a server giving up) so level-triggered
      // epoll does not spin; frames wait in in_ until hello is out.
      if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        ReadAvailable(now, done);
      }
      return;
    case LinkState::kAwaitingWelcome:
    case LinkState::kReady:
      if (events & EPOLLOUT) {
        Flush(done);
      }
      if (fd_ >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        ReadAvailable(now, done);
      }
      return;
    default:
      return;
  }
}

void Connection::ReadAvailable(absl::Time now, Completions* done) {
  for (;;) {
    // Straight into in_'s uninitialised tail: no zero-fill, no second copy.
    const int n = SSL_read(ssl_.get(), in_.Tail(kReadChunk),
                           static_cast<int>(kReadChunk));
    if (n <= 0) {
      const int saved_errno = errno;
      const int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        break;
      }
      Fail(TlsFailure(server_.name, err, saved_errno, true), now, done);
      return;
    }
    in_.Commit(static_cast<size_t>(n));
    last_rx_ = now;
    if (state_ != LinkState::kAwaitingProof &&  // nothing is handled before
                                                // our hello is out
        !DecodeBuffered(now, done)) {
      return;
    }
    // The socket had nothing more when last read and BoringSSL holds no
    // plaintext: skip the SSL_read that would only find EAGAIN.
    if (ssl_ == nullptr || (SSL_pending(ssl_.get()) == 0 &&
                            SocketBioDrained(SSL_get_rbio(ssl_.get())))) {
      return;
    }
  }
}

bool Connection::DecodeBuffered(absl::Time now, Completions* done) {
  // Decode every complete frame, then drop the consumed prefix once.
  size_t off = 0;
  for (;;) {
    wire::DecodeResult r =
        wire::DecodeFrame(in_.view().substr(off), settings_.max_payload);
    if (r.kind == wire::DecodeResult::Kind::kNeedMore) {
      break;
    }
    if (r.kind == wire::DecodeResult::Kind::kError) {
      Fail(ProtocolError(server_.name, r.error.message()), now, done);
      return false;
    }
    off += r.consumed;
    if (!HandleFrame(r.frame, now, done)) {
      return false;
    }
  }
  in_.Consume(off);
  return true;
}

bool Connection::HandleFrame(const wire::FrameView& frame, absl::Time now,
                             Completions* done) {
  using wire::FrameType;
  if (state_ == LinkState::kAwaitingWelcome &&
      frame.type != FrameType::kWelcome && frame.type != FrameType::kGoAway &&
      frame.type != FrameType::kPing) {
    Fail(ProtocolError(server_.name, absl::StrCat("expected welcome, got ",
                                                  FrameTypeName(frame.type))),
         now, done);
    return false;
  }
  switch (frame.type) {
    case FrameType::kWelcome:
    case FrameType::kSlotsChanged: {
      if (!missing_proof_.ok()) {
        // This client requires HTL with the server and had no proof to give:
        // a peer that admits it anyway does not check HTL, and the client's
        // own rule still holds.
        Fail(missing_proof_, now, done);
        return false;
      }
      absl::StatusOr<wire::Welcome> w = wire::DecodeWelcome(frame.payload);
      if (!w.ok()) {
        Fail(ProtocolError(server_.name, w.status().message()), now, done);
        return false;
      }
      slots_ = w->slots;
      client_label_ = w->client_label;
      if (state_ == LinkState::kAwaitingWelcome) {
        state_ = LinkState::kReady;
        gate_->Leave(&dial_ticket_);
        backoff_.OnUp();
        phase_deadline_ = absl::InfiniteFuture();
        last_error_ = absl::OkStatus();
      }
      listener_->OnWelcome(index_, *w);
      SettleFirstAttempt();
      return true;
    }
    case FrameType::kResponse: {
      auto it = pending_.find(frame.id);
      if (it == pending_.end()) {
        return true;  // a call that timed out or was cancelled
      }
      absl::StatusOr<wire::ResponseView> r =
          wire::DecodeResponseView(frame.payload);
      if (!r.ok()) {
        Fail(ProtocolError(server_.name, r.status().message()), now, done);
        return false;
      }
      Pending p = std::move(it->second);
      pending_.erase(it);
      ForgetDeadline(p.deadline);
      if (r->status != 0) {
        FailCall(&p,
                 Error(CanonicalForRemote(r->status), r->status,
                       absl::StrCat("server '", server_.name, "': ", r->data)),
                 done);
      } else if (p.raw.fn != nullptr) {
        // The bytes are copied once, into the pass's arena; the frame they
        // sit in is consumed before the callbacks run.
        done->AddRawCall(p.raw, 0, r->data, p.stats, p.start);
      } else {
        done->push_back(
            [cb = std::move(p.cb), data = std::string(r->data)]() mutable {
              cb(std::move(data));
            });
      }
      return true;
    }
    case FrameType::kPing:
      Send(FrameType::kPong, frame.id, frame.payload, done);
      return fd_ >= 0;
    case FrameType::kPong:
      return true;
    case FrameType::kStreamData: {
      auto it = streams_.find(frame.id);
      if (it != streams_.end() && it->second.on_data) {
        done->push_back([cb = it->second.on_data,
                         data = std::string(frame.payload)]() { cb(data); });
      }
      return true;
    }
    case FrameType::kStreamClose: {
      auto it = streams_.find(frame.id);
      if (it == streams_.end()) {
        return true;
      }
      absl::StatusOr<wire::Closing> c = wire::DecodeClosing(frame.payload);
      absl::Status s =
          !c.ok() ? c.status()
          : c->status == 0
              ? absl::OkStatus()
              : Error(CanonicalForRemote(c->status), c->status,
                      absl::StrCat("server '", server_.name,
                                   "' closed the stream: ", c->message));
      if (it->second.on_close) {
        done->push_back(
            [cb = std::move(it->second.on_close), s]() { cb(FreshStatus(s)); });
      }
      streams_.erase(it);
      return true;
    }
    case FrameType::kGoAway: {
      absl::StatusOr<wire::Closing> c = wire::DecodeClosing(frame.payload);
      if (!c.ok()) {
        Fail(ProtocolError(server_.name, c.status().message()), now, done);
        return false;
      }
      const int32_t code = c->status != 0 ? c->status : TL_E_CONNECTION_LOST;
      Fail(ExplainGoAway(
               code, Error(CanonicalForRemote(code), code,
                           absl::StrCat("server '", server_.name,
                                        "' closed the link: ", c->message))),
           now, done);
      return false;
    }
    default:
      Fail(ProtocolError(server_.name,
                         absl::StrCat("unexpected ", FrameTypeName(frame.type),
                                      " frame")),
           now, done);
      return false;
  }
}

void Connection::Send(wire::FrameType type, uint32_t id,
                      absl::string_view payload, Completions* done) {
  wire::AppendFrame(type, 0, id, payload, &out_);
  Flush(done);
}

void Connection::SendCall(uint32_t id, absl::string_view partition, uint32_t op,
                          absl::string_view data, Completions* done) {
  // Frames already waiting mean a flush is already due: the loop was rung for
  // them, or the socket is full and EPOLLOUT is armed. Either way this frame
  // leaves with them.
  const bool flush_due = !out_.empty();
  // Encoded straight into the output buffer: no intermediate strings per call.
  wire::AppendRequestFrame(id, partition, op, data, &out_);
  if (flush_due) {
    return;
  }
  // A lone call (the round-trip case) is written by its caller, costing no
  // thread hop. With others in flight more are likely to follow (a burst, or
  // many calling threads): leave the write to the loop, which runs after this
  // caller and any others queued on the client's lock have appended theirs.
  // A call made by a completion callback is never lone, even when it is the
  // only one in flight: the other callbacks of the pass are about to add
  // theirs, and the loop writes them all once they ran (Doorbell::DeferScope).
  // Writing it at once split every window into a record of one call and a
  // record of the rest, and woke the server twice for them.
  if (pending_.size() > 1 || doorbell_->Deferred()) {
    doorbell_->Ring();
    return;
  }
  Flush(done);
}

void Connection::FlushQueued(Completions* done) {
  if (!out_.empty() && (interest_ & EPOLLOUT) == 0 &&
      (state_ == LinkState::kReady || state_ == LinkState::kAwaitingWelcome)) {
    Flush(done);
  }
}

void Connection::Flush(Completions* done) {
  while (ssl_ != nullptr && out_off_ < out_.size()) {
    const size_t len = std::min(out_.size() - out_off_, kWriteChunk);
    const int n =
        SSL_write(ssl_.get(), out_.data() + out_off_, static_cast<int>(len));
    if (n <= 0) {
      const int saved_errno = errno;
      const int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
        SetInterest(EPOLLIN | EPOLLOUT);
        return;
      }
      Fail(TlsFailure(server_.name, err, saved_errno, true), absl::Now(), done);
      return;
    }
    ++tls_writes_;
    out_off_ += static_cast<size_t>(n);
  }
  out_.clear();
  out_off_ = 0;
  if (fd_ >= 0 && (interest_ & EPOLLOUT)) {
    SetInterest(EPOLLIN);
  }
}

void Connection::OnTimer(absl::Time now, Completions* done) {
  switch (state_) {
    case LinkState::kBackoff:
      // A due attempt waits at the gate while the client's others to this
      // address fill it; it is not a failure, so no backoff.
      if (now >= retry_at_ && gate_->Enter(dial_key_, &dial_ticket_)) {
        StartConnect(now, done);
      }
      return;
    case LinkState::kAwaitingProof:
      PollProof(now, done);  // also gives up at the phase deadline
      return;
    case LinkState::kConnecting:
      PollResolution(now, done);
      if (state_ != LinkState::kConnecting) {
        return;
      }
      if (now < phase_deadline_ && fd_ >= 0 && now >= address_deadline_) {
        // This address had its share of the connect timeout; try the next.
        AddressFailed("no answer", false, now, done);
        return;
      }
      [[fallthrough]];
    case LinkState::kHandshaking:
    case LinkState::kAwaitingWelcome:
      if (now >= phase_deadline_) {
        if (state_ == LinkState::kAwaitingWelcome && !missing_proof_.ok()) {
          // Hello went without an HTL proof this client requires, and no
          // verdict came in time: the link could never have been used, and
          // the agent's failure, not a slow welcome, is what to fix. (The
          // agent's request ends at this same deadline, so its failure and
          // the deadline often arrive together.)
          Fail(missing_proof_, now, done);
          return;
        }
        const char* phase = state_ != LinkState::kConnecting ? nullptr
                            : resolving_                     ? "name resolution"
                                                             : "TCP connect";
        if (phase == nullptr) {
          phase =
              state_ == LinkState::kHandshaking ? "TLS handshake" : "welcome";
        }
        const std::string tried =
            state_ == LinkState::kConnecting && !tried_.empty()
                ? absl::StrCat("; ", TriedSummary())
                : std::string();
        Fail(Error(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
                   absl::StrCat("server '", server_.name, "' at ", server_.host,
                                ":", server_.port, " timed out (", phase,
                                " took more than ",
                                absl::FormatDuration(settings_.connect_timeout),
                                tried, ")")),
             now, done);
      }
      return;
    case LinkState::kReady:
      break;
    default:
      return;
  }
  if (parked_ && now >= parked_at_ + kParkFor) {
    Unpark();  // idle: the loop watches the link again
  }
  while (!deadlines_.empty() && deadlines_.Top().deadline <= now) {
    const DeadlineQueue::Entry e = deadlines_.Top();
    auto it = pending_.find(e.id);
    const bool live = it != pending_.end() && it->second.token == e.token;
    deadlines_.Pop(live);
    if (live) {
      if (reader_active_ && reader_id_ == e.id) {
        HandBackReading();
      }
      FailCall(
          &it->second,
          Error(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
                absl::StrCat("call to server '", server_.name,
                             "' passed its deadline")),
          done);
      pending_.erase(it);
    }
  }
  if (now - last_rx_ >= settings_.heartbeat_timeout) {
    Fail(Error(absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
               absl::StrCat("nothing received from server '", server_.name,
                            "' for ", absl::FormatDuration(now - last_rx_),
                            " (heartbeat timeout); the peer or a firewall "
                            "dropped the link")),
         now, done);
    return;
  }
  if (now - last_rx_ >= settings_.heartbeat_interval &&
      now - last_ping_ >= settings_.heartbeat_interval) {
    last_ping_ = now;
    Unpark();  // the pong is for the loop
    std::string payload;
    wire::ByteWriter(&payload).U64(
        static_cast<uint64_t>(absl::ToUnixNanos(now)));
    Send(wire::FrameType::kPing, 0, payload, done);
  }
}

absl::Time Connection::NextWakeup() const {
  switch (state_) {
    case LinkState::kBackoff:
      // Queued: woken when a slot is handed over (its ticket then holds one).
      return dial_ticket_.state == DialTicket::State::kQueued
                 ? absl::InfiniteFuture()
                 : retry_at_;
    case LinkState::kConnecting:
      return fd_ >= 0 ? std::min(phase_deadline_, address_deadline_)
                      : phase_deadline_;
    case LinkState::kHandshaking:
    case LinkState::kAwaitingProof:
    case LinkState::kAwaitingWelcome:
      return phase_deadline_;
    case LinkState::kReady: {
      absl::Time t = last_rx_ + settings_.heartbeat_timeout;
      t = std::min(
          t, std::max(last_rx_, last_ping_) + settings_.heartbeat_interval);
      t = std::min(t, deadlines_.Next());
      if (parked_) {
        t = std::min(t, parked_at_ + kParkFor);
      }
      return t;
    }
    default:
      return absl::InfiniteFuture();
  }
}

absl::Status Connection::StartCall(absl::string_view partition, uint32_t op,
                                   absl::string_view data, absl::Time deadline,
                                   CallCallback cb, uint32_t* id,
                                   uint64_t* token, Completions* done,
                                   ReaderWait* reader) {
  Pending p;
  p.deadline = deadline;
  p.cb = std::move(cb);
  return StartPending(partition, op, data, std::move(p), id, token, done,
                      reader);
}

absl::Status Connection::StartRawCall(absl::string_view partition, uint32_t op,
                                      absl::string_view data,
                                      absl::Time deadline,
                                      const RawCallCallback& cb,
                                      stats::ClientStats* stats,
                                      Completions* done) {
  Pending p;
  p.deadline = deadline;
  p.raw = cb;
  p.stats = stats;
  uint32_t id;
  uint64_t token;
  return StartPending(partition, op, data, std::move(p), &id, &token, done,
                      /*reader=*/nullptr);
}

absl::Status Connection::StartPending(absl::string_view partition, uint32_t op,
                                      absl::string_view data, Pending p,
                                      uint32_t* id, uint64_t* token,
                                      Completions* done, ReaderWait* reader) {
  if (state_ != LinkState::kReady) {
    return Error(absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
                 absl::StrCat("server '", server_.name, "' is not connected (",
                              LinkStateName(state_),
                              "; last error: ", last_error_.message(), ")"));
  }
  if (data.size() + partition.size() + 16 > settings_.max_payload) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 absl::StrCat("call data of ", data.size(),
                              " bytes exceeds the frame limit of ",
                              settings_.max_payload));
  }
  while (next_id_ == 0 || pending_.count(next_id_) != 0) {
    ++next_id_;
  }
  // A caller reading its own answer gives the socket back: this call's answer
  // is for the loop. A parked socket stays out until it is clear whether this
  // call's caller takes it (below).
  if (reader_active_) {
    HandBackReading();
  }
  const uint32_t call_id = next_id_++;
  const uint64_t call_token = next_token_++;
  p.token = call_token;
  if (p.stats != nullptr) {
    // Started only once it is sure to complete (a refused call never was).
    p.start = p.stats->CallStart();
  }
  if (p.deadline != absl::InfiniteFuture()) {
    deadlines_.Add(p.deadline, call_id, call_token);
  }
  pending_.emplace(call_id, std::move(p));
  *id = call_id;
  *token = call_token;
  if (reader == nullptr || !TakeReading(call_id, call_token, reader)) {
    Unpark();
  }
  SendCall(call_id, partition, op, data, done);
  return absl::OkStatus();
}

void Connection::FailCall(Pending* p, const absl::Status& why,
                          Completions* done) {
  if (p->raw.fn != nullptr) {
    done->AddRawCall(p->raw, ToTlStatus(why), why.message(), p->stats,
                     p->start);
    return;
  }
  done->push_back([cb = std::move(p->cb), why]() { cb(FreshStatus(why)); });
}

void Connection::ForgetDeadline(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) {
    return;
  }
  deadlines_.Forget();
  if (deadlines_.NeedsCompaction()) {
    deadlines_.Compact([this](const DeadlineQueue::Entry& e) {
      auto it = pending_.find(e.id);
      return it != pending_.end() && it->second.token == e.token;
    });
  }
}

bool Connection::CancelCall(uint32_t id, uint64_t token) {
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.token != token) {
    return false;
  }
  const absl::Time deadline = it->second.deadline;
  pending_.erase(it);
  ForgetDeadline(deadline);
  return true;
}

absl::StatusOr<uint32_t> Connection::OpenStream(absl::string_view partition,
                                                absl::string_view service,
                                                StreamCallbacks callbacks,
                                                Completions* done) {
  if (state_ != LinkState::kReady) {
    return Error(absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
                 absl::StrCat("server '", server_.name, "' is not connected (",
                              LinkStateName(state_),
                              "; last error: ", last_error_.message(), ")"));
  }
  // Stream ids only grow on this Connection, across reconnects, so a stale
  // handle never names a newer stream.
  while (next_stream_ == 0 || streams_.count(next_stream_) != 0) {
    ++next_stream_;
  }
  const uint32_t id = next_stream_++;
  HandBackReading();  // stream data is for the loop
  streams_.emplace(id, std::move(callbacks));
  wire::StreamOpen open;
  open.partition = std::string(partition);
  open.service = std::string(service);
  Send(wire::FrameType::kStreamOpen, id, wire::EncodeStreamOpen(open), done);
  return id;
}

absl::Status Connection::StreamSend(uint32_t stream, absl::string_view data,
                                    Completions* done) {
  if (streams_.count(stream) == 0) {
    return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                 absl::StrCat("stream ", stream, " on server '", server_.name,
                              "' is closed"));
  }
  for (size_t off = 0; off < data.size() || (off == 0 && data.empty());) {
    const size_t n = std::min<size_t>(data.size() - off, settings_.max_payload);
    Send(wire::FrameType::kStreamData, stream, data.substr(off, n), done);
    off += n;
    if (n == 0) {
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status Connection::StreamClose(uint32_t stream, Completions* done) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    return absl::OkStatus();
  }
  streams_.erase(it);
  wire::Closing c;
  Send(wire::FrameType::kStreamClose, stream, wire::EncodeClosing(c), done);
  return absl::OkStatus();
}

}  // namespace trustlink::ntl::client
