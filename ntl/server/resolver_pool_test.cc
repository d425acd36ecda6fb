#include "ntl/server/resolver_pool.h"

#include <map>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/internal/mutex.h"
#include "ntl/internal/silent_dns_server.h"

namespace trustlink::ntl::server {
namespace {

// GatedResolver answers "<name> -> 192.0.2.1" once the test opens its gate,
// or at once when the gate starts open; "missing" never resolves.
class GatedResolver : public Resolver {
 public:
  explicit GatedResolver(bool open) : open_(open) {}
  void Open() {
    internal::MutexLock lock(&mu_);
    open_ = true;
    cv_.SignalAll();
  }
  void Cancel() override {
    internal::MutexLock lock(&mu_);
    cancelled_ = true;
    cv_.SignalAll();
  }
  int calls() {
    internal::MutexLock lock(&mu_);
    return calls_;
  }
  bool WaitForCalls(int n) {
    internal::MutexLock lock(&mu_);
    return cv_.WaitUntil(&mu_, absl::Now() + absl::Seconds(10), [&] {
      mu_.AssertHeld();
      return calls_ >= n;
    });
  }
  absl::StatusOr<std::vector<std::string>> Resolve(
      const std::string& host) override {
    internal::MutexLock lock(&mu_);
    ++calls_;
    cv_.SignalAll();
    while (!open_ && !cancelled_) {
      cv_.Wait(&mu_);
    }
    if (cancelled_) {
      return absl::CancelledError("cancelled");
    }
    if (host == "missing") {
      return absl::NotFoundError("no such host");
    }
    return std::vector<std::string>{"192.0.2.1"};
  }

 private:
  internal::Mutex mu_;
  internal::CondVar cv_;
  bool open_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

// Answers collects callbacks from the workers.
class Answers {
 public:
  ResolverPool::Done Sink(const std::string& tag) {
    return [this, tag](const Resolution& r) {
      internal::MutexLock lock(&mu_);
      got_[tag] = r;
      cv_.SignalAll();
    };
  }
  bool WaitFor(size_t n) {
    internal::MutexLock lock(&mu_);
    return cv_.WaitUntil(&mu_, absl::Now() + absl::Seconds(10), [&] {
      mu_.AssertHeld();
      return got_.size() >= n;
    });
  }
  size_t size() {
    internal::MutexLock lock(&mu_);
    return got_.size();
  }
  Resolution Get(const std::string& tag) {
    internal::MutexLock lock(&mu_);
    return got_[tag];
  }

 private:
  internal::Mutex mu_;
  internal::CondVar cv_;
  std::map<std::string, Resolution> got_ ABSL_GUARDED_BY(mu_);
};

TEST(ResolverPoolTest, ConcurrentLookupsOfOneNameShareOneResolverCall) {
  auto resolver = std::make_shared<GatedResolver>(false);
  ResolverPool pool(resolver, {});
  Answers answers;
  ASSERT_TRUE(pool.Lookup("a.example", answers.Sink("first")));
  ASSERT_TRUE(resolver->WaitForCalls(1));
  ASSERT_TRUE(pool.Lookup("a.example", answers.Sink("second")));
  resolver->Open();
  ASSERT_TRUE(answers.WaitFor(2));
  EXPECT_EQ(resolver->calls(), 1);
  EXPECT_EQ(answers.Get("second").addresses,
            std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(pool.lookups(), 1u);
}

TEST(ResolverPoolTest, AnswersAreCachedForTheirTtl) {
  auto resolver = std::make_shared<GatedResolver>(true);
  ResolverPoolOptions o;
  o.ttl = absl::Seconds(30);
  o.negative_ttl = absl::Seconds(5);
  ResolverPool pool(resolver, o);
  Answers answers;
  EXPECT_FALSE(pool.Cached("a.example", absl::Now()).has_value());
  ASSERT_TRUE(pool.Lookup("a.example", answers.Sink("a")));
  ASSERT_TRUE(pool.Lookup("missing", answers.Sink("m")));
  ASSERT_TRUE(answers.WaitFor(2));
  const absl::Time now = absl::Now();
  auto hit = pool.Cached("a.example", now);
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(hit->status.ok());
  EXPECT_FALSE(pool.Cached("a.example", now + absl::Seconds(31)).has_value());
  auto miss = pool.Cached("missing", now);
  ASSERT_TRUE(miss.has_value());
  EXPECT_EQ(miss->status.code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(pool.Cached("missing", now + absl::Seconds(6)).has_value());
}

TEST(ResolverPoolTest, RefusesMoreThanMaxPendingHostnames) {
  auto resolver = std::make_shared<GatedResolver>(false);
  ResolverPoolOptions o;
  o.threads = 1;
  o.max_pending = 2;
  ResolverPool pool(resolver, o);
  Answers answers;
  ASSERT_TRUE(pool.Lookup("a.example", answers.Sink("a")));
  ASSERT_TRUE(pool.Lookup("b.example", answers.Sink("b")));
  EXPECT_FALSE(pool.Lookup("c.example", answers.Sink("c")));
  // Joining a lookup already waiting costs no slot.
  EXPECT_TRUE(pool.Lookup("a.example", answers.Sink("a2")));
  resolver->Open();
  ASSERT_TRUE(answers.WaitFor(3));
  EXPECT_TRUE(pool.Lookup("c.example", answers.Sink("c")));
  ASSERT_TRUE(answers.WaitFor(4));
}

// A resolver stuck on a dead DNS server must not hold up shutdown.
TEST(ResolverPoolTest, StopCancelsAHangingResolverAndJoinsItsWorkers) {
  auto resolver = std::make_shared<GatedResolver>(false);
  auto pool = std::make_unique<ResolverPool>(resolver, ResolverPoolOptions{});
  Answers answers;
  ASSERT_TRUE(pool->Lookup("a.example", answers.Sink("a")));
  ASSERT_TRUE(resolver->WaitForCalls(1));
  const absl::Time start = absl::Now();
  pool->Stop();  // joins: returns only once the worker left the resolver
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_FALSE(pool->Lookup("b.example", answers.Sink("b")));
  pool.reset();
  EXPECT_EQ(answers.size(), 0u) << "a cancelled lookup's callback ran";
}

TEST(ResolverPoolTest, TheSystemResolverIsCancelledMidLookup) {
  // c-ares through a name server that never answers: only Cancel ends it.
  internal::SilentDnsServer silent;
  auto pool = std::make_unique<ResolverPool>(SystemResolver(silent.servers()),
                                             ResolverPoolOptions{});
  Answers answers;
  ASSERT_TRUE(pool->Lookup("never-answered.test", answers.Sink("a")));
  ASSERT_TRUE(silent.AwaitQuery()) << "the lookup never reached the server";
  const absl::Time start = absl::Now();
  pool->Stop();
  // c-ares would wait seconds for the silent server before it gave up.
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
}

}  // namespace
}  // namespace trustlink::ntl::server
