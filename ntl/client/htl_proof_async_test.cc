// The HTL proof is asked for off the client's I/O loop (pending_proof.h): an
// agent that accepts and never answers holds up only the link waiting for it,
// never the client's other links, and neither closing the client nor a late
// answer after it is gone does any harm.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/htl_world.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/status.h"
#include "ntl/wire/bytes.h"

namespace trustlink::ntl::client {
namespace {

using testing::HtlWorld;
using testing::kHtlServer;
using testing::kOpEcho;
using testing::Server;
using testing::ServerOptions;

constexpr absl::Duration kProofTimeout = absl::Seconds(8);

absl::Time In(absl::Duration d) { return absl::Now() + d; }

// SilentAgent listens on the agent's socket, takes connections when told to,
// and answers only when told to.
class SilentAgent {
 public:
  explicit SilentAgent(const std::string& path) {
    const std::string dir = path.substr(0, path.rfind('/'));
    EXPECT_EQ(std::system(("mkdir -p -m 700 '" + dir + "'").c_str()), 0);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    EXPECT_LT(path.size(), sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, path.data(), path.size());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
    EXPECT_EQ(::listen(fd_, 16), 0);
    path_ = path;
  }
  ~SilentAgent() {
    if (conn_ >= 0) {
      ::close(conn_);
    }
    ::close(fd_);
    ::unlink(path_.c_str());
  }

  // AcceptOne waits (bounded) for a client's proof request and keeps it open,
  // unanswered. True once one is held.
  bool AcceptOne(absl::Duration timeout = absl::Seconds(10)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) !=
        1) {
      return false;
    }
    conn_ = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    return conn_ >= 0;
  }

