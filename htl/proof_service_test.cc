#include "htl/proof_service.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "htl/agent.h"
#include "htl/appliance.h"
#include "htl/crypto.h"
#include "htl/ott.h"
#include "htl/secret_store.h"
#include "htl/testing/loopback.h"
#include "ntl/status.h"
#include "ntl/wire/bytes.h"

namespace trustlink::htl {
namespace {

using ::testing::HasSubstr;

// Removes the directories Base made once every test has run.
class TempDirs : public ::testing::Environment {
 public:
  static std::vector<std::string>& List() {
    static auto* dirs = new std::vector<std::string>;
    return *dirs;
  }
  void TearDown() override {
    for (const std::string& d : List()) {
      std::system(("rm -rf '" + d + "'").c_str());
    }
  }
};
::testing::Environment* const kTempDirs =
    ::testing::AddGlobalTestEnvironment(new TempDirs);

// Base returns a path for one test's files, not yet created. Short: sun_path
// holds 108 bytes and TEST_TMPDIR can be long. mkdtemp, not the pid: tests run
// in PID namespaces, so concurrent runs share pids.
std::string Base(const char* name) {
  char dir[] = "/tmp/tl-htl-XXXXXX";
  if (::mkdtemp(dir) == nullptr) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    return std::string("/nonexistent/") + name;
  }
  TempDirs::List().push_back(dir);
  return std::string(dir) + "/" + name;
}

TEST(ProofServiceTest, NoAgentMeansAgentUnavailable) {
  absl::StatusOr<LinkProof> p = RequestLinkProof(
      Base("none") + "/htl-agent.sock", "hsm1", RandomBytes(32));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(ntl::ToTlStatus(p.status()), TL_E_HTL_AGENT_UNAVAILABLE);
  EXPECT_THAT(std::string(p.status().message()),
              HasSubstr("start the HTL agent"));
}

// A unix listener that never accepts, with its backlog full: a blocking
// connect() would sleep there with no limit.
class FullBacklog {
 public:
  explicit FullBacklog(const std::string& base) : path_(base + "/agent.sock") {
    EXPECT_EQ(::mkdir(base.c_str(), 0700), 0);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 0), 0);
    // Queue connections until the kernel says the backlog is full.
    for (int i = 0; i < 64; ++i) {
      const int c =
          ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        queued_.push_back(c);
        continue;
      }
      full_ = errno == EAGAIN;
      ::close(c);
      break;
    }
  }
  ~FullBacklog() {
    for (int c : queued_) ::close(c);
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  bool full() const { return full_; }
  // AcceptWithin takes one queued connection, waiting at most `timeout`.
  int AcceptWithin(absl::Duration timeout) {
    struct pollfd p = {fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) !=
        1) {
      return -1;
    }
    return ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<int> queued_;
  bool full_ = false;
};

// Outcome is a RequestLinkProof result as plain data, to cross threads
// (ntl::FreshStatus says why a Status is not handed over as it is).
struct Outcome {
  int code = 0;
  std::string message;
};

std::future<Outcome> RequestInBackground(const std::string& path,
                                         absl::Duration timeout,
                                         std::thread* thread) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> f = promise->get_future();
  *thread = std::thread([promise, path, timeout] {
    absl::StatusOr<LinkProof> p =
        RequestLinkProof(path, "hsm1", std::string(32, 'e'), timeout);
    promise->set_value(Outcome{ntl::ToTlStatus(p.status()),
                               std::string(p.status().message())});
  });
  return f;
}

TEST(ProofServiceTest, FullBacklogEndsAtTheDeadline) {
  FullBacklog listener(Base("backlog"));
  ASSERT_TRUE(listener.full()) << "could not fill the listener's backlog";
  const absl::Duration timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  std::thread thread;
  std::future<Outcome> f =
      RequestInBackground(listener.path(), timeout, &thread);
  const bool returned =
      f.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  const absl::Duration took = absl::Now() - start;
  // A request stuck in connect() is let through (the backlog drains), so the
  // thread ends either way and the test reports instead of hanging.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (f.wait_for(std::chrono::milliseconds(0)) !=
             std::future_status::ready &&
         absl::Now() < give_up) {
    const int c = listener.AcceptWithin(absl::Milliseconds(100));
    if (c >= 0) ::close(c);
  }
  thread.join();
  ASSERT_TRUE(returned) << "RequestLinkProof waited past its deadline in "
                           "connect() on a full backlog";
  EXPECT_GE(took, timeout);
  EXPECT_LT(took, timeout + absl::Milliseconds(4500));  // room for a stall
  const Outcome o = f.get();
  EXPECT_EQ(o.code, TL_E_HTL_AGENT_UNAVAILABLE) << o.message;
  EXPECT_THAT(o.message, HasSubstr(listener.path()));
  EXPECT_THAT(o.message, HasSubstr("backlog"));
  EXPECT_THAT(o.message, HasSubstr("start the HTL agent"));
}

TEST(ProofServiceTest, BacklogThatDrainsBeforeTheDeadlineLetsTheRequestIn) {
  FullBacklog listener(Base("drain"));
  ASSERT_TRUE(listener.full()) << "could not fill the listener's backlog";
  std::thread thread;
  std::future<Outcome> f =
      RequestInBackground(listener.path(), absl::Seconds(10), &thread);
  // Drain the filler, then serve the request that takes its place with the
  // agent's refusal, which only a connected request can read.
  int filler = listener.AcceptWithin(absl::Seconds(10));
  ASSERT_GE(filler, 0);
  ::close(filler);
  const int c = listener.AcceptWithin(absl::Seconds(10));
  std::string body;
  ntl::wire::ByteWriter b(&body);
  b.I32(TL_E_HTL_DOWN);
  b.String("no HTL here");
  std::string framed;
  ntl::wire::ByteWriter(&framed).String(body);
  EXPECT_GE(c, 0);
  if (c >= 0) {
    EXPECT_EQ(::send(c, framed.data(), framed.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(framed.size()));
  }
  thread.join();
  if (c >= 0) ::close(c);
  const Outcome o = f.get();
  EXPECT_EQ(o.code, TL_E_HTL_DOWN) << o.message;
  EXPECT_THAT(o.message, HasSubstr("no HTL here"));
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
