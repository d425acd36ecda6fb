// Real crashes: a process that runs the appliance's HTL state and the agent
// (with its tmpfs-style runtime secret store) is killed with SIGKILL at random
// points, again and again, from before the token exchange on. Every restart
// reopens both from what is on disk, as ntlsd and htlclient would. No kill may
// cause a clone alarm, a refusal or a forced re-enrolment. The simulated
// crashes in agent_test and appliance_test pick the crash points; here the
// kernel does, including in the middle of a file replacement or an fsync.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "htl/agent.h"
#include "htl/appliance.h"
#include "htl/ott.h"
#include "htl/secret_store.h"
#include "htl/testing/loopback.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

constexpr char kClient[] = "web1";
constexpr char kAppliance[] = "hsm1";
constexpr int kRefusedExit = 3;
constexpr int kSetupExit = 4;

struct Dirs {
  std::string appliance;
  std::string client;
  std::string runtime;
};

Dirs MakeDirs() {
  const std::string base =
      std::string(std::getenv("TEST_TMPDIR")) + "/" +
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::system(("rm -rf '" + base + "'").c_str());
  Dirs d{base + "/appliance", base + "/client", base + "/run"};
  EXPECT_EQ(::mkdir(base.c_str(), 0700), 0);
  EXPECT_EQ(::mkdir(d.client.c_str(), 0700), 0);
  EXPECT_EQ(::mkdir((d.client + "/htl").c_str(), 0700), 0);
  return d;
}

std::unique_ptr<Appliance> OpenAppliance(const Dirs& d, bool daemon) {
  Appliance::Options o;
  o.root = d.appliance;
  o.daemon = daemon;
  absl::StatusOr<std::unique_ptr<Appliance>> a = Appliance::Open(o);
  return a.ok() ? *std::move(a) : nullptr;
}

// RunUntilKilled is the child: ntlsd's HTL state and htlclient's agent in one
// process, polling as fast as it can and reporting each successful poll's
// generation on `progress_fd`. It exits kRefusedExit (after writing why to
// stderr) if the agent is ever refused.
[[noreturn]] void RunUntilKilled(const Dirs& d, int progress_fd) {
  std::unique_ptr<Appliance> appliance = OpenAppliance(d, /*daemon=*/true);
  absl::StatusOr<std::unique_ptr<RuntimeSecretStore>> store =
      RuntimeSecretStore::Open(d.runtime, /*allow_disk=*/true);
  if (appliance == nullptr || !store.ok()) _exit(kSetupExit);
  testing::LoopbackConnector connector(appliance.get(), kClient,
                                       "192.0.2.10:7000");
  AgentOptions o;
  o.client_root = d.client;
  o.appliances = {kAppliance};
  o.connector = &connector;
  o.store = store->get();
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Create(o);
  if (!agent.ok()) _exit(kSetupExit);
  for (;;) {
    if (!(*agent)->PollOnce().ok()) _exit(kSetupExit);
    const AgentApplianceStatus s = (*agent)->Status().at(0);
    if (s.state == AgentLinkState::kRefused) {
      std::fprintf(stderr, "agent refused: %s\n",
                   std::string(s.last_error.message()).c_str());
      _exit(kRefusedExit);
    }
    if (s.state == AgentLinkState::kUp) {
      uint64_t g = s.generation;
      if (::write(progress_fd, &g, sizeof(g)) != sizeof(g)) _exit(kSetupExit);
    }
  }
}

TEST(HtlCrashTest, SigkillAtRandomPointsCausesNoAlarmAndNoReenrolment) {
  const Dirs d = MakeDirs();
  {
    // ntlsh: generate the token; the admin copies it into the client's htl/.
    std::unique_ptr<Appliance> shell = OpenAppliance(d, /*daemon=*/false);
    ASSERT_NE(shell, nullptr);
    absl::StatusOr<std::string> token =
        shell->GenerateOtt(kClient, absl::nullopt);
    ASSERT_TRUE(token.ok()) << token.status();
    std::ofstream(d.client + "/htl/" + kAppliance + ".ott")
        << FormatTokenFile(*token, kClient);
  }
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  std::mt19937 rng(20261127);
  constexpr int kKills = 60;
  uint64_t last_generation = 0;
  int kills_after_up = 0;
  for (int i = 0; i < kKills; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) RunUntilKilled(d, fds[1]);
    // The kill point. Even runs: a random moment from process start (opening
    // the state, taking up the token) on. Odd runs: a random moment after the
    // chain is up in this run, so heartbeats are hit whatever the machine's
    // speed. The moments are chosen at random, not waited for.
    if (i % 2 == 1) {
      struct pollfd p = {fds[0], POLLIN, 0};
      ASSERT_EQ(::poll(&p, 1, 20000), 1)
          << "run " << i << ": the chain did not come up within 20 s";
    }
    ::usleep(rng() % 30000);
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status))
        << "run " << i << " ended by itself with exit status "
        << WEXITSTATUS(status) << " (3: the agent was refused; 4: set-up)";
    uint64_t g = 0;
    bool progressed = false;
    while (::read(fds[0], &g, sizeof(g)) == sizeof(g)) {
      EXPECT_GE(g, last_generation) << "generations go backwards";
      last_generation = g;
      progressed = true;
    }
    kills_after_up += progressed;
  }
  ::close(fds[0]);
  ::close(fds[1]);
  std::printf("%d kills, %d of them with the chain up; generation %llu\n",
              kKills, kills_after_up,
              static_cast<unsigned long long>(last_generation));
  // Most kills must have hit a running chain, or the test proved little.
  EXPECT_GE(kills_after_up, kKills / 2);

  // A last, clean restart of both carries on with the same chain.
  std::unique_ptr<Appliance> appliance = OpenAppliance(d, /*daemon=*/true);
  ASSERT_NE(appliance, nullptr);
  absl::StatusOr<std::unique_ptr<RuntimeSecretStore>> store =
      RuntimeSecretStore::Open(d.runtime, /*allow_disk=*/true);
  ASSERT_TRUE(store.ok()) << store.status();
  testing::LoopbackConnector connector(appliance.get(), kClient,
                                       "192.0.2.10:7000");
  AgentOptions o;
  o.client_root = d.client;
  o.appliances = {kAppliance};
  o.connector = &connector;
  o.store = store->get();
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Create(o);
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE((*agent)->PollOnce().ok());
  ASSERT_TRUE((*agent)->PollOnce().ok());
  const AgentApplianceStatus s = (*agent)->Status().at(0);
  EXPECT_EQ(s.state, AgentLinkState::kUp) << s.last_error;
  EXPECT_GT(s.generation, last_generation);
  EXPECT_EQ(::access((d.client + "/htl/" + kAppliance + ".ott").c_str(), F_OK),
            -1)
      << "the token file is still there";
  absl::StatusOr<ClientView> v = appliance->Show(kClient);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->htl, HtlStatus::kUp);
  EXPECT_EQ(v->ott, OttStatus::kInUse);
  absl::StatusOr<std::vector<std::string>> alerts = appliance->Alerts();
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  EXPECT_TRUE(alerts->empty()) << alerts->front();
}

}  // namespace
}  // namespace trustlink::htl
