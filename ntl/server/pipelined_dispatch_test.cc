// The server's side of pipelined calls: a batch of requests read in one
// wake-up is dispatched inline to the software partition and answered, every
// answer correct and in the batch's write, with at most one allocation per
// call on the loop (the Responder the handler interface hands over): no
// pending-table entry and no answer string for a call answered on the spot
// (docs/server.md, "Pipelined calls").
#include <sys/prctl.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "gtest/gtest.h"
#include "ntl/server/server.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"

namespace {

// operator new is counted on the server's loop threads (named ntls-loop-*)
// while counting is on.
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_loop_news{0};

bool OnLoopThread() {
  char name[16] = "";
  prctl(PR_GET_NAME, name, 0, 0, 0);
  return std::strncmp(name, "ntls-loop-", 10) == 0;
}

}  // namespace

void* operator new(size_t n) {
  if (g_counting.load(std::memory_order_relaxed) && OnLoopThread()) {
    g_loop_news.fetch_add(1, std::memory_order_relaxed);
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace trustlink::ntl::server {
namespace {

using testing::ClientOptions;
using testing::FixtureServerCredentials;
using testing::LoadClientIdentity;
using testing::LoopbackRecord;
using testing::OneLoopOptions;
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

TEST(PipelinedDispatchTest, InlineAnswersTakeNoPendingEntryOrAnswerString) {
  const auto id = LoadClientIdentity("client_ed25519");
  auto directory = std::make_shared<InMemoryDirectory>();
  directory->Put(LoopbackRecord("pipe", id.fingerprint));
  auto cred = FixtureServerCredentials();
  ASSERT_TRUE(cred.ok()) << cred.status();
  auto server = Server::Create(OneLoopOptions([](absl::string_view) {}),
                               directory, *cred);
  ASSERT_TRUE(server.ok()) << server.status();
  (*server)->SetPartitionHandler(std::make_shared<SoftwarePartitionHandler>());
  ASSERT_TRUE((*server)->Start().ok());
  auto c = TestClient::Connect((*server)->port(), ClientOptions(id));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Hello().ok());
  uint32_t next = 1;
  for (int i = 0; i < 20; ++i) {  // warm up: buffers and tables settle
    ASSERT_TRUE(Batch(c->get(), next));
    next += kWindow;
  }
  constexpr int kBatches = 50;
  g_loop_news = 0;
  g_counting = true;
  for (int i = 0; i < kBatches; ++i) {
    ASSERT_TRUE(Batch(c->get(), next));
    next += kWindow;
  }
  g_counting = false;
  const double per_call =
      static_cast<double>(g_loop_news.load()) / (kBatches * kWindow);
  std::printf("loop operator new per pipelined echo: %.2f\n", per_call);
  // One: the Responder. Before: four (the Responder, the pending-table node,
  // the answer's string and its 20-byte head).
  EXPECT_LE(per_call, 1.1);
  (*server)->Shutdown(absl::Seconds(2));
}

}  // namespace
}  // namespace trustlink::ntl::server
