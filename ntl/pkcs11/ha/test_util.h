#ifndef TRUSTLINK_NTL_PKCS11_HA_TEST_UTIL_H_
#define TRUSTLINK_NTL_PKCS11_HA_TEST_UTIL_H_

// Test helpers for the HA group: a log the tests wait on, the group options
// they share, and SoftHSM2 tokens under $TEST_TMPDIR that share a
// cloning-domain key, as the members of a group do.

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ntl/pkcs11/ha/ha_module.h"
#include "ntl/pkcs11/token_store.h"

namespace trustlink::ntl::pkcs11::ha {

// TestLog keeps the lines a group logs.
// Thread safety: safe from any thread.
class TestLog {
 public:
  void Add(const std::string& line);
  // Wait waits (up to `timeout`) for a line containing `text` or, if given,
  // `other`; false if none came.
  bool Wait(const std::string& text, const std::string& other = "",
            absl::Duration timeout = absl::Seconds(30));
  std::vector<std::string> Lines();
  // Text is every line, each ending in a newline (for failure messages).
  std::string Text();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

// LineWith is the index of the first of `lines` containing text, or -1.
int LineWith(const std::vector<std::string>& lines, const std::string& text);

// FastRetryOptions: a group labelled "g" that retries a failed member after
// 5 ms (doubling to 40 ms), logging to `log`.
HaModuleOptions FastRetryOptions(TestLog* log, int reconnect_attempts);

// TestRoot is $TEST_TMPDIR/<the running test's name>.
std::string TestRoot();

// ClonedTokens opens a token store at `root` and makes a token per label with
// the PINs given, each holding the same cloning-domain key (as `ntlsh
// partition create -cloningdomain` does on every member).
absl::StatusOr<TokenStore> ClonedTokens(const std::string& root,
                                        const std::vector<std::string>& labels,
                                        const std::string& so_pin,
                                        const std::string& user_pin);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_TEST_UTIL_H_
