#include "ntl/pkcs11/test_util.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::pkcs11::testing {

void RecordingSink::Send(std::string data) {
  internal::MutexLock lock(&mu_);
  data_ += data;
  ++sends_;
  cv_.SignalAll();
}

void RecordingSink::Close(int32_t status, std::string message) {
  internal::MutexLock lock(&mu_);
  if (!closed_) {
    closed_ = true;
    status_ = status;
    message_ = std::move(message);
  }
  cv_.SignalAll();
}

std::string RecordingSink::WaitForData(size_t n, absl::Duration timeout) {
  internal::MutexLock lock(&mu_);
  cv_.WaitUntil(&mu_, absl::Now() + timeout, [&] {
    mu_.AssertHeld();
    return data_.size() >= n;
  });
  return data_;
}

bool RecordingSink::WaitClosed(absl::Duration timeout) {
  internal::MutexLock lock(&mu_);
  return cv_.WaitUntil(&mu_, absl::Now() + timeout, [&] {
    mu_.AssertHeld();
    return closed_;
  });
}

int32_t RecordingSink::status() {
  internal::MutexLock lock(&mu_);
  return status_;
}

size_t RecordingSink::sends() {
  internal::MutexLock lock(&mu_);
  return sends_;
}

std::string RecordingSink::message() {
  internal::MutexLock lock(&mu_);
  return message_;
}

std::string P11KitHeader(uint32_t code, uint32_t options_len,
                         uint32_t body_len) {
  std::string h;
  for (uint32_t v : {code, options_len, body_len}) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      h.push_back(static_cast<char>((v >> shift) & 0xff));
    }
  }
  return h;
}

std::string FakeP11Kit(const std::string& name, const std::string& body) {
  std::string path = absl::StrCat(getenv("TEST_TMPDIR"), "/", name);
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  chmod(path.c_str(), 0700);
  return path;
}

TokenStore StoreWithPartitions(const std::string& root,
                               std::initializer_list<const char*> partitions) {
  absl::StatusOr<TokenStore> store =
      TokenStore::Open(absl::StrCat(getenv("TEST_TMPDIR"), "/", root));
  EXPECT_TRUE(store.ok()) << store.status();
  for (const char* p : partitions) {
    if (!store->Find(p).ok()) {
      absl::Status s = store->Create(p, "12345678", "87654321");
      EXPECT_TRUE(s.ok()) << s;
    }
  }
  return std::move(*store);
}

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

}  // namespace trustlink::ntl::pkcs11::testing
