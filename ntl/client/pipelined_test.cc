// Pipelined calls the way an asynchronous embedder makes them: a window of
// C ABI-style calls (Client::CallAsyncRaw) whose callbacks send the next one.
// The loop writes what its callbacks queued in the same pass, without ringing
// its own doorbell, and in steady state the client allocates nothing per call
// (docs/client.md, "Pipelined calls").

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/internal/new_counter.h"
#include "ntl/status.h"

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
    if (!client
             ->CallAsyncRaw(0, kOpEcho, data, absl::Now() + absl::Seconds(30),
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

  // WritesOfFirstPass makes one call with `first` as its callback (which
  // sends `more` calls through window_), drives the loop until that callback
  // ran, and returns the TLS writes of that pass; then waits for the answers.
  uint64_t WritesOfFirstPass(RawCallCallback first, int more) {
    EXPECT_TRUE(client_
                    ->CallAsyncRaw(0, kOpEcho, "first",
                                   absl::Now() + absl::Seconds(30), first)
                    .ok());
    uint64_t writes = 0;
    uint64_t before = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (window_.sent == 0 && absl::Now() < deadline) {
      before = client_->Servers()[0].tls_writes;
      EXPECT_TRUE(client_->Process(absl::Milliseconds(100)).ok());
      writes = client_->Servers()[0].tls_writes - before;
    }
    EXPECT_EQ(window_.sent, more);
    while (window_.answered < more && absl::Now() < deadline) {
      EXPECT_TRUE(client_->Process(absl::Milliseconds(100)).ok());
    }
    EXPECT_EQ(window_.answered, more);
    EXPECT_EQ(window_.wrong, 0);
    return writes;
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

TEST_F(PipelinedTest, CallsMadeByOneCallbackPassLeaveInOneWrite) {
  // One call; its callback makes eight more while nothing else is in flight.
  // They leave together, in one write after the pass (before: the first was
  // written at once as a lone call, and the server woke twice).
  struct Fan {
    Window* w;
    int answered = 0;
    static void OnFirst(void* arg, int32_t, const uint8_t*, size_t) {
      auto* f = static_cast<Fan*>(arg);
      f->w->total += 8;
      for (int i = 0; i < 8; ++i) {
        f->w->Send();
      }
    }
  } fan{&window_};
  RawCallCallback first;
  first.fn = &Fan::OnFirst;
  first.arg = &fan;
  EXPECT_EQ(WritesOfFirstPass(first, 8), 1u);
}

TEST_F(PipelinedTest, ACallbackDrivingAnotherClientLosesNoDeferredWrite) {
  // The callback queues a call on this client, then drives a second client's
  // loop (its own completion pass, its own deferral). The first client's call
  // must still leave at the end of its pass.
  ClientSettings settings = Settings();
  settings.servers.push_back(Server("hsm1", server_->port()));
  settings.use_io_thread = false;
  absl::StatusOr<std::unique_ptr<Client>> other =
      Client::Create(std::move(settings));
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE((*other)->WaitReady(absl::Now() + absl::Seconds(10)).ok());
  struct Nest {
    Window* w;
    Client* other;
    static void OnFirst(void* arg, int32_t, const uint8_t*, size_t) {
      auto* n = static_cast<Nest*>(arg);
      n->w->total += 1;
      n->w->Send();
      (void)n->other->Process(absl::ZeroDuration());
    }
  } nest{&window_, other->get()};
  RawCallCallback first;
  first.fn = &Nest::OnFirst;
  first.arg = &nest;
  EXPECT_EQ(WritesOfFirstPass(first, 1), 1u);
}

TEST_F(PipelinedTest, SteadyStateCallsAllocateNothingOnTheClient) {
  // Warm-up: buffers, the call table, the deadline heap and the completion
  // arena reach their working sizes.
  ASSERT_TRUE(window_.Run(64, 4000));
  constexpr int kCalls = 4000;
  internal::StartCountingNew(internal::CountNewOn::kThisThread);
  const bool ok = window_.Run(64, kCalls);
  const uint64_t news = internal::StopCountingNew();
  ASSERT_TRUE(ok);
  EXPECT_EQ(window_.wrong, 0);
  // Before: about six per call (the stats wrapper and its record, the call
  // map and deadline set nodes, the answer's string, its closure).
  EXPECT_LE(news, uint64_t{kCalls} / 100)
      << news << " operator new calls for " << kCalls << " calls";
}

}  // namespace
}  // namespace trustlink::ntl::client
