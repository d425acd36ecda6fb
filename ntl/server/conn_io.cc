// A connection's TLS path: the BIO that feeds BoringSSL the ciphertext a
// wake-up read and sends what it writes, epoll interest, driving the handshake
// and reading plaintext, and writing answers out (one flush per batch).

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"
#include "ntl/server/link_settings.h"

namespace trustlink::ntl::server::internal_engine {

namespace {

constexpr size_t kReadChunk = 64 * 1024;

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

}  // namespace

Conn* Loop::ConnFromSsl(const SSL* ssl) {
  return static_cast<Conn*>(SSL_get_ex_data(ssl, SslIndex()));
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

void Loop::DrivePendingCipher(Conn* c) {
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
      DrivePendingCipher(c);
    }
  }
}

}  // namespace trustlink::ntl::server::internal_engine
