// Connection's life cycle: construction, the socket's epoll interest,
// failure and shutdown, the TLS handshake and the loop's events. The
// other stages live beside it: dialling (connection_dial.cc), the HTL proof
// (connection_proof.cc), frames in (connection_frames.cc), the write path
// (connection_write.cc), timers and deadlines (connection_timer.cc), calls
// (connection_calls.cc), streams (connection_streams.cc) and the calling
// thread as reader (connection_caller_read.cc).

#include "ntl/client/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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
#include "ntl/client/socket_bio.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

namespace {

absl::Status LinkLost(absl::string_view server, const absl::Status& why) {
  return Error(
      absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
      absl::StrCat("lost the link to server '", server, "': ", why.message()));
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
                               settings.reconnect_refused_window}),
      busy_poll_(settings.busy_poll_us) {
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

}  // namespace trustlink::ntl::client
