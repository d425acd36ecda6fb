#ifndef TRUSTLINK_NTL_CLIENT_TESTING_TEST_UTIL_H_
#define TRUSTLINK_NTL_CLIENT_TESTING_TEST_UTIL_H_

// Shared set-up for the client tests: fixture identities, a fake server with
// one slot, a resolver the test controls and a bounded wait.

#include <dirent.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/client/pin.h"
#include "ntl/client/settings.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/internal/mutex.h"

namespace trustlink::ntl::client::testing {

inline FakeServerOptions ServerOptions(
    const std::string& identity = "server_ed25519") {
  FakeServerOptions o;
  o.cert_pem = ReadTestFile("testdata/tls/" + identity + ".cert.pem");
  o.key_pem = ReadTestFile("testdata/tls/" + identity + ".key.pem");
  return o;
}

// OneSlotServerOptions is ServerOptions for a server listing one partition,
// "p1".
inline FakeServerOptions OneSlotServerOptions() {
  FakeServerOptions o = ServerOptions();
  o.slots = {{"p1", "l", "s"}};
  return o;
}

// StartOneSlotServer starts a FakeServer with OneSlotServerOptions; nullptr
// (and a test failure saying why) if it did not start.
inline std::unique_ptr<FakeServer> StartOneSlotServer() {
  absl::StatusOr<std::unique_ptr<FakeServer>> s =
      FakeServer::Start(OneSlotServerOptions());
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

inline ServerSettings Server(
    const std::string& name, uint16_t port,
    const std::string& pinned_identity = "server_ed25519") {
  ServerSettings s;
  s.name = name;
  s.host = "127.0.0.1";
  s.port = port;
  s.pinned_cert_der =
      CertPemToDer(
          ReadTestFile("testdata/tls/" + pinned_identity + ".cert.pem"), "pin")
          .value();
  return s;
}

inline ClientSettings Settings() {
  ClientSettings s;
  s.client_cert_pem = ReadTestFile("testdata/tls/client_ed25519.cert.pem");
  s.client_key_pem = ReadTestFile("testdata/tls/client_ed25519.key.pem");
  s.connect_timeout = absl::Seconds(5);
  s.reconnect_min = absl::Milliseconds(20);
  s.reconnect_max = absl::Milliseconds(200);
  return s;
}

// TestResolver is a resolver for tests: it records what it was asked and
// answers `answer`, after Release() if it was told to hang. Shared, because a
// lookup's worker thread may outlive the client.
struct TestResolver {
  internal::Mutex mu;
  internal::CondVar cv;
  bool hang ABSL_GUARDED_BY(mu) = false;
  std::vector<std::string> asked ABSL_GUARDED_BY(mu);
  std::vector<std::string> answer ABSL_GUARDED_BY(mu);

  // Answering returns a resolver that answers `answer`, after Release() if
  // `hang`.
  static std::shared_ptr<TestResolver> Answering(
      std::vector<std::string> answer, bool hang = false) {
    auto r = std::make_shared<TestResolver>();
    internal::MutexLock l(&r->mu);
    r->answer = std::move(answer);
    r->hang = hang;
    return r;
  }
  // Of is the ResolverFn for ClientSettings::resolver that asks `r`.
  static ResolverFn Of(std::shared_ptr<TestResolver> r) {
    return [r](const std::string& host)
               -> absl::StatusOr<std::vector<std::string>> {
      internal::MutexLock l(&r->mu);
      r->asked.push_back(host);
      // Bounded, so a failed test cannot leave a thread behind for ever.
      r->cv.WaitUntil(&r->mu, absl::Now() + absl::Seconds(60), [&]() {
        r->mu.AssertHeld();
        return !r->hang;
      });
      return r->answer;
    };
  }
  void Release() {
    internal::MutexLock l(&mu);
    hang = false;
    cv.SignalAll();
  }
  std::vector<std::string> Asked() {
    internal::MutexLock l(&mu);
    return asked;
  }
};

// ThreadNames lists the names (/proc/self/task/N/comm) of this process's
// threads.
inline std::vector<std::string> ThreadNames() {
  std::vector<std::string> names;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
      std::string name;
      std::getline(comm, name);
      names.push_back(name);
    }
    closedir(d);
  }
  return names;
}

// ThreadCount is how many threads this process has now, leaving out those of
// an in-process test server ("ntls-*": ntl/server's and the fake server's):
// a server starts a thread per connection or on demand and ends it when it
// sees the client go, so they come and go with the test's traffic, not with
// the client under test. Take a baseline with BaselineThreadCount.
inline int ThreadCount() {
  int n = 0;
  for (const std::string& name : ThreadNames()) {
    n += name.rfind("ntls-", 0) != 0;
  }
  return n;
}

// BaselineThreadCount is ThreadCount once one thread has come and gone: a
// sanitizer's runtime starts a helper thread of its own with the first thread
// a process makes, which would otherwise count against the code under test.
inline int BaselineThreadCount() {
  std::thread([] {}).join();
  return ThreadCount();
}

// WaitFor polls `done` until it holds or `timeout` passes; returns its last
// value.
template <typename Predicate>
bool WaitFor(Predicate done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) {
      return done();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// SettledThreadCount is ThreadCount once threads just joined have left
// /proc/self/task: join() returns when a thread has cleared its tid, a moment
// before the kernel removes its task entry, so an immediate count can still
// see it. It waits at most `settle` for the count to come down to `expected`;
// a thread that really outlived its owner stays and is counted.
inline int SettledThreadCount(int expected,
                              absl::Duration settle = absl::Seconds(2)) {
  WaitFor([&] { return ThreadCount() <= expected; }, settle);
  return ThreadCount();
}

}  // namespace trustlink::ntl::client::testing

#endif  // TRUSTLINK_NTL_CLIENT_TESTING_TEST_UTIL_H_
