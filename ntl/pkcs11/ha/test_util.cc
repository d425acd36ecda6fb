#include "ntl/pkcs11/ha/test_util.h"

#include <stdlib.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/pkcs11/ha/cloning_key_file.h"

namespace trustlink::ntl::pkcs11::ha {

void TestLog::Add(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  lines_.push_back(line);
  cv_.notify_all();
}

bool TestLog::Wait(const std::string& text, const std::string& other,
                   absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
    return LineWith(lines_, text) >= 0 ||
           (!other.empty() && LineWith(lines_, other) >= 0);
  });
}

std::vector<std::string> TestLog::Lines() {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

std::string TestLog::Text() {
  std::string all;
  for (const std::string& line : Lines()) {
    absl::StrAppend(&all, line, "\n");
  }
  return all;
}

int LineWith(const std::vector<std::string>& lines, const std::string& text) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find(text) != std::string::npos) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

HaModuleOptions FastRetryOptions(TestLog* log, int reconnect_attempts) {
  HaModuleOptions o;
  o.label = "g";
  o.retry_interval = absl::Milliseconds(5);
  o.reconnect_attempts = reconnect_attempts;
  o.log = [log](const std::string& line) { log->Add(line); };
  return o;
}

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
