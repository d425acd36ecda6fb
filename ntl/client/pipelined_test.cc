// Pipelined calls the way an asynchronous embedder makes them: a window of
// C ABI-style calls (Client::CallAsyncRaw) whose callbacks send the next one.
// The loop writes what its callbacks queued in the same pass, without ringing
// its own doorbell, and in steady state the client allocates nothing per call
// (docs/client.md, "Pipelined calls").

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/status.h"

// Counts operator new on the threads that ask for it (the test's, which runs
// the whole client without an I/O thread), not the fake server's.
namespace {
thread_local bool t_counting = false;
thread_local uint64_t t_news = 0;
}  // namespace

void* operator new(size_t n) {
  if (t_counting) {
    ++t_news;
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace trustlink::ntl::client {
namespace {

using testing::FakeServer;
using testing::kOpEcho;
using testing::Server;
using testing::ServerOptions;
using testing::Settings;

// Window keeps `depth` calls in flight until `total` were sent, from the
// callbacks of the calls before, and checks every answer.
struct Window {
  Client* client = nullptr;
  std::string data;
  int total = 0;
  int sent = 0;
  int answered = 0;
  int wrong = 0;
  int refused = 0;

  bool Send() {
    ++sent;
    RawCallCallback cb;
    cb.fn = &Window::OnDone;
    cb.arg = this;
    if (!client->CallAsyncRaw(0, kOpEcho, data, absl::Now() + absl::Seconds(30),
                              cb)
             .ok()) {
      ++refused;
      return false;
    }
    return true;
  }
  static void OnDone(void* arg, int32_t status, const uint8_t* bytes,
                     size_t len) {
    auto* w = static_cast<Window*>(arg);
    ++w->answered;
    if (status != 0 || absl::string_view(reinterpret_cast<const char*>(bytes),
                                         len) != w->data) {
      ++w->wrong;
    }
    if (w->sent < w->total) {
      w->Send();
    }
  }
  // Run sends `depth` and drives the loop until every call was answered.
  bool Run(int depth, int more) {
    total += more;
    const int want = answered + more;
    for (int i = 0; i < depth && sent < total; ++i) {
      Send();
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (answered < want && refused == 0 && absl::Now() < deadline) {
      if (!client->Process(absl::Milliseconds(100)).ok()) {
        return false;
      }
    }
    return answered == want;
  }
};

class PipelinedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::trustlink::ntl::client::testing::FakeServerOptions o = ServerOptions();
    o.slots = {{"p1", "l", "s"}};
    absl::StatusOr<std::unique_ptr<FakeServer>> s =
        FakeServer::Start(std::move(o));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    ClientSettings settings = Settings();
    settings.servers.push_back(Server("hsm1", server_->port()));
    settings.use_io_thread = false;  // every client step on this thread
    absl::StatusOr<std::unique_ptr<Client>> c =
        Client::Create(std::move(settings));
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
    ASSERT_TRUE(client_->WaitReady(absl::Now() + absl::Seconds(10)).ok());
    window_.client = client_.get();
    window_.data = std::string(64, 'x');
  }

  std::unique_ptr<FakeServer> server_;
  std::unique_ptr<Client> client_;
  Window window_;
};

TEST_F(PipelinedTest, CallsQueuedByCallbacksLeaveInTheSamePassWithoutARing) {
  constexpr int kCalls = 2000;
  const uint64_t rings = client_->DoorbellRings();
  const uint64_t writes = client_->Servers()[0].tls_writes;
  ASSERT_TRUE(window_.Run(16, kCalls));
  EXPECT_EQ(window_.wrong, 0);
  EXPECT_EQ(window_.refused, 0);
  // Before, the first call each pass's callbacks made rang the loop (the
  // thread running them) and the frames waited for the next pass: a ring per
  // pass, at least kCalls / 16 of them.
  EXPECT_LE(client_->DoorbellRings() - rings, 2u);
  // And the calls still leave together: one write per pass, not per call.
  EXPECT_LT(client_->Servers()[0].tls_writes - writes, uint64_t{kCalls} / 4);
}

TEST_F(PipelinedTest, SteadyStateCallsAllocateNothingOnTheClient) {
  // Warm-up: buffers, the call table, the deadline heap and the completion
  // arena reach their working sizes.
  ASSERT_TRUE(window_.Run(64, 4000));
  constexpr int kCalls = 4000;
  t_news = 0;
  t_counting = true;
  const bool ok = window_.Run(64, kCalls);
  t_counting = false;
  ASSERT_TRUE(ok);
  EXPECT_EQ(window_.wrong, 0);
  // Before: about six per call (the stats wrapper and its record, the call
  // map and deadline set nodes, the answer's string, its closure).
  EXPECT_LE(t_news, uint64_t{kCalls} / 100)
      << t_news << " operator new calls for " << kCalls << " calls";
}

}  // namespace
}  // namespace trustlink::ntl::client
