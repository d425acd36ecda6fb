#include "ntl/server/server_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "ntl/server/software_partition.h"

namespace trustlink::ntl::server::testing {

std::string ReadFixture(const std::string& name) {
  std::ifstream f("testdata/tls/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string FingerprintOfPem(absl::string_view pem) {
  bssl::UniquePtr<BIO> b(BIO_new_mem_buf(pem.data(), pem.size()));
  bssl::UniquePtr<X509> x(
      PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  return CertificateFingerprint(x.get());
}

ClientIdentity LoadClientIdentity(const std::string& stem) {
  ClientIdentity id;
  id.cert_pem = ReadFixture(stem + ".cert.pem");
  id.key_pem = ReadFixture(stem + ".key.pem");
  id.fingerprint = FingerprintOfPem(id.cert_pem);
  return id;
}

TestClientOptions ClientOptions(const ClientIdentity& id) {
  TestClientOptions o;
  o.cert_pem = id.cert_pem;
  o.key_pem = id.key_pem;
  return o;
}

absl::StatusOr<std::shared_ptr<StaticCredentials>> FixtureServerCredentials() {
  auto cred = ServerCredential::FromPem(ReadFixture("server_ed25519.cert.pem"),
                                        ReadFixture("server_ed25519.key.pem"));
  if (!cred.ok()) {
    return cred.status();
  }
  return std::make_shared<StaticCredentials>(*cred);
}

ClientRecord LoopbackRecord(const std::string& label,
                            const std::string& fingerprint) {
  ClientRecord r;
  r.label = label;
  r.fingerprint = fingerprint;
  r.allowed_ips = {"127.0.0.1"};
  r.partitions = {{"p1", "Partition One", "1001"}};
  return r;
}

ServerOptions OneLoopOptions(std::function<void(absl::string_view)> log) {
  ServerOptions o;
  o.listen_address = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.log = std::move(log);
  return o;
}

absl::StatusOr<std::unique_ptr<Server>> StartSoftwareServer(
    const ClientIdentity& id, const std::string& label) {
  return StartSoftwareServer(id, label,
                             OneLoopOptions([](absl::string_view) {}));
}

absl::StatusOr<std::unique_ptr<Server>> StartSoftwareServer(
    const ClientIdentity& id, const std::string& label, ServerOptions options) {
  auto directory = std::make_shared<InMemoryDirectory>();
  directory->Put(LoopbackRecord(label, id.fingerprint));
  auto cred = FixtureServerCredentials();
  if (!cred.ok()) {
    return cred.status();
  }
  auto server = Server::Create(std::move(options), directory, *cred);
  if (!server.ok()) {
    return server.status();
  }
  (*server)->SetPartitionHandler(std::make_shared<SoftwarePartitionHandler>());
  absl::Status st = (*server)->Start();
  if (!st.ok()) {
    return st;
  }
  return server;
}

size_t LogLines::Count(absl::string_view a, absl::string_view b) {
  internal::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& l : lines_) {
    if (absl::StrContains(l, a) && absl::StrContains(l, b)) {
      ++n;
    }
  }
  return n;
}

int IdleConnection(uint16_t port, const std::string& source_ip) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (!source_ip.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip.c_str(), &local.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      close(fd);
      return -1;
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void LogLines::Add(absl::string_view line) {
  internal::MutexLock lock(&mu_);
  lines_.emplace_back(line);
}

const std::string* LogLines::FindLocked(absl::string_view a,
                                        absl::string_view b) {
  for (const auto& l : lines_) {
    if (absl::StrContains(l, a) && absl::StrContains(l, b)) {
      return &l;
    }
  }
  return nullptr;
}

std::string LogLines::Find(absl::string_view a, absl::string_view b) {
  internal::MutexLock lock(&mu_);
  const std::string* l = FindLocked(a, b);
  return l != nullptr ? *l : "";
}

bool LogLines::Contains(absl::string_view a, absl::string_view b) {
  internal::MutexLock lock(&mu_);
  return FindLocked(a, b) != nullptr;
}

bool WaitFor(const std::function<bool()>& cond, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (cond()) {
      return true;
    }
    // Polling a condition under a deadline, not synchronising.
    absl::SleepFor(absl::Milliseconds(10));
  }
  return cond();
}

}  // namespace trustlink::ntl::server::testing
