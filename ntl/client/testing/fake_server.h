#ifndef TRUSTLINK_NTL_CLIENT_TESTING_FAKE_SERVER_H_
#define TRUSTLINK_NTL_CLIENT_TESTING_FAKE_SERVER_H_

// FakeServer: a small NTLS peer for the client's tests, built from ntl/wire and
// BoringSSL with one blocking thread per connection. It admits like the real
// server (alerts, goaway, welcome) and can inject faults. Ops: kOpEcho answers
// with the data, kOpHold never answers, kOpFail answers with
// TL_E_INVALID_ARGUMENT. Streams echo their data.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "ntl/internal/mutex.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::client::testing {

inline constexpr uint32_t kOpEcho = 1;
inline constexpr uint32_t kOpHold = 2;
inline constexpr uint32_t kOpFail = 3;

enum class Fault {
  kNone,
  kSilentAfterWelcome,    // reads everything, answers nothing (not even pings)
  kGarbageAfterWelcome,   // sends bytes that are not a frame
  kCutFrameAfterWelcome,  // sends half a frame and closes
};

struct FakeServerOptions {
  std::string cert_pem;  // the server's identity
  std::string key_pem;
  uint8_t admission_alert =
      0;  // e.g. SSL_AD_CERTIFICATE_UNKNOWN: refuse every client
  int32_t goaway_status = 0;  // non-zero: answer hello with goaway
  std::string goaway_message;
  std::vector<wire::SlotInfo> slots;
  std::string client_label = "client.test";
  Fault fault = Fault::kNone;
};

// Thread safety: all methods are safe from any thread.
class FakeServer {
 public:
  // Start listens on 127.0.0.1:`port` (0: the kernel picks).
  static absl::StatusOr<std::unique_ptr<FakeServer>> Start(
      FakeServerOptions options, uint16_t port = 0);
  ~FakeServer();

  uint16_t port() const { return port_; }
  // DropConnections cuts every live connection (TCP shutdown), keeps listening.
  void DropConnections();
  // Stop closes the listener and every connection and joins the threads.
  void Stop();

  int accepted() const { return accepted_.load(); }
  int resumed() const { return resumed_.load(); }
  int held() const { return held_.load(); }
  uint32_t last_hello_features() const { return hello_features_.load(); }

 private:
  FakeServer() = default;
  void AcceptLoop();
  void Serve(int fd);

  FakeServerOptions options_;
  void* ctx_ =
      nullptr;  // SSL_CTX*, kept opaque to spare users the BoringSSL headers
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> resumed_{0};
  std::atomic<int> held_{0};
  std::atomic<uint32_t> hello_features_{0};
  std::thread accept_thread_;
  internal::Mutex mu_;
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// ReadTestFile reads a file relative to the test's runfiles directory.
std::string ReadTestFile(const std::string& path);

}  // namespace trustlink::ntl::client::testing

#endif  // TRUSTLINK_NTL_CLIENT_TESTING_FAKE_SERVER_H_
