// Clone detection with two agents running on their own background threads, on
// the real clock, the way two copies of a cloned VM would: the agent's state is
// forked while it runs, and the appliance must raise the alarm at the first
// heartbeat of one copy after both have run, which is within one polling
// interval of the second copy's first heartbeat. agent_test drives the same
// case step by step; this one lets the threads race.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "htl/agent.h"
#include "htl/appliance.h"
#include "htl/ott.h"
#include "htl/secret_store.h"
#include "htl/session.h"
#include "htl/testing/loopback.h"
#include "ntl/internal/mutex.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

constexpr char kClient[] = "web1";
constexpr char kAppliance[] = "hsm1";
constexpr char kSourceA[] = "192.0.2.10:7000";
constexpr char kSourceB[] = "198.51.100.20:7000";
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);

// CallLog records every htl/1 call of both copies: who, when it started and
// ended, and how it ended.
class CallLog {
 public:
  struct Call {
    std::string source;
    absl::Time start;
    absl::Time end;
    tl_status result;
  };
  void Add(Call c) {
    ntl::internal::MutexLock lock(&mu_);
    calls_.push_back(std::move(c));
  }
  std::vector<Call> calls() const {
    ntl::internal::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  mutable ntl::internal::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

class LoggedSession : public HtlSession {
 public:
  LoggedSession(std::unique_ptr<HtlSession> inner, std::string source,
                CallLog* log)
      : inner_(std::move(inner)), source_(std::move(source)), log_(log) {}
  std::string Exporter() const override { return inner_->Exporter(); }
  absl::StatusOr<std::string> Call(uint32_t op,
                                   absl::string_view payload) override {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::string> r = inner_->Call(op, payload);
    log_->Add({source_, start, absl::Now(), ntl::ToTlStatus(r.status())});
    return r;
  }

 private:
  std::unique_ptr<HtlSession> inner_;
  const std::string source_;
  CallLog* const log_;
};

// LoggedConnector is a LoopbackConnector whose sessions log their calls.
class LoggedConnector : public HtlConnector {
 public:
  LoggedConnector(Appliance* appliance, std::string source, CallLog* log)
      : inner_(appliance, kClient, source), source_(source), log_(log) {}
  absl::StatusOr<std::unique_ptr<HtlSession>> Connect(
      absl::string_view appliance) override {
    absl::StatusOr<std::unique_ptr<HtlSession>> s = inner_.Connect(appliance);
    if (!s.ok()) return s.status();
    return std::unique_ptr<HtlSession>(
        new LoggedSession(*std::move(s), source_, log_));
  }

 private:
  testing::LoopbackConnector inner_;
  const std::string source_;
  CallLog* const log_;
};

std::string TestDir(const std::string& leaf) {
  const std::string base =
      std::string(std::getenv("TEST_TMPDIR")) + "/" +
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  return base + "/" + leaf;
}

std::unique_ptr<Agent> StartAgent(const std::string& client_root,
                                  HtlConnector* connector, SecretStore* store) {
  AgentOptions o;
  o.client_root = client_root;
  o.appliances = {kAppliance};
  o.connector = connector;
  o.store = store;
  o.poll_interval = kPollInterval;
  absl::StatusOr<std::unique_ptr<Agent>> a = Agent::Create(o);
  EXPECT_TRUE(a.ok()) << a.status();
  if (!a.ok()) return nullptr;
  EXPECT_TRUE((*a)->Start().ok());
  return *std::move(a);
}

TEST(CloneDetectionTest,
     ForkedRunningAgentsAreCaughtWithinOnePollingIntervalOfTheSecondCopy) {
  const std::string base = TestDir("");
  std::system(("rm -rf '" + base + "'").c_str());
  ASSERT_EQ(::mkdir(base.c_str(), 0700), 0);
  for (const char* d : {"client-a", "client-a/htl", "client-b", "client-b/htl"})
    ASSERT_EQ(::mkdir((base + d).c_str(), 0700), 0);

  Appliance::Options ao;
  ao.root = base + "appliance";
  ao.daemon = true;
  absl::StatusOr<std::unique_ptr<Appliance>> appliance = Appliance::Open(ao);
  ASSERT_TRUE(appliance.ok()) << appliance.status();
  ntl::internal::Mutex mu;
  std::vector<HtlEvent> alerts;
  (*appliance)->SetEventSink([&](const HtlEvent& e) {
    if (e.kind != HtlEvent::Kind::kAlert) return;
    ntl::internal::MutexLock lock(&mu);
    alerts.push_back(e);
  });
  auto alert_count = [&]() {
    ntl::internal::MutexLock lock(&mu);
    return alerts.size();
  };
  absl::StatusOr<std::string> token =
      (*appliance)->GenerateOtt(kClient, absl::nullopt);
  ASSERT_TRUE(token.ok());
  std::ofstream(base + "client-a/htl/" + kAppliance + ".ott")
      << FormatTokenFile(*token, kClient);

  CallLog log;
  LoggedConnector connector_a(appliance->get(), kSourceA, &log);
  LoggedConnector connector_b(appliance->get(), kSourceB, &log);
  MemorySecretStore store_a;
  std::unique_ptr<Agent> a =
      StartAgent(base + "client-a", &connector_a, &store_a);
  ASSERT_NE(a, nullptr);
  // Let the genuine agent run a few heartbeats (deadline 20 s).
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (a->Status()[0].generation < 4 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));  // waiting, bounded
  }
  ASSERT_GE(a->Status()[0].generation, 4u) << a->Status()[0].last_error;

