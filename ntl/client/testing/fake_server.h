#ifndef TRUSTLINK_NTL_CLIENT_TESTING_FAKE_SERVER_H_
#define TRUSTLINK_NTL_CLIENT_TESTING_FAKE_SERVER_H_

// FakeServer: a small NTLS peer for the client's tests, built from ntl/wire and
// BoringSSL with one blocking thread per connection. It admits like the real
// server (alerts, goaway, welcome) and can inject faults. Ops: kOpEcho answers
// with the data, kOpHold never answers, kOpFail answers with
// TL_E_INVALID_ARGUMENT. Streams echo their data.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "htl/appliance.h"
#include "ntl/internal/mutex.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::client::testing {

inline constexpr uint32_t kOpEcho = 1;
inline constexpr uint32_t kOpHold = 2;
inline constexpr uint32_t kOpFail = 3;

enum class Fault {
  kNone,
  kSilentAfterWelcome,    // reads everything, answers nothing (not even pings)
  kSilentBeforeWelcome,   // completes TLS, then never answers hello
  kGarbageAfterWelcome,   // sends bytes that are not a frame
  kCutFrameAfterWelcome,  // sends half a frame and closes
};

struct FakeServerOptions {
  std::string cert_pem;  // the server's identity
  std::string key_pem;
  uint8_t admission_alert =
      0;  // e.g. SSL_AD_CERTIFICATE_UNKNOWN: refuse every client
  int32_t goaway_status =
      0;  // non-zero: answer hello (htl/1: the handshake) with goaway
  std::string goaway_message;
  std::vector<wire::SlotInfo> slots;
  std::string client_label = "client.test";
  Fault fault = Fault::kNone;
  // hold_calls: every call is held like kOpHold (pings are still answered),
  // so a test can lose a call of any op in flight.
  bool hold_calls = false;

  // HTL: the appliance state the htl/1 ops and link proofs go to (borrowed; it
  // must outlive the server). The HTL client label is `client_label`.
  htl::Appliance* htl_appliance = nullptr;
  // htl_reply, when set, is asked after the appliance processed each htl/1
  // request: kDrop closes the connection without a reply (a lost reply),
  // kDelay sends the reply only after htl_delay (or once the client hung up).
  enum class HtlReply { kSend, kDrop, kDelay };
  std::function<HtlReply(uint32_t op)> htl_reply;
  absl::Duration htl_delay = absl::Seconds(2);
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
  // HTL counters: htl/1 sessions accepted, htl/1 requests processed, and
  // link proofs accepted / refused on ntl/1 links.
  int htl_sessions() const { return htl_sessions_.load(); }
  int htl_requests() const { return htl_requests_.load(); }
  int link_proofs_ok() const { return link_proofs_ok_.load(); }
  int link_proofs_refused() const { return link_proofs_refused_.load(); }

 private:
  FakeServer() = default;
  void AcceptLoop();
  void Serve(int fd);
  // ServeHtl serves one admitted htl/1 connection (fake_server_htl.cc).
  void ServeHtl(void* ssl, int fd);
  // CheckLinkProof checks an htl-proof frame's payload for the ntl/1 link
  // `ssl` (fake_server_htl.cc).
  absl::Status CheckLinkProof(void* ssl, absl::string_view payload);

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
  std::atomic<int> htl_sessions_{0};
  std::atomic<int> htl_requests_{0};
  std::atomic<int> link_proofs_ok_{0};
  std::atomic<int> link_proofs_refused_{0};
  std::thread accept_thread_;
  internal::Mutex mu_;
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// ReadTestFile reads a file relative to the test's runfiles directory.
std::string ReadTestFile(const std::string& path);

}  // namespace trustlink::ntl::client::testing

#endif  // TRUSTLINK_NTL_CLIENT_TESTING_FAKE_SERVER_H_
