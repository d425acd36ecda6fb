#include "ntl/client/resolver.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

ClientSettings With(ResolverFn resolver) {
  ClientSettings s;
  s.resolver = std::move(resolver);
  return s;
}

TEST(ResolverTest, LiteralsParseWithoutALookup) {
  std::optional<SocketAddress> v4 = ParseNumericAddress("127.0.0.1", 1792);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->addr.ss_family, AF_INET);
  EXPECT_EQ(v4->text, "127.0.0.1:1792");
  std::optional<SocketAddress> v6 = ParseNumericAddress("[::1]", 1792);
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->addr.ss_family, AF_INET6);
  EXPECT_EQ(v6->text, "[::1]:1792");
  EXPECT_FALSE(ParseNumericAddress("hsm1.example", 1792).has_value());
  EXPECT_FALSE(ParseNumericAddress("127.0.0.1.example", 1792).has_value());
}

TEST(ResolverTest, WithoutAResolverLocalhostResolvesThroughCAres) {
  absl::StatusOr<std::vector<SocketAddress>> found =
      ResolveNow(ClientSettings(), "hsm1", "localhost", 1792,
                 absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_FALSE(found->empty());
  for (const SocketAddress& a : *found) {
    EXPECT_TRUE(a.text == "127.0.0.1:1792" || a.text == "[::1]:1792") << a.text;
  }
}

TEST(ResolverTest, ErrorsNameTheServerAndHost) {
  ResolverFn failing =
      [](const std::string&) -> absl::StatusOr<std::vector<std::string>> {
    return absl::UnavailableError("Name or service not known");
  };
  absl::StatusOr<std::vector<SocketAddress>> r = ResolveNow(
      With(failing), "hsm1", "hsm1.invalid", 1792, absl::InfiniteFuture());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ToTlStatus(r.status()), TL_E_UNAVAILABLE);
  EXPECT_NE(r.status().message().find("'hsm1'"), absl::string_view::npos);
  EXPECT_NE(r.status().message().find("hsm1.invalid"), absl::string_view::npos);
  EXPECT_NE(r.status().message().find("not known"), absl::string_view::npos);

  ResolverFn nonsense =
      [](const std::string&) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{"not-an-ip"};
  };
  r = ResolveNow(With(nonsense), "hsm1", "hsm1.example", 1792,
                 absl::InfiniteFuture());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not-an-ip"), absl::string_view::npos);

  ResolverFn empty =
      [](const std::string&) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{};
  };
  r = ResolveNow(With(empty), "hsm1", "hsm1.example", 1792,
                 absl::InfiniteFuture());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no addresses"), absl::string_view::npos);
}

TEST(ResolverTest, ResolvedAddressesKeepTheirOrderAndPort) {
  ResolverFn two =
      [](const std::string&) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{"::1", "127.0.0.1"};
  };
  absl::StatusOr<std::vector<SocketAddress>> r = ResolveNow(
      With(two), "hsm1", "hsm1.example", 2000, absl::InfiniteFuture());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].text, "[::1]:2000");
  EXPECT_EQ((*r)[1].text, "127.0.0.1:2000");
}

}  // namespace
}  // namespace trustlink::ntl::client