  // AnswerDown answers the held request with the agent's "no HTL" refusal.
  bool AnswerDown() {
    std::string body;
    wire::ByteWriter b(&body);
    b.I32(TL_E_HTL_DOWN);
    b.String("no HTL for this server");
    std::string framed;
    wire::ByteWriter(&framed).String(body);
    return ::send(conn_, framed.data(), framed.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(framed.size());
  }

  // PeerClosedWithin: the requester hung up (read everything it sent, then
  // EOF) before `timeout`.
  bool PeerClosedWithin(absl::Duration timeout) {
    const absl::Time deadline = In(timeout);
    char buf[512];
    for (;;) {
      const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
      pollfd p{conn_, POLLIN, 0};
      if (ms <= 0 || ::poll(&p, 1, static_cast<int>(ms)) != 1) {
        return false;
      }
      const ssize_t n = ::recv(conn_, buf, sizeof(buf), 0);
      if (n == 0) {
        return true;
      }
      if (n < 0 && errno != EINTR) {
        return true;  // reset by the peer: closed too
      }
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  int conn_ = -1;
};

std::unique_ptr<testing::FakeServer> StartPlainServer() {
  testing::FakeServerOptions o = ServerOptions();
  o.slots = {{"plain1", "plain label", "2001"}};
  absl::StatusOr<std::unique_ptr<testing::FakeServer>> s =
      testing::FakeServer::Start(std::move(o));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

TEST(HtlProofAsyncTest, AStuckProofRequestDoesNotHoldUpTheClientsOtherLinks) {
  HtlWorld world("stuck");
  std::unique_ptr<testing::FakeServer> plain = StartPlainServer();
  ASSERT_NE(plain, nullptr);
  ClientSettings s = world.Settings();
  s.servers.insert(s.servers.begin(), Server("plain", plain->port()));
  s.connect_timeout = kProofTimeout + absl::Seconds(2);
  s.htl_proof_timeout = kProofTimeout;
  // No agent yet: the HTL link fails fast and retries, the plain one opens.
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(testing::WaitFor([&]() { return !(*client)->Slots().empty(); }));
  ASSERT_EQ((*client)->Slots()[0].server, "plain");
  ASSERT_TRUE((*client)->Call(0, kOpEcho, "warm", In(absl::Seconds(5))).ok());

  // An agent that takes the next request and never answers it.
  SilentAgent agent(world.ProofSocket());
  ASSERT_TRUE(agent.AcceptOne()) << "the HTL link never asked for a proof";

  // Its link waits for the proof for up to kProofTimeout; the other link's
  // calls do not.
  const absl::Time start = absl::Now();
  for (int i = 0; i < 20; ++i) {
    const std::string data = absl::StrCat("call-", i);
    absl::StatusOr<std::string> r =
        (*client)->Call(0, kOpEcho, data, In(absl::Seconds(5)));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, data);
  }
  const absl::Duration took = absl::Now() - start;
  // Waiting for the proof would take kProofTimeout (8 s); 20 round trips take
  // milliseconds, and the bound leaves room for a sanitizer on a busy host.
  EXPECT_LT(took, absl::Milliseconds(4500))
      << "calls on the plain link waited for the HTL link's proof";
  const ServerStatus htl = (*client)->Servers()[1];
  EXPECT_EQ(htl.name, kHtlServer);
  EXPECT_EQ(htl.state, LinkState::kHandshaking);  // the ABI has no new state
  EXPECT_EQ(world.server()->link_proofs_ok(), 0);
}

TEST(HtlProofAsyncTest, ClosingTheClientMidRequestCancelsAndJoinsTheWorker) {
  HtlWorld world("orphan");
  ClientSettings s = world.Settings();
  s.connect_timeout = kProofTimeout + absl::Seconds(2);
  s.htl_proof_timeout = kProofTimeout;
  const int threads_before = testing::BaselineThreadCount();
  // No agent yet, so the first attempt settles at once and Create returns.
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  SilentAgent agent(world.ProofSocket());
  ASSERT_TRUE(agent.AcceptOne()) << "the HTL link never asked for a proof";

  const absl::Time start = absl::Now();
  client->reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2))
      << "closing the client waited for the proof request";
  EXPECT_EQ(testing::SettledThreadCount(threads_before), threads_before)
      << "a thread of the client outlived it; threads now: "
      << absl::StrJoin(testing::ThreadNames(), ", ");
  // The worker was cancelled and joined before the close returned (no thread
  // outlives the Client), so its end of the request is closed already: the
  // 100 ms only bound the read of what it sent.
  EXPECT_TRUE(agent.PeerClosedWithin(absl::Milliseconds(100)));
  EXPECT_EQ(world.server()->link_proofs_ok(), 0);
}

TEST(HtlProofAsyncTest, TheProofWaitEndsAtTheConnectDeadline) {
  HtlWorld world("deadline");
  SilentAgent agent(world.ProofSocket());  // queues requests, never answers
  ClientSettings s = world.Settings();
  s.reconnect = false;
  s.connect_timeout = absl::Seconds(1);
  s.htl_proof_timeout = absl::Seconds(30);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(testing::WaitFor(
      [&]() { return (*client)->Servers()[0].state == LinkState::kStopped; }));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  const ServerStatus st = (*client)->Servers()[0];
  EXPECT_EQ(ToTlStatus(st.last_error), TL_E_HTL_AGENT_UNAVAILABLE)
      << st.last_error;
  EXPECT_THAT(std::string(st.last_error.message()),
              ::testing::HasSubstr(world.ProofSocket()));
  EXPECT_THAT(std::string(st.last_error.message()),
              ::testing::HasSubstr("start the HTL agent"));
}

TEST(HtlProofAsyncTest,
     NoProofAndNoVerdictByTheDeadlineFailsWithTheAgentsReason) {
  // No agent, so hello goes without a proof; the appliance never answers it.
  // When the connect deadline ends the wait, the missing proof is the reason
  // given: the link could not have been used without it. (The agent's request
  // also ends at that deadline, so the two often come together: this was
  // htl_proof_async_test's flaky "welcome took more than 1s" under load.)
  testing::FakeServerOptions o = ServerOptions();
  o.fault = testing::Fault::kSilentBeforeWelcome;
  HtlWorld world("noverdict", std::move(o));
  ClientSettings s = world.Settings();
  s.reconnect = false;
  s.connect_timeout = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(testing::WaitFor(
      [&]() { return (*client)->Servers()[0].state == LinkState::kStopped; }));
  const ServerStatus st = (*client)->Servers()[0];
  EXPECT_EQ(ToTlStatus(st.last_error), TL_E_HTL_AGENT_UNAVAILABLE)
      << st.last_error;
  EXPECT_THAT(std::string(st.last_error.message()),
              ::testing::HasSubstr(world.ProofSocket()));
}

}  // namespace
}  // namespace trustlink::ntl::client
