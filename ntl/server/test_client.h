#ifndef TRUSTLINK_NTL_SERVER_TEST_CLIENT_H_
#define TRUSTLINK_NTL_SERVER_TEST_CLIENT_H_

// TestClient: a minimal blocking NTL client for server tests (the real NTLA is
// ntl/client). It speaks TLS with BoringSSL, offers ALPN ntl/1 and trusts any
// server.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/wire/frame.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::server::testing {

struct TestClientOptions {
  std::string cert_pem;  // empty: no client certificate
  std::string key_pem;
  std::string source_ip;  // bind to this local address first ("127.0.0.2")
  SSL_SESSION* session = nullptr;  // offer this session for resumption
  int io_timeout_seconds =
      10;  // each blocking read or write gives up after this
  std::string alpn = "ntl/1";  // "htl/1" for an HTL agent's link; "": none
  // Connect returns once the server's first flight has arrived, unread, with
  // the handshake unfinished (a client caught mid-handshake, as in a
  // reconnect storm); FinishHandshake completes it.
  bool pause_after_server_flight = false;
  uint16_t max_version = 0;  // TLS1_2_VERSION: an older client; 0: the policy's
};

struct Frame {
  wire::FrameType type;
  uint32_t id;
  std::string payload;
};

// Thread safety: one thread per client.
class TestClient {
 public:
  // Connect makes the TCP connection and runs the TLS handshake (a TLS 1.3
  // client can finish before the server has judged its certificate: read to see
  // a refusal).
  static absl::StatusOr<std::unique_ptr<TestClient>> Connect(
      uint16_t port, const TestClientOptions& o);
  ~TestClient();

  // FinishHandshake completes a handshake paused by
  // pause_after_server_flight.
  absl::Status FinishHandshake();
  absl::Status Send(wire::FrameType type, uint32_t id,
                    absl::string_view payload);
  absl::Status SendRaw(absl::string_view bytes);
  // Read returns the next frame, or an error (with alert() set when the server
  // sent one).
  absl::StatusOr<Frame> Read();
  // Hello sends hello (with `features`) and returns the server's answer frame.
  absl::StatusOr<Frame> Hello(uint32_t features = 0);
  // Call sends a request and waits for its response; returns (status, data).
  absl::StatusOr<std::pair<int32_t, std::string>> Call(
      absl::string_view partition, uint32_t op, absl::string_view data,
      uint32_t id = 1);
  // alert is the TLS alert the server sent (SSL_AD_*), or -1.
  int alert() const { return alert_; }
  bool resumed() const { return SSL_session_reused(ssl_.get()) != 0; }
  // session is the latest resumable session the server issued, or null.
  SSL_SESSION* session() const { return session_.get(); }
  int fd() const { return fd_; }
  const SSL* ssl() const { return ssl_.get(); }

 private:
  static int NewSession(SSL* ssl, SSL_SESSION* session);
  absl::Status Fail(absl::string_view what);

  bssl::UniquePtr<SSL_CTX> ctx_;
  bssl::UniquePtr<SSL> ssl_;
  bssl::UniquePtr<SSL_SESSION> session_;
  int fd_ = -1;
  int alert_ = -1;
  std::string in_;
};

}  // namespace trustlink::ntl::server::testing

#endif  // TRUSTLINK_NTL_SERVER_TEST_CLIENT_H_
