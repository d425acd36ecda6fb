#include "ntl/server/test_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ntl/tls/policy.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::server::testing {
namespace {

// IgnoreSigpipe: BoringSSL's socket BIO writes with write(), so writing to a
// link the server has closed raised SIGPIPE and ended the whole test binary
// (exit 141) before gtest could name the check that failed or print its
// summary. Ignored, the write fails with EPIPE and the test says so.
void IgnoreSigpipe() {
  static const bool ignored = signal(SIGPIPE, SIG_IGN) != SIG_ERR;
  (void)ignored;
}

}  // namespace

TestClient::~TestClient() {
  ssl_.reset();
  if (fd_ >= 0) {
    close(fd_);
  }
}

int TestClient::NewSession(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<TestClient*>(SSL_get_app_data(ssl));
  self->session_.reset(session);
  return 1;  // we took ownership
}

absl::Status TestClient::Fail(absl::string_view what) {
  const uint32_t e = ERR_peek_last_error();
  const int reason = ERR_GET_REASON(e);
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET) {
    alert_ = reason - SSL_AD_REASON_OFFSET;
  }
  std::string text = e ? ERR_reason_error_string(e) : "connection closed";
  ERR_clear_error();
  return absl::UnavailableError(absl::StrCat(what, ": ", text));
}

