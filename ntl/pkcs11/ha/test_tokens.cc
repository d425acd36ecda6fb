#include "ntl/pkcs11/ha/test_tokens.h"

#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/pkcs11/ha/cloning_key_file.h"

namespace trustlink::ntl::pkcs11::ha {

std::string TestRoot() {
  return absl::StrCat(
      getenv("TEST_TMPDIR"), "/",
      ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

absl::StatusOr<TokenStore> ClonedTokens(const std::string& root,
                                        const std::vector<std::string>& labels,
                                        const std::string& so_pin,
                                        const std::string& user_pin) {
  absl::StatusOr<TokenStore> store = TokenStore::Open(root);
  if (!store.ok()) {
    return store.status();
  }
  std::string key(32, '\x5a');
  for (const std::string& label : labels) {
    absl::Status s = store->Create(label, so_pin, user_pin);
    if (s.ok()) {
      s = InstallCloningKey(*store, label, so_pin, key);
    }
    if (!s.ok()) {
      return s;
    }
  }
  return store;
}

}  // namespace trustlink::ntl::pkcs11::ha
