#include "htl/proof_service.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "htl/agent.h"
#include "htl/appliance.h"
#include "htl/crypto.h"
#include "htl/ott.h"
#include "htl/secret_store.h"
#include "htl/testing/loopback.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

using ::testing::HasSubstr;

std::string Base(const char* name) {
  // Short: sun_path holds 108 bytes and TEST_TMPDIR can be long.
  const std::string p =
      "/tmp/tl-htl-" + std::to_string(::getpid()) + "-" + name;
  std::system(("rm -rf '" + p + "'").c_str());
  return p;
}

TEST(ProofServiceTest, NoAgentMeansAgentUnavailable) {
  absl::StatusOr<LinkProof> p = RequestLinkProof(
      Base("none") + "/htl-agent.sock", "hsm1", RandomBytes(32));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(ntl::ToTlStatus(p.status()), TL_E_HTL_AGENT_UNAVAILABLE);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("start htlclient"));
}

TEST(ProofServiceTest, AnswersWithTheAgentsProofWhichVerifiesAtTheAppliance) {
  const std::string base = Base("ok");
  ASSERT_EQ(::mkdir(base.c_str(), 0700), 0);
  const std::string client_root = base + "/client";
  ASSERT_EQ(::mkdir(client_root.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((client_root + "/htl").c_str(), 0700), 0);
  FakeClock clock;
  Appliance::Options ao;
  ao.root = base + "/appliance";
  ao.clock = &clock;
  ao.daemon = true;
  std::unique_ptr<Appliance> appliance = *Appliance::Open(ao);
  testing::LoopbackConnector connector(appliance.get(), "web1", "192.0.2.10:1");
  MemorySecretStore store;
  AgentOptions o;
  o.client_root = client_root;
  o.appliances = {"hsm1"};
  o.connector = &connector;
  o.store = &store;
  o.clock = &clock;
  std::unique_ptr<Agent> agent = *Agent::Create(o);
  std::ofstream(client_root + "/htl/hsm1.ott") << FormatTokenFile(
      *appliance->GenerateOtt("web1", absl::nullopt), "web1");
  ASSERT_TRUE(agent->PollOnce().ok());

  const std::string path = base + "/run/htl-agent.sock";
  absl::StatusOr<std::unique_ptr<ProofService>> svc =
      ProofService::Start(path, [&](absl::string_view a, absl::string_view e) {
        return agent->ProofFor(a, e);
      });
  ASSERT_TRUE(svc.ok()) << svc.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((base + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  const std::string exporter = RandomBytes(kExporterLen);
  absl::StatusOr<LinkProof> proof = RequestLinkProof(path, "hsm1", exporter);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(appliance->CheckLinkProof("web1", exporter, *proof).ok());

  // The agent's refusal travels with its code.
  absl::StatusOr<LinkProof> other = RequestLinkProof(path, "hsm2", exporter);
  EXPECT_EQ(ntl::ToTlStatus(other.status()), TL_E_HTL_DOWN);
  absl::StatusOr<LinkProof> short_exporter =
      RequestLinkProof(path, "hsm1", "short");
  EXPECT_EQ(ntl::ToTlStatus(short_exporter.status()), TL_E_INVALID_ARGUMENT);

  // One agent per socket.
  absl::StatusOr<std::unique_ptr<ProofService>> second =
      ProofService::Start(path, [](absl::string_view, absl::string_view) {
        return absl::StatusOr<LinkProof>(absl::InternalError("x"));
      });
  EXPECT_EQ(ntl::ToTlStatus(second.status()), TL_E_ALREADY_EXISTS);

  (*svc)->Stop();
  EXPECT_EQ(ntl::ToTlStatus(RequestLinkProof(path, "hsm1", exporter).status()),
            TL_E_HTL_AGENT_UNAVAILABLE);
  // A stale socket file from a crashed agent does not stop a new one.
  svc =
      ProofService::Start(path, [&](absl::string_view a, absl::string_view e) {
        return agent->ProofFor(a, e);
      });
  ASSERT_TRUE(svc.ok()) << svc.status();
  EXPECT_TRUE(RequestLinkProof(path, "hsm1", exporter).ok());
}

TEST(ProofServiceTest, RefusesADirectoryOthersCanReach) {
  const std::string base = Base("perm");
  ASSERT_EQ(::mkdir(base.c_str(), 0755), 0);
  absl::StatusOr<std::unique_ptr<ProofService>> svc = ProofService::Start(
      base + "/htl-agent.sock", [](absl::string_view, absl::string_view) {
        return absl::StatusOr<LinkProof>(LinkProof{});
      });
  EXPECT_EQ(ntl::ToTlStatus(svc.status()), TL_E_PERMISSION_DENIED);
  EXPECT_THAT(std::string(svc.status().message()), HasSubstr("chmod 700"));
}

TEST(ProofServiceTest, AnotherUserCannotGetAProof) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  const std::string base = Base("uid");
  const std::string path = base + "/htl-agent.sock";
  absl::StatusOr<std::unique_ptr<ProofService>> svc =
      ProofService::Start(path, [](absl::string_view, absl::string_view) {
        return absl::StatusOr<LinkProof>(LinkProof{1, std::string(32, 'x')});
      });
  ASSERT_TRUE(svc.ok()) << svc.status();
  // Open the directory to everyone for a moment, so that only SO_PEERCRED
  // stands between the other user and the agent.
  ASSERT_EQ(::chmod(base.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0777), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setuid(65534) != 0) ::_exit(2);
    absl::StatusOr<LinkProof> p =
        RequestLinkProof(path, "hsm1", std::string(32, 'e'));
    ::_exit(p.ok() ? 1
                   : (ntl::ToTlStatus(p.status()) == TL_E_HTL_AGENT_UNAVAILABLE
                          ? 0
                          : 3));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2) {
    ASSERT_EQ(::chmod(base.c_str(), 0700), 0);
    GTEST_SKIP() << "setuid is not permitted here (user namespace sandbox)";
  }
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ((*svc)->refused_peers(), 1);
  ASSERT_EQ(::chmod(base.c_str(), 0700), 0);
}

}  // namespace
}  // namespace trustlink::htl
