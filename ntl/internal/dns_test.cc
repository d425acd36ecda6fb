#include "ntl/internal/dns.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/internal/silent_dns_server.h"

namespace trustlink::ntl::internal {
namespace {

TEST(DnsTest, LookupNowFindsLocalhostInTheHostsFile) {
  absl::StatusOr<std::vector<std::string>> found =
      LookupNow("localhost", absl::Now() + absl::Seconds(10), -1, {});
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_FALSE(found->empty());
  for (const std::string& a : *found) {
    EXPECT_TRUE(a == "127.0.0.1" || a == "::1") << a;
  }
}

TEST(DnsTest, LookupNowStopsAtOnceWhenCancelled) {
  SilentDnsServer silent;
  DnsOptions options;
  options.servers = silent.servers();
  const int cancel = eventfd(0, EFD_CLOEXEC);
  absl::StatusOr<std::vector<std::string>> found;
  std::thread lookup([&]() {
    found = LookupNow("never-answered.test", absl::Now() + absl::Seconds(30),
                      cancel, options);
  });
  ASSERT_TRUE(silent.AwaitQuery()) << "the lookup never reached the server";
  const absl::Time cancelled = absl::Now();
  const uint64_t one = 1;
  ASSERT_EQ(write(cancel, &one, sizeof(one)), 8);
  lookup.join();
  const absl::Duration took = absl::Now() - cancelled;
  close(cancel);
  EXPECT_EQ(found.status().code(), absl::StatusCode::kCancelled)
      << found.status();
  EXPECT_LT(took, absl::Seconds(1));
}

TEST(DnsTest, LookupNowKeepsItsDeadline) {
  SilentDnsServer silent;
  DnsOptions options;
  options.servers = silent.servers();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<std::string>> found = LookupNow(
      "never-answered.test", start + absl::Milliseconds(300), -1, options);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(found.status().code(), absl::StatusCode::kDeadlineExceeded)
      << found.status();
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, absl::Seconds(3));
}

TEST(DnsTest, DestroyingAChannelCancelsItsLookupsAndClosesItsSockets) {
  SilentDnsServer silent;
  DnsOptions options;
  options.servers = silent.servers();
  std::vector<int> watched;
  bool done_ran = false;
  {
    absl::StatusOr<std::unique_ptr<DnsChannel>> channel =
        DnsChannel::Create(options, [&](int fd, bool readable, bool writable) {
          auto it = std::find(watched.begin(), watched.end(), fd);
          if (!readable && !writable) {
            if (it != watched.end()) watched.erase(it);
          } else if (it == watched.end()) {
            watched.push_back(fd);
          }
        });
    ASSERT_TRUE(channel.ok()) << channel.status();
    (*channel)->Lookup(
        "never-answered.test",
        [&](absl::StatusOr<std::vector<std::string>>) { done_ran = true; });
    ASSERT_TRUE(silent.AwaitQuery());
    EXPECT_FALSE(watched.empty());
    EXPECT_EQ((*channel)->sockets(), watched);
    EXPECT_NE((*channel)->NextDeadline(), absl::InfiniteFuture());
  }
  EXPECT_FALSE(done_ran);
  EXPECT_TRUE(watched.empty());
}

}  // namespace
}  // namespace trustlink::ntl::internal