absl::StatusOr<std::unique_ptr<TestClient>> TestClient::Connect(
    uint16_t port, const TestClientOptions& o) {
  IgnoreSigpipe();
  auto c = std::unique_ptr<TestClient>(new TestClient());
  c->fd_ = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{o.io_timeout_seconds, 0};
  setsockopt(c->fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(c->fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  // Without it, a frame written right after the handshake waits for the
  // server's delayed ACK (Nagle): 40 ms per link in every test.
  const int one = 1;
  setsockopt(c->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (!o.source_ip.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, o.source_ip.c_str(), &local.sin_addr);
    if (bind(c->fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      return absl::InternalError(
          absl::StrCat("bind ", o.source_ip, ": ", strerror(errno)));
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(c->fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(absl::StrCat("connect: ", strerror(errno)));
  }
  c->ctx_.reset(SSL_CTX_new(TLS_method()));
  absl::Status st = tls::ApplyLinkPolicy(c->ctx_.get(), tls::Role::kClient);
  if (!st.ok()) {
    return st;
  }
  if (o.max_version != 0) {
    SSL_CTX_set_max_proto_version(c->ctx_.get(), o.max_version);
  }
  if (!o.alpn.empty()) {
    st = tls::OfferAlpn(c->ctx_.get(), o.alpn);
    if (!st.ok()) {
      return st;
    }
  }
  SSL_CTX_set_custom_verify(c->ctx_.get(), SSL_VERIFY_PEER,
                            [](SSL*, uint8_t*) { return ssl_verify_ok; });
  SSL_CTX_set_session_cache_mode(c->ctx_.get(), SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(c->ctx_.get(), &TestClient::NewSession);
  if (!o.cert_pem.empty()) {
    bssl::UniquePtr<BIO> cb(
        BIO_new_mem_buf(o.cert_pem.data(), o.cert_pem.size()));
    bssl::UniquePtr<X509> cert(
        PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    bssl::UniquePtr<BIO> kb(
        BIO_new_mem_buf(o.key_pem.data(), o.key_pem.size()));
    bssl::UniquePtr<EVP_PKEY> key(
        PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!cert || !key || !SSL_CTX_use_certificate(c->ctx_.get(), cert.get()) ||
        !SSL_CTX_use_PrivateKey(c->ctx_.get(), key.get())) {
      return absl::InvalidArgumentError("bad test certificate or key");
    }
  }
  c->ssl_.reset(SSL_new(c->ctx_.get()));
  SSL_set_app_data(c->ssl_.get(), c.get());
  SSL_set_fd(c->ssl_.get(), c->fd_);
  if (o.session != nullptr) {
    SSL_set_session(c->ssl_.get(), o.session);
  }
  if (o.pause_after_server_flight) {
    // Reads come from an empty memory BIO, so the ClientHello goes out and
    // the server's answer stays in the socket, unread.
    BIO* empty = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(empty, -1);
    SSL_set0_rbio(c->ssl_.get(), empty);
    const int r = SSL_connect(c->ssl_.get());
    if (r == 1 || SSL_get_error(c->ssl_.get(), r) != SSL_ERROR_WANT_READ) {
      return c->Fail("handshake");
    }
    ERR_clear_error();
    pollfd p{c->fd_, POLLIN, 0};
    if (poll(&p, 1, o.io_timeout_seconds * 1000) != 1) {
      return absl::DeadlineExceededError(
          "the server's first flight did not arrive");
    }
    return c;
  }
  if (SSL_connect(c->ssl_.get()) != 1) {
    return c->Fail("handshake");
  }
  return c;
}

absl::Status TestClient::FinishHandshake() {
  SSL_set0_rbio(ssl_.get(), BIO_new_socket(fd_, BIO_NOCLOSE));
  if (SSL_connect(ssl_.get()) != 1) {
    return Fail("handshake");
  }
  return absl::OkStatus();
}

absl::Status TestClient::SendRaw(absl::string_view bytes) {
  if (SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size())) <=
      0) {
    return Fail("write");
  }
  return absl::OkStatus();
}

absl::Status TestClient::Send(wire::FrameType type, uint32_t id,
                              absl::string_view payload) {
  std::string out;
  wire::AppendFrame(type, 0, id, payload, &out);
  return SendRaw(out);
}

absl::StatusOr<Frame> TestClient::Read() {
  while (true) {
    wire::DecodeResult d = wire::DecodeFrame(in_, 16u << 20);
    if (d.kind == wire::DecodeResult::Kind::kFrame) {
      Frame f{d.frame.type, d.frame.id, std::string(d.frame.payload)};
      in_.erase(0, d.consumed);
      return f;
    }
    if (d.kind == wire::DecodeResult::Kind::kError) {
      return d.error;
    }
    char buf[65536];
    const int n = SSL_read(ssl_.get(), buf, sizeof(buf));
    if (n <= 0) {
      return Fail("read");
    }
    in_.append(buf, static_cast<size_t>(n));
  }
}

absl::StatusOr<Frame> TestClient::Hello(uint32_t features) {
  wire::Hello h;
  h.features = features;
  h.software = "trustlink-test/1";
  absl::Status st = Send(wire::FrameType::kHello, 0, wire::EncodeHello(h));
  if (!st.ok()) {
    return st;
  }
  return Read();
}

absl::StatusOr<std::pair<int32_t, std::string>> TestClient::Call(
    absl::string_view partition, uint32_t op, absl::string_view data,
    uint32_t id) {
  wire::Request r;
  r.partition = std::string(partition);
  r.op = op;
  r.data = std::string(data);
  absl::Status st = Send(wire::FrameType::kRequest, id, wire::EncodeRequest(r));
  if (!st.ok()) {
    return st;
  }
  while (true) {
    auto f = Read();
    if (!f.ok()) {
      return f.status();
    }
    if (f->type == wire::FrameType::kGoAway) {
      auto cl = wire::DecodeClosing(f->payload);
      return absl::UnavailableError(
          absl::StrCat("goaway ", cl.ok() ? cl->status : -1, ": ",
                       cl.ok() ? cl->message : ""));
    }
    if (f->type == wire::FrameType::kResponse && f->id == id) {
      auto resp = wire::DecodeResponse(f->payload);
      if (!resp.ok()) {
        return resp.status();
      }
      return std::make_pair(resp->status, resp->data);
    }
  }
}

}  // namespace trustlink::ntl::server::testing
