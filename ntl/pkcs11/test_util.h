#ifndef TRUSTLINK_NTL_PKCS11_TEST_UTIL_H_
#define TRUSTLINK_NTL_PKCS11_TEST_UTIL_H_

// Test helpers: a recording StreamSink, fake p11-kit programs and a token store
// with real SoftHSM2 partitions under $TEST_TMPDIR.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "ntl/internal/mutex.h"
#include "ntl/pkcs11/stream.h"
#include "ntl/pkcs11/token_store.h"

namespace trustlink::ntl::pkcs11::testing {

// RecordingSink keeps what the service sent.
// Thread safety: safe from any thread.
class RecordingSink : public StreamSink {
 public:
  void Send(std::string data) override;
  void Close(int32_t status, std::string message) override;
  // WaitForData waits until `n` bytes arrived; returns them (or what came by
  // the deadline).
  std::string WaitForData(size_t n, absl::Duration timeout = absl::Seconds(20));
  // WaitClosed waits for Close; false if it did not come in time.
  bool WaitClosed(absl::Duration timeout = absl::Seconds(20));
  int32_t status();
  std::string message();
  // sends counts Send calls: how many pieces the data came in.
  size_t sends();

 private:
  internal::Mutex mu_;
  internal::CondVar cv_;
  std::string data_ ABSL_GUARDED_BY(mu_);
  size_t sends_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int32_t status_ ABSL_GUARDED_BY(mu_) = 0;
  std::string message_ ABSL_GUARDED_BY(mu_);
};

// FakeP11Kit writes an executable script under $TEST_TMPDIR that ignores its
// arguments and runs `body` (a shell command), and returns its path.
std::string FakeP11Kit(const std::string& name, const std::string& body);

// StoreWithPartitions opens a token store at $TEST_TMPDIR/<root> and creates
// the partitions (SO PIN 12345678, user PIN 87654321) that do not exist yet.
TokenStore StoreWithPartitions(const std::string& root,
                               std::initializer_list<const char*> partitions);

// P11KitHeader is p11-kit's 12-byte RPC message header (rpc-transport.c): the
// call code, the options length and the body length, big-endian.
std::string P11KitHeader(uint32_t code, uint32_t options_len,
                         uint32_t body_len);

// WaitUntil polls `done` until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& done,
               absl::Duration timeout = absl::Seconds(20));

}  // namespace trustlink::ntl::pkcs11::testing

#endif  // TRUSTLINK_NTL_PKCS11_TEST_UTIL_H_
