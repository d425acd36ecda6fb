#include "ntl/client/framed_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ntl/client/pin.h"
#include "ntl/client/remote_status.h"
#include "ntl/client/socket_bio.h"
#include "ntl/internal/poll_until.h"
#include "ntl/status.h"
#include "ntl/tls/policy.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::client {
namespace {

constexpr size_t kReadChunk = 16 * 1024;

absl::Status Lost(absl::string_view server, absl::string_view why) {
  return Error(absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
               absl::StrCat("lost the link to server '", server, "': ", why));
}

}  // namespace

absl::StatusOr<std::unique_ptr<FramedSession>> FramedSession::Connect(
    SSL_CTX* ctx, const ServerSettings& server, const ClientSettings& settings,
    absl::Time deadline) {
  if (server.pinned_cert_der.empty()) {
    return Error(
        absl::StatusCode::kFailedPrecondition, TL_E_TRUST_STORE_INCONSISTENT,
        !server.trust_error.empty()
            ? server.trust_error
            : absl::StrCat("server cert for '", server.name,
                           "' is not in CAFile.pem; it is never contacted; "
                           "register its certificate again "
                           "(tl_client_root_add_server)"));
  }
  std::unique_ptr<FramedSession> s(new FramedSession(server, settings));
  absl::Status st = s->Open(ctx, deadline);
  if (!st.ok()) {
    return st;
  }
  return s;
}

FramedSession::~FramedSession() { Close(); }

void FramedSession::Close() {
  ssl_.reset();
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  in_.clear();
}

bool FramedSession::CheckPin(const SSL* ssl) {
  const std::string leaf = PeerLeafDer(ssl);
  if (leaf == server_.pinned_cert_der) {
    return true;
  }
  pin_error_ = PinMismatch(server_.name, leaf, server_.pinned_cert_der);
  return false;
}

// Sessions are short-lived and made at most once per polling interval; they
// are not resumed, so a ticket is simply dropped.
void FramedSession::SetSession(SSL_SESSION* session) {
  SSL_SESSION_free(session);
}

