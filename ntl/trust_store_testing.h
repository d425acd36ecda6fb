#ifndef TRUSTLINK_NTL_TRUST_STORE_TESTING_H_
#define TRUSTLINK_NTL_TRUST_STORE_TESTING_H_

// What the TrustStore tests share (trust_store_test.cc for the API,
// trust_store_crash_test.cc for what many processes and a kill leave): a fresh
// store per test, server certificates, and checks that read the files directly
// rather than through the store's own code.

#include <map>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/trust_store.h"

namespace trustlink::ntl {

// NewRootPath is a client root path under $TEST_TMPDIR no other test uses.
std::string NewRootPath(const std::string& leaf);

// ServerPem is a fresh server certificate for `name`, valid `days` from `now`.
std::string ServerPem(absl::string_view name,
                      absl::Time now = absl::InfinitePast(), int days = 730);

// Tree returns every file under `path` (one level of subdirectories) with its
// contents, so a test can show that a failed call changed nothing.
std::map<std::string, std::string> Tree(const std::string& path);

// RawConsistent reads cert/server without the store's code paths for updates
// and checks the invariant: CAFile.pem parses and holds exactly the named
// files' certificates.
::testing::AssertionResult RawConsistent(const std::string& root);

// TrustStoreTest opens a store, created, under a new client root.
class TrustStoreTest : public ::testing::Test {
 protected:
  void SetUp() override;
  std::string root_path_;
  std::unique_ptr<internal::SafeDir> root_;
  std::unique_ptr<TrustStore> store_;
};

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_TRUST_STORE_TESTING_H_
