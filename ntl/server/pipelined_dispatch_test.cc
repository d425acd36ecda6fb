// The server's side of pipelined calls: a batch of requests read in one
// wake-up is dispatched inline to the software partition and answered, every
// answer correct and in the batch's write, with no allocation per call on the
// loop: no pending-table entry and no answer string for a call answered on the
// spot, and the Responder the handler interface hands over reuses a spare
// block (docs/server.md, "Engine").
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "ntl/internal/clock_counter.h"
#include "ntl/internal/new_counter.h"
#include "ntl/internal/timed_wait_counter.h"
#include "ntl/server/server.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::server {
namespace {

using testing::ClientOptions;
using testing::LoadClientIdentity;
using testing::TestClient;

constexpr int kWindow = 64;

// Batch sends kWindow echo requests in one write and reads their answers;
// false (with a test failure) if any is missing or wrong.
bool Batch(TestClient* c, uint32_t first_id) {
  std::string out;
  for (int i = 0; i < kWindow; ++i) {
    const uint32_t id = first_id + static_cast<uint32_t>(i);
    wire::AppendRequestFrame(id, "p1", kOpEcho, std::string(64, 'a' + i % 26),
                             &out);
  }
  if (!c->SendRaw(out).ok()) {
    ADD_FAILURE() << "send failed";
    return false;
  }
  for (int i = 0; i < kWindow; ++i) {
    auto f = c->Read();
    if (!f.ok()) {
      ADD_FAILURE() << f.status();
      return false;
    }
    auto r = wire::DecodeResponse(f->payload);
    const int k = static_cast<int>(f->id - first_id);
    if (!r.ok() || r->status != 0 || k < 0 || k >= kWindow ||
        r->data != std::string(64, 'a' + k % 26)) {
      ADD_FAILURE() << "wrong answer to request " << f->id;
      return false;
    }
  }
  return true;
}

// A server with the software partition and one client that said hello and ran
// a few batches, so buffers and tables have settled.
class PipelinedDispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto id = LoadClientIdentity("client_ed25519");
    auto server = testing::StartSoftwareServer(id, "pipe");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto c = TestClient::Connect(server_->port(), ClientOptions(id));
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
    ASSERT_TRUE(client_->Hello().ok());
    ASSERT_TRUE(Batches(20));
  }
  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(absl::Seconds(2));
    }
  }
  // Batches runs `n` batches; false (with a test failure) on a wrong answer.
  bool Batches(int n) {
    for (int i = 0; i < n; ++i) {
      if (!Batch(client_.get(), next_)) {
        return false;
      }
      next_ += kWindow;
    }
    return true;
  }
  int64_t Stat(const char* name) {
    for (const auto& [n, v] : server_->Stats()) {
      if (std::string(n) == name) {
        return static_cast<int64_t>(v);
      }
    }
    ADD_FAILURE() << "no counter " << name;
    return -1;
  }

  static constexpr int kBatches = 50;
  std::unique_ptr<Server> server_;
  std::unique_ptr<TestClient> client_;
  uint32_t next_ = 1;
};

TEST_F(PipelinedDispatchTest, InlineAnswersTakeNoPendingEntryOrAnswerString) {
  internal::StartCountingNew(internal::CountNewOn::kLoopThreads);
  const bool ok = Batches(kBatches);
  const uint64_t news = internal::StopCountingNew();
  ASSERT_TRUE(ok);
  const double per_call = static_cast<double>(news) / (kBatches * kWindow);
  std::printf("loop operator new per pipelined echo: %.2f\n", per_call);
  // None. Before: one (the Responder), and before that four (the Responder,
  // the pending-table node, the answer's string and its 20-byte head).
  EXPECT_LE(per_call, 0.05);
}

// The loop reads the clock once per wake-up, not per call: the calls' timers
// start at the wake-up and the answers given on the spot end on one reading,
// and the counters still count every call as soon as its answer has left.
TEST_F(PipelinedDispatchTest, OneClockReadPerWakeUpNotPerCall) {
  internal::StartCountingClockReads(internal::CountNewOn::kLoopThreads);
  const bool ok = Batches(kBatches);
  const uint64_t reads = internal::StopCountingClockReads();
  ASSERT_TRUE(ok);
  const double per_call = static_cast<double>(reads) / (kBatches * kWindow);
  std::printf("loop clock reads per pipelined echo: %.3f\n", per_call);
  // A batch may arrive in a few reads, each a wake-up with two readings (its
  // start, its answers' end). Before: two per call (each call's timer).
  EXPECT_LE(per_call, 0.25);
  EXPECT_EQ(Stat("calls"), static_cast<int64_t>(next_ - 1));
  EXPECT_EQ(Stat("calls_failed"), 0);
  EXPECT_EQ(Stat("calls_in_flight"), 0);
}

// One call at a time wakes the loop once per call, and that wake-up arms no
// kernel timer: the loop's tick is a periodic timerfd, so epoll_wait waits
// with no timeout (issue 16, "Small calls"). Before: one timed wait per
// wake-up, the tick's 100 ms.
TEST_F(PipelinedDispatchTest, RoundTripsArmNoKernelTimerPerWakeUp) {
  constexpr int kCalls = 200;
  internal::TimedWaits().Start(internal::CountNewOn::kLoopThreads);
  bool ok = true;
  for (int i = 0; i < kCalls && ok; ++i) {
    std::string out;
    wire::AppendRequestFrame(next_, "p1", kOpEcho, "ping", &out);
    ok = client_->SendRaw(out).ok();
    auto f = ok ? client_->Read() : absl::InternalError("send failed");
    ok = f.ok() && f->id == next_;
    EXPECT_TRUE(ok) << "round trip " << i << ": "
                    << (f.ok() ? "wrong answer id" : f.status().ToString());
    ++next_;
  }
  const uint64_t timed = internal::TimedWaits().Stop();
  ASSERT_TRUE(ok);
  std::printf("loop timed epoll_waits per round trip: %.3f\n",
              static_cast<double>(timed) / kCalls);
  EXPECT_EQ(timed, 0u);
}

}  // namespace
}  // namespace trustlink::ntl::server
