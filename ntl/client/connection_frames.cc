// Connection's inbound side: read what the socket has, cut it into frames
// and act on each (welcome, responses, pings, stream data, goaway). Kept
// apart from the life cycle in connection.cc because it is the per-byte hot
// path and the protocol's one dispatch table.

#include <sys/epoll.h>

#include <cerrno>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/client/connection.h"
#include "ntl/client/fresh_status.h"
#include "ntl/client/pin.h"
#include "ntl/client/remote_status.h"
#include "ntl/client/socket_bio.h"
#include "ntl/status.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::client {

namespace {

constexpr size_t kReadChunk = 64 * 1024;

absl::Status ProtocolError(absl::string_view server, absl::string_view what) {
  return Error(
      absl::StatusCode::kInternal, TL_E_PROTOCOL,
      absl::StrCat("protocol error from server '", server, "': ", what));
}

}  // namespace

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

}  // namespace trustlink::ntl::client
