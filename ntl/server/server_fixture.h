#ifndef TRUSTLINK_NTL_SERVER_SERVER_FIXTURE_H_
#define TRUSTLINK_NTL_SERVER_SERVER_FIXTURE_H_

// The fixture pieces that the server tests (server_test,
// hostname_admission_test, htl_server_test) share: the TLS fixture files, the
// server's fixture identity, a log collector and a deadline-bounded wait. Each
// test still builds its own directory and starts its own Server, because those
// set-ups differ.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/credentials.h"
#include "ntl/server/directory.h"
#include "ntl/server/server.h"
#include "ntl/server/test_client.h"

namespace trustlink::ntl::server::testing {

// ReadFixture returns the contents of testdata/tls/`name`, or "" when the file
// cannot be read (the test's data dependency is //testdata:tls_fixtures).
std::string ReadFixture(const std::string& name);

// FingerprintOfPem returns CertificateFingerprint of the PEM certificate `pem`.
std::string FingerprintOfPem(absl::string_view pem);

// ClientIdentity is a client certificate fixture: `<stem>.cert.pem` and
// `<stem>.key.pem`, with the certificate's fingerprint for the directory.
struct ClientIdentity {
  std::string cert_pem;
  std::string key_pem;
  std::string fingerprint;
};

// LoadClientIdentity reads the fixture pair named by `stem`, for example
// "client_ed25519".
ClientIdentity LoadClientIdentity(const std::string& stem);

// ClientOptions returns TestClient options that present `id`, with every other
// option at its default.
TestClientOptions ClientOptions(const ClientIdentity& id);

// FixtureServerCredentials returns StaticCredentials holding the
// server_ed25519 fixture, or the error that parsing it gave.
absl::StatusOr<std::shared_ptr<StaticCredentials>> FixtureServerCredentials();

// LoopbackRecord is a client registered as `label` with `fingerprint`, allowed
// from 127.0.0.1, with the one partition "p1".
ClientRecord LoopbackRecord(const std::string& label,
                            const std::string& fingerprint);

// OneLoopOptions are ServerOptions for a server on 127.0.0.1, a port the
// kernel picks, one loop, with its log lines going to `log`.
ServerOptions OneLoopOptions(std::function<void(absl::string_view)> log);

// StartSoftwareServer starts a one-loop server (OneLoopOptions, log dropped)
// whose software partition serves the client `id`, registered as `label`
// (LoopbackRecord).
absl::StatusOr<std::unique_ptr<Server>> StartSoftwareServer(
    const ClientIdentity& id, const std::string& label);
// StartSoftwareServer with chosen options (OneLoopOptions, changed).
absl::StatusOr<std::unique_ptr<Server>> StartSoftwareServer(
    const ClientIdentity& id, const std::string& label, ServerOptions options);

// LogLines collects server log lines (ServerOptions::log) for assertions.
//
// Thread safety: safe for concurrent use; the server adds from its own threads
// while the test reads.
class LogLines {
 public:
  void Add(absl::string_view line);
  // Find returns the first line containing both `a` and `b`, or "".
  std::string Find(absl::string_view a, absl::string_view b = "");
  // Contains says whether some line contains both `a` and `b`.
  bool Contains(absl::string_view a, absl::string_view b = "");
  // Count is how many lines contain both `a` and `b`.
  size_t Count(absl::string_view a, absl::string_view b = "");

 private:
  // FindLocked returns the first matching line, or null; it points into lines_
  // and is valid while mu_ is held.
  const std::string* FindLocked(absl::string_view a, absl::string_view b)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  internal::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

// IdleConnection opens a TCP connection to 127.0.0.1:`port` from
// `source_ip` ("" = any) that sends nothing: a slowloris peer. Returns the fd,
// or -1. Reads on it time out after 5 s.
int IdleConnection(uint16_t port, const std::string& source_ip = "");

// WaitFor polls `cond` until it holds or `limit` has passed, and returns its
// last answer. For conditions that nothing signals (server status, log lines).
bool WaitFor(const std::function<bool()>& cond, absl::Duration limit);

}  // namespace trustlink::ntl::server::testing

#endif  // TRUSTLINK_NTL_SERVER_SERVER_FIXTURE_H_
