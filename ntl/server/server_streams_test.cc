// Server: a slow asynchronous partition handler, stream channels to a named
// service.

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/names.h"
#include "ntl/server/server.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/server_test_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server {
namespace {

using testing::ClientIdentity;
using testing::ClientOptions;
using testing::FixtureServerCredentials;
using testing::LoadClientIdentity;
using testing::LogLines;
using testing::ReadFixture;
using testing::ServerTest;
using testing::TestClient;
using testing::TestClientOptions;
using testing::WaitFor;

// SlowHandler answers from another thread when released.
class SlowHandler : public PartitionHandler {
 public:
  void HandleRequest(const CallContext&, uint32_t, absl::string_view data,
                     std::unique_ptr<Responder> responder) override {
    internal::MutexLock lock(&mu_);
    waiting_.emplace_back(std::move(responder), std::string(data));
    cv_.SignalAll();
  }
  bool WaitForCalls(size_t n) {
    internal::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (waiting_.size() < n) {
      if (cv_.WaitWithDeadline(&mu_, deadline)) {
        return waiting_.size() >= n;
      }
    }
    return true;
  }
  void ReleaseAll() {
    std::vector<std::pair<std::unique_ptr<Responder>, std::string>> w;
    {
      internal::MutexLock lock(&mu_);
      w.swap(waiting_);
    }
    std::thread t([&w] {
      for (auto& [r, d] : w) {
        r->Respond(TL_OK, d);
      }
    });
    t.join();
  }

 private:
  internal::Mutex mu_;
  internal::CondVar cv_;
  std::vector<std::pair<std::unique_ptr<Responder>, std::string>> waiting_
      ABSL_GUARDED_BY(mu_);
};

TEST_F(ServerTest, SlowAsyncHandlerDoesNotBlockLoopAndShutdownFinishesCalls) {
  ServerOptions o;
  o.threads = 1;  // one loop: a blocked loop would fail the ping below
  auto slow = std::make_shared<SlowHandler>();
  StartServer(o, slow);
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  wire::Request r{"p1", kOpEcho, "late"};
  ASSERT_TRUE(
      c->Send(wire::FrameType::kRequest, 42, wire::EncodeRequest(r)).ok());
  ASSERT_TRUE(slow->WaitForCalls(1));
  ASSERT_TRUE(c->Send(wire::FrameType::kPing, 0, "p").ok());
  auto pong = c->Read();
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->type, wire::FrameType::kPong);
  std::thread stopper([&] { server_->Shutdown(absl::Seconds(5)); });
  ASSERT_TRUE(WaitFor([&] { return log_.Contains("shutting down"); },
                      absl::Seconds(10)));
  slow->ReleaseAll();
  auto resp = c->Read();
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->type, wire::FrameType::kResponse);
  EXPECT_EQ(resp->id, 42u);
  auto bye = c->Read();
  ASSERT_TRUE(bye.ok());
  EXPECT_EQ(bye->type, wire::FrameType::kGoAway);
  stopper.join();
}

// EchoService echoes stream bytes back, upper-cased, through the sink.
class EchoService : public StreamService {
 public:
  class Session : public StreamSession {
   public:
    explicit Session(std::shared_ptr<StreamSink> sink)
        : sink_(std::move(sink)) {}
    void OnData(absl::string_view data) override {
      std::string up(data);
      for (char& ch : up) {
        ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
      }
      if (up == "BYE") {
        sink_->Close(TL_OK, "bye");
        return;
      }
      sink_->Send(up);
    }
    void OnClose() override {}

   private:
    std::shared_ptr<StreamSink> sink_;
  };
  absl::StatusOr<std::unique_ptr<StreamSession>> Open(
      const CallContext&, std::shared_ptr<StreamSink> sink) override {
    return std::unique_ptr<StreamSession>(new Session(std::move(sink)));
  }
};

TEST_F(ServerTest, StreamChannelToNamedService) {
  ServerOptions o;
  o.listen_address = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.log = [this](absl::string_view l) { log_.Add(l); };
  auto s = Server::Create(o, directory_, credentials_);
  ASSERT_TRUE(s.ok());
  server_ = std::move(*s);
  server_->AddStreamService("echo", std::make_shared<EchoService>());
  ASSERT_TRUE(server_->Start().ok());
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send(wire::FrameType::kStreamOpen, 5,
                      wire::EncodeStreamOpen({"p1", "echo"}))
                  .ok());
  ASSERT_TRUE(c->Send(wire::FrameType::kStreamData, 5, "hello").ok());
  auto f = c->Read();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->type, wire::FrameType::kStreamData);
  EXPECT_EQ(f->id, 5u);
  EXPECT_EQ(f->payload, "HELLO");
  ASSERT_TRUE(c->Send(wire::FrameType::kStreamData, 5, "bye").ok());
  f = c->Read();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->type, wire::FrameType::kStreamClose);
  // Unknown service and unassigned partition are refused on the stream, not the
  // link.
  ASSERT_TRUE(c->Send(wire::FrameType::kStreamOpen, 6,
                      wire::EncodeStreamOpen({"p1", "nope"}))
                  .ok());
  f = c->Read();
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->type, wire::FrameType::kStreamClose);
  EXPECT_EQ(wire::DecodeClosing(f->payload)->status, TL_E_NOT_FOUND);
  ASSERT_TRUE(c->Send(wire::FrameType::kStreamOpen, 7,
                      wire::EncodeStreamOpen({"p9", "echo"}))
                  .ok());
  f = c->Read();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(wire::DecodeClosing(f->payload)->status,
            TL_E_PARTITION_NOT_ASSIGNED);
}

}  // namespace
}  // namespace trustlink::ntl::server
