// Descriptor exhaustion (docs/server.md, "Connection budget"): when accept
// fails with EMFILE the loop pauses accepting instead of spinning on the
// level-triggered listener, says so once, and serves again once descriptors
// free. A target of its own: it lowers this process's descriptor limit.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/server/server.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::server {
namespace {

using testing::ClientOptions;
using testing::LoadClientIdentity;
using testing::LogLines;
using testing::TestClient;
using testing::WaitFor;

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

TEST(AcceptPauseTest, OutOfDescriptorsPausesAcceptingThenServesAgain) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 256);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);

  testing::ClientIdentity id = LoadClientIdentity("client_ed25519");
  auto directory = std::make_shared<InMemoryDirectory>();
  ClientRecord r;
  r.label = "web1";
  r.fingerprint = id.fingerprint;
  r.allowed_ips = {"127.0.0.1"};
  directory->Put(r);
  auto cred = testing::FixtureServerCredentials();
  ASSERT_TRUE(cred.ok()) << cred.status();
  LogLines log;
  ServerOptions o;
  o.listen_address = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.log = [&log](absl::string_view l) { log.Add(l); };
  auto server = Server::Create(o, directory, *cred);
  ASSERT_TRUE(server.ok()) << server.status();
  (*server)->SetPartitionHandler(std::make_shared<SoftwarePartitionHandler>());
  ASSERT_TRUE((*server)->Start().ok());
  EXPECT_EQ((*server)->limits().descriptor_limit, low.rlim_cur);

  // Client sockets first: once the filler below takes every descriptor,
  // connect() needs none, but the server's accept does.
  std::vector<int> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(socket(AF_INET, SOCK_STREAM, 0));
    ASSERT_GE(clients.back(), 0);
  }
  // What an embedder, or a leak elsewhere, might hold.
  std::vector<int> filler;
  for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) {
    filler.push_back(fd);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons((*server)->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int fd : clients) {
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  }
  ASSERT_TRUE(
      WaitFor([&] { return log.Contains("accept-paused"); }, absl::Seconds(5)))
      << "accept never reported running out of descriptors";
  // The line names the limit this process reached, not the system's or memory.
  EXPECT_TRUE(
      log.Contains("the process holds all the descriptors its limit allows"))
      << "the accept-paused line does not name the cause";
  // Before the fix the loop called accept4 in a tight loop here: a whole core.
  const double cpu0 = CpuSeconds();
  const absl::Time t0 = absl::Now();
  absl::SleepFor(absl::Seconds(1));  // measuring a rate over time, not waiting
  const double cpu =
      (CpuSeconds() - cpu0) / absl::ToDoubleSeconds(absl::Now() - t0);
  std::printf("CPU while out of descriptors: %.1f%% of one core\n", cpu * 100);
  EXPECT_LT(cpu, 0.10) << "the loop spins while accept fails";
  EXPECT_LE(log.Count("accept-paused"), o.log_burst);

  for (int fd : filler) {
    close(fd);
  }
  // The waiting connections are accepted, and a registered client gets in.
  ASSERT_TRUE(
      WaitFor([&] { return (*server)->GetStatus().unauthenticated == 10; },
              absl::Seconds(5)));
  auto c = TestClient::Connect((*server)->port(), ClientOptions(id));
  ASSERT_TRUE(c.ok()) << c.status();
  auto f = (*c)->Hello();
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->type, wire::FrameType::kWelcome);
  for (int fd : clients) {
    close(fd);
  }
  (*server)->Shutdown(absl::Seconds(1));
  setrlimit(RLIMIT_NOFILE, &saved);
}

}  // namespace
}  // namespace trustlink::ntl::server
