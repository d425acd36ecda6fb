#include "ntl/client/testing/fake_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ntl/status.h"
#include "ntl/tls/policy.h"
#include "ntl/wire/frame.h"
#include "trustlink/base.h"

namespace trustlink::ntl::client::testing {
namespace {

const absl::string_view kProtocols[] = {tls::kAlpnNtl, tls::kAlpnHtl};

int AlertIndex() {
  static int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

enum ssl_verify_result_t Admit(SSL* ssl, uint8_t* out_alert) {
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  const auto alert = static_cast<uint8_t>(
      reinterpret_cast<uintptr_t>(SSL_CTX_get_ex_data(ctx, AlertIndex())));
  if (alert != 0) {
    *out_alert = alert;
    return ssl_verify_invalid;
  }
  return ssl_verify_ok;
}

bool WriteAll(SSL* ssl, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const int n =
        SSL_write(ssl, data.data() + off, static_cast<int>(data.size() - off));
    if (n <= 0) {
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string ReadTestFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

absl::StatusOr<std::unique_ptr<FakeServer>> FakeServer::Start(
    FakeServerOptions options, uint16_t port) {
  // The fake peer writes with the plain socket BIO; a client that goes away
  // must not kill the test process with SIGPIPE. (The client library itself
  // uses MSG_NOSIGNAL.)
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<FakeServer> s(new FakeServer());
  s->options_ = std::move(options);
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  s->ctx_ = ctx;
  absl::Status st = tls::ApplyLinkPolicy(ctx, tls::Role::kServer);
  if (!st.ok()) {
    return st;
  }
  // htl/1 only with an appliance to serve it, so a client can also meet a
  // server that does not speak it.
  tls::RequireAlpn(ctx, kProtocols,
                   s->options_.htl_appliance != nullptr ? 2 : 1);
  bssl::UniquePtr<BIO> cb(
      BIO_new_mem_buf(s->options_.cert_pem.data(),
                      static_cast<int>(s->options_.cert_pem.size())));
  bssl::UniquePtr<X509> cert(
      PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  bssl::UniquePtr<BIO> kb(
      BIO_new_mem_buf(s->options_.key_pem.data(),
                      static_cast<int>(s->options_.key_pem.size())));
  bssl::UniquePtr<EVP_PKEY> key(
      PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr || key == nullptr ||
      !SSL_CTX_use_certificate(ctx, cert.get()) ||
      !SSL_CTX_use_PrivateKey(ctx, key.get())) {
    return absl::InvalidArgumentError("fake server: bad certificate or key");
  }
  SSL_CTX_set_ex_data(ctx, AlertIndex(),
                      reinterpret_cast<void*>(
                          static_cast<uintptr_t>(s->options_.admission_alert)));
  SSL_CTX_set_custom_verify(
      ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, Admit);

  s->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(s->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A restart on the port a test just freed: the kernel may have handed it to
  // another test's connect meanwhile, for a moment. Retried until a deadline,
  // as a restarted daemon's supervisor would.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  int bound;
  while ((bound = bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr),
                       sizeof(addr))) != 0 &&
         errno == EADDRINUSE && port != 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));  // retrying under a deadline
  }
  if (bound != 0 || listen(s->listen_fd_, 64) != 0) {
    return absl::UnavailableError(
        absl::StrCat("fake server: bind: ", strerror(errno)));
  }
  socklen_t len = sizeof(addr);
  getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  s->port_ = ntohs(addr.sin_port);
  FakeServer* raw = s.get();
  s->accept_thread_ = std::thread([raw]() { raw->AcceptLoop(); });
  // Named like the real server's threads, and by the creator so the name is
  // there before Start returns: the client tests' thread counts
  // (testing::ThreadCount) leave the fake server's threads out.
  pthread_setname_np(s->accept_thread_.native_handle(), "ntls-fake");
  return s;
}

FakeServer::~FakeServer() {
  Stop();
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

void FakeServer::AcceptLoop() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_.load() || errno == EINVAL || errno == EBADF) {
        return;
      }
      continue;
    }
    internal::MutexLock lock(&mu_);
    if (stopping_.load()) {
      close(fd);
      return;
    }
    accepted_.fetch_add(1);
    fds_.push_back(fd);
    threads_.emplace_back([this, fd]() { Serve(fd); });
    pthread_setname_np(threads_.back().native_handle(), "ntls-fake-conn");
  }
}

void FakeServer::DropConnections() {
  internal::MutexLock lock(&mu_);
  for (int fd : fds_) {
    shutdown(fd, SHUT_RDWR);
  }
}

void FakeServer::Stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) {
    accept_thread_.join();
  }
  close(listen_fd_);
  std::vector<std::thread> threads;
  {
    internal::MutexLock lock(&mu_);
    for (int fd : fds_) {
      shutdown(fd, SHUT_RDWR);
    }
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    t.join();
  }
}

