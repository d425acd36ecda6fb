#ifndef TRUSTLINK_NTL_CLIENT_TESTING_TEST_UTIL_H_
#define TRUSTLINK_NTL_CLIENT_TESTING_TEST_UTIL_H_

// Shared set-up for the client tests: fixture identities and a bounded wait.

#include <dirent.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "ntl/client/pin.h"
#include "ntl/client/settings.h"
#include "ntl/client/testing/fake_server.h"

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

}  // namespace trustlink::ntl::client::testing

#endif  // TRUSTLINK_NTL_CLIENT_TESTING_TEST_UTIL_H_