absl::Status FramedSession::Wait(short events, absl::Time deadline,
                                 absl::string_view phase) {
  const int ready = internal::PollUntil(fd_, events, deadline);
  if (ready == 0) {
    return Error(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
                 absl::StrCat("server '", server_.name, "' at ", server_.host,
                              ":", server_.port, " timed out (", phase, ")"));
  }
  if (ready < 0) {
    return Error(absl::StatusCode::kInternal, TL_E_IO,
                 absl::StrCat("poll: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status FramedSession::Open(SSL_CTX* ctx, absl::Time deadline) {
  const std::string host = server_.host.empty() ? server_.name : server_.host;
  absl::StatusOr<std::vector<SocketAddress>> addresses =
      Resolve(host, deadline);
  if (!addresses.ok()) {
    return addresses.status();
  }
  absl::StatusOr<int> fd = Dial(host, *addresses, deadline);
  if (!fd.ok()) {
    return fd.status();
  }
  fd_ = *fd;
  ssl_.reset(SSL_new(ctx));
  BIO* bio = ssl_ != nullptr ? NewSocketBio(fd_) : nullptr;
  if (bio == nullptr) {
    return Error(absl::StatusCode::kInternal, TL_E_INTERNAL,
                 "cannot create the TLS object");
  }
  SSL_set_bio(ssl_.get(), bio, bio);
  SSL_set_app_data(ssl_.get(), static_cast<PinnedPeer*>(this));
  SSL_set_connect_state(ssl_.get());
  in6_addr scratch;
  if (inet_pton(AF_INET, host.c_str(), &scratch) != 1 &&
      inet_pton(AF_INET6, host.c_str(), &scratch) != 1) {
    SSL_set_tlsext_host_name(ssl_.get(), host.c_str());
  }
  return Handshake(deadline);
}

absl::Status FramedSession::Handshake(absl::Time deadline) {
  for (;;) {
    const int rc = SSL_do_handshake(ssl_.get());
    if (rc == 1) {
      break;
    }
    const int saved_errno = errno;
    const int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      absl::Status st = Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                             deadline, "TLS handshake");
      if (!st.ok()) {
        return st;
      }
      continue;
    }
    const uint32_t first = ERR_peek_error();
    if (!pin_error_.ok()) {
      ERR_clear_error();
      return pin_error_;
    }
    absl::Status why = TlsFailure(server_.name, err, saved_errno, false);
    if (first != 0 &&
        ERR_GET_REASON(first) == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL) {
      return Error(why.code(), ToTlStatus(why),
                   absl::StrCat(why.message(),
                                "; the server does not serve this link's "
                                "protocol (ALPN); it may need an upgrade"));
    }
    return why;
  }
  // A resumed session skips the verify callback; check the pin on every
  // handshake anyway.
  if (!CheckPin(ssl_.get())) {
    return pin_error_;
  }
  return absl::OkStatus();
}

absl::Status FramedSession::Broken(const absl::Status& why) {
  Close();
  return why;
}

absl::Status FramedSession::WriteAll(const std::string& bytes,
                                     absl::Time deadline) {
  size_t off = 0;
  while (off < bytes.size()) {
    const int n = SSL_write(ssl_.get(), bytes.data() + off,
                            static_cast<int>(bytes.size() - off));
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    const int saved_errno = errno;
    const int err = SSL_get_error(ssl_.get(), n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      absl::Status st = Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                             deadline, "sending a request");
      if (!st.ok()) {
        return st;
      }
      continue;
    }
    return TlsFailure(server_.name, err, saved_errno, true);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FramedSession::Call(absl::string_view partition,
                                                uint32_t op,
                                                absl::string_view data,
                                                absl::Time deadline) {
  if (closed()) {
    return Lost(server_.name,
                "the session was closed after an earlier failure; open a new "
                "one");
  }
  const uint32_t id = next_id_++;
  wire::Request req;
  req.partition = std::string(partition);
  req.op = op;
  req.data = std::string(data);
  std::string out;
  wire::AppendFrame(wire::FrameType::kRequest, 0, id, wire::EncodeRequest(req),
                    &out);
  absl::Status st = WriteAll(out, deadline);
  if (!st.ok()) {
    return Broken(st);
  }
  for (;;) {
    // Frames already buffered first: a response may have come with the last
    // read.
    for (;;) {
      wire::DecodeResult r = wire::DecodeFrame(in_, settings_.max_payload);
      if (r.kind == wire::DecodeResult::Kind::kNeedMore) {
        break;
      }
      if (r.kind == wire::DecodeResult::Kind::kError) {
        return Broken(
            Error(absl::StatusCode::kInternal, TL_E_PROTOCOL,
                  absl::StrCat("protocol error from server '", server_.name,
                               "': ", r.error.message())));
      }
      const wire::FrameView f = r.frame;
      if (f.type == wire::FrameType::kResponse && f.id == id) {
        absl::StatusOr<wire::Response> resp = wire::DecodeResponse(f.payload);
        in_.erase(0, r.consumed);
        if (!resp.ok()) {
          return Broken(
              Error(absl::StatusCode::kInternal, TL_E_PROTOCOL,
                    absl::StrCat("protocol error from server '", server_.name,
                                 "': ", resp.status().message())));
        }
        if (resp->status != 0) {
          return Error(
              CanonicalForRemote(resp->status), resp->status,
              absl::StrCat("server '", server_.name, "': ", resp->data));
        }
        return std::move(resp->data);
      }
      if (f.type == wire::FrameType::kGoAway) {
        absl::StatusOr<wire::Closing> c = wire::DecodeClosing(f.payload);
        const int32_t code =
            c.ok() && c->status != 0 ? c->status : TL_E_CONNECTION_LOST;
        return Broken(Error(
            CanonicalForRemote(code), code,
            absl::StrCat("server '", server_.name,
                         "' closed the link: ", c.ok() ? c->message : "")));
      }
      if (f.type == wire::FrameType::kPing) {
        std::string pong;
        wire::AppendFrame(wire::FrameType::kPong, 0, f.id, f.payload, &pong);
        in_.erase(0, r.consumed);
        st = WriteAll(pong, deadline);
        if (!st.ok()) {
          return Broken(st);
        }
        continue;
      }
      // A pong or another call's response (none are left behind: a call that
      // gives up closes the session).
      in_.erase(0, r.consumed);
    }
    char buf[kReadChunk];
    const int n = SSL_read(ssl_.get(), buf, sizeof(buf));
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      continue;
    }
    const int saved_errno = errno;
    const int err = SSL_get_error(ssl_.get(), n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      st = Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
                "waiting for the response");
      if (!st.ok()) {
        // Giving up on this response means never reading it: close now.
        return Broken(Error(st.code(), ToTlStatus(st),
                            absl::StrCat(st.message(),
                                         "; the session is closed, so a late "
                                         "response is never read")));
      }
      continue;
    }
    return Broken(TlsFailure(server_.name, err, saved_errno, true));
  }
}

}  // namespace trustlink::ntl::client