void FakeServer::Serve(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  bssl::UniquePtr<SSL> ssl(SSL_new(static_cast<SSL_CTX*>(ctx_)));
  SSL_set_fd(ssl.get(), fd);
  int held_here = 0;
  if (SSL_accept(ssl.get()) == 1 &&
      tls::NegotiatedAlpn(ssl.get()) == tls::kAlpnHtl) {
    ServeHtl(ssl.get(), fd);
  } else if (SSL_is_init_finished(ssl.get())) {
    if (SSL_session_reused(ssl.get())) {
      resumed_.fetch_add(1);
    }
    bool awaiting_proof = false;
    std::string in;
    bool welcomed = false;
    char buf[16384];
    for (;;) {
      const int n = SSL_read(ssl.get(), buf, sizeof(buf));
      if (n <= 0) {
        break;
      }
      in.append(buf, static_cast<size_t>(n));
      size_t off = 0;
      std::string out;
      bool close_now = false;
      for (;;) {
        wire::DecodeResult r = wire::DecodeFrame(
            absl::string_view(in).substr(off), wire::kDefaultMaxPayload);
        if (r.kind != wire::DecodeResult::Kind::kFrame) {
          close_now = r.kind == wire::DecodeResult::Kind::kError;
          break;
        }
        off += r.consumed;
        const wire::FrameView& f = r.frame;
        if (welcomed && options_.fault == Fault::kSilentAfterWelcome) {
          continue;
        }
        if (awaiting_proof) {
          // The frame right after an HTL hello must be the link's proof.
          awaiting_proof = false;
          absl::Status st =
              f.type == wire::FrameType::kHtlProof
                  ? CheckLinkProof(ssl.get(), f.payload)
                  : absl::Status(absl::InvalidArgumentError(
                        absl::StrCat("expected htl-proof after hello, got ",
                                     wire::FrameTypeName(f.type))));
          if (!st.ok()) {
            link_proofs_refused_.fetch_add(1);
            wire::Closing c{st.code() == absl::StatusCode::kInvalidArgument
                                ? TL_E_PROTOCOL
                                : static_cast<int32_t>(ToTlStatus(st)),
                            std::string(st.message())};
            wire::AppendFrame(wire::FrameType::kGoAway, 0, 0,
                              wire::EncodeClosing(c), &out);
            close_now = true;
            break;
          }
          link_proofs_ok_.fetch_add(1);
          wire::Welcome w{options_.client_label, options_.slots};
          wire::AppendFrame(wire::FrameType::kWelcome, 0, 0,
                            wire::EncodeWelcome(w), &out);
          welcomed = true;
          continue;
        }
        switch (f.type) {
          case wire::FrameType::kHello: {
            absl::StatusOr<wire::Hello> h = wire::DecodeHello(f.payload);
            hello_features_.store(h.ok() ? h->features : 0xffffffffu);
            if (options_.fault == Fault::kSilentBeforeWelcome) {
              break;
            }
            if (options_.goaway_status != 0) {
              wire::Closing c{options_.goaway_status, options_.goaway_message};
              wire::AppendFrame(wire::FrameType::kGoAway, 0, 0,
                                wire::EncodeClosing(c), &out);
              close_now = true;
              break;
            }
            if (h.ok() && (h->features & wire::kFeatureClientRequiresHtl) &&
                options_.htl_appliance != nullptr) {
              awaiting_proof = true;
              break;
            }
            wire::Welcome w{options_.client_label, options_.slots};
            wire::AppendFrame(wire::FrameType::kWelcome, 0, 0,
                              wire::EncodeWelcome(w), &out);
            welcomed = true;
            if (options_.fault == Fault::kGarbageAfterWelcome) {
              out.append("\xff\xff\xff\xff garbage that is not a frame");
            } else if (options_.fault == Fault::kCutFrameAfterWelcome) {
              std::string frame;
              wire::AppendFrame(wire::FrameType::kResponse, 0, 7, "0123456789",
                                &frame);
              out.append(frame.substr(0, frame.size() / 2));
              close_now = true;
            }
            break;
          }
          case wire::FrameType::kRequest: {
            absl::StatusOr<wire::Request> req = wire::DecodeRequest(f.payload);
            wire::Response resp;
            if (!req.ok()) {
              close_now = true;
              break;
            }
            if (req->op == kOpHold || options_.hold_calls) {
              ++held_here;
              held_.fetch_add(1);
              continue;
            }
            if (req->op == kOpEcho) {
              resp.data = req->data;
            } else {
              resp.status = TL_E_INVALID_ARGUMENT;
              resp.data = absl::StrCat("op ", req->op, " is not supported");
            }
            wire::AppendFrame(wire::FrameType::kResponse, 0, f.id,
                              wire::EncodeResponse(resp), &out);
            break;
          }
          case wire::FrameType::kPing:
            wire::AppendFrame(wire::FrameType::kPong, 0, f.id, f.payload, &out);
            break;
          case wire::FrameType::kStreamOpen:
            break;
          case wire::FrameType::kStreamData:
            wire::AppendFrame(wire::FrameType::kStreamData, 0, f.id, f.payload,
                              &out);
            break;
          case wire::FrameType::kStreamClose: {
            wire::Closing c;
            wire::AppendFrame(wire::FrameType::kStreamClose, 0, f.id,
                              wire::EncodeClosing(c), &out);
            break;
          }
          default:
            break;
        }
        if (close_now) {
          break;
        }
      }
      in.erase(0, off);
      if (!out.empty() && !WriteAll(ssl.get(), out)) {
        break;
      }
      if (close_now) {
        break;
      }
    }
  }
  ERR_clear_error();
  held_.fetch_sub(held_here);
  internal::MutexLock lock(&mu_);
  // Shut the socket down before closing it so DropConnections never touches a
  // reused fd.
  fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
  close(fd);
}

}  // namespace trustlink::ntl::client::testing