  // The live clone: memory (the secret) copied while the agent runs; the
  // cloned disk has no token file.
  const absl::Time forked_at = absl::Now();
  std::unique_ptr<MemorySecretStore> store_b = store_a.Copy();
  std::unique_ptr<Agent> b =
      StartAgent(base + "client-b", &connector_b, store_b.get());
  ASSERT_NE(b, nullptr);
  deadline = absl::Now() + absl::Seconds(20);
  while (alert_count() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));  // waiting, bounded
  }
  a->Stop();
  b->Stop();
  ASSERT_EQ(alert_count(), 1u) << "no clone alarm within 20 s";
  const HtlEvent alert = alerts[0];
  EXPECT_EQ((*appliance)->Show(kClient)->htl, HtlStatus::kDown);

  // Both copies have run once each has made a call that started after the
  // fork; the later of those two calls' ends is when "both have run".
  const std::vector<CallLog::Call> calls = log.calls();
  absl::Time first_a = absl::InfiniteFuture(), first_b = absl::InfiniteFuture();
  for (const CallLog::Call& c : calls) {
    if (c.start < forked_at) continue;
    absl::Time& first = c.source == kSourceA ? first_a : first_b;
    if (first == absl::InfiniteFuture()) first = c.end;
  }
  ASSERT_NE(first_b, absl::InfiniteFuture()) << "the clone never heartbeat";
  const absl::Time both_ran = std::max(first_a, first_b);
  // The copy that presented a retired secret: its first call that started
  // after both ran must not have succeeded, and the alarm is raised by then.
  bool judged = false;
  for (const CallLog::Call& c : calls) {
    if (c.source != alert.source_presented || c.start < both_ran) continue;
    EXPECT_NE(c.result, TL_OK)
        << alert.source_presented
        << " heartbeat successfully after both copies had run";
    judged = true;
    break;
  }
  // With no such call, the alarm came even earlier (a call in flight at the
  // fork already presented the copied secret).
  const absl::Duration delay = alert.at - both_ran;
  std::printf(
      "alarm %s after both copies ran (poll interval %s); presented by %s, "
      "live secret at %s; judged by a later call: %s\n",
      absl::FormatDuration(delay).c_str(),
      absl::FormatDuration(kPollInterval).c_str(),
      alert.source_presented.c_str(), alert.source_other.c_str(),
      judged ? "yes" : "no");
  // A sanity bound only: the timing-free check is that the first call after
  // both copies ran failed (above). A heartbeat waits on the other copy's
  // fsyncs, which a sanitizer on a busy disk can make seconds.
  EXPECT_LE(delay, kPollInterval + absl::Seconds(10));
  EXPECT_NE(alert.source_presented, alert.source_other);
  EXPECT_TRUE(alert.source_presented == kSourceA ||
              alert.source_presented == kSourceB);
}

}  // namespace
}  // namespace trustlink::htl
