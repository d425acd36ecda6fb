#include "ntl/client/resolver.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

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

TEST(ResolverTest, SystemResolveFindsLocalhost) {
  absl::StatusOr<std::vector<std::string>> found = SystemResolve("localhost");
  ASSERT_TRUE(found.ok()) << found.status();
  const bool has_v4 =
      std::find(found->begin(), found->end(), "127.0.0.1") != found->end();
  const bool has_v6 =
      std::find(found->begin(), found->end(), "::1") != found->end();
  EXPECT_TRUE(has_v4 || has_v6);
}

TEST(ResolverTest, ErrorsNameTheServerAndHost) {
  ResolverFn failing =
      [](const std::string&) -> absl::StatusOr<std::vector<std::string>> {
    return absl::UnavailableError("Name or service not known");
  };
  absl::StatusOr<std::vector<SocketAddress>> r =
      ResolveNow(failing, "hsm1", "hsm1.invalid", 1792);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ToTlStatus(r.status()), TL_E_UNAVAILABLE);
  EXPECT_NE(r.status().message().find("'hsm1'"), absl::string_view::npos);
  EXPECT_NE(r.status().message().find("hsm1.invalid"), absl::string_view::npos);
  EXPECT_NE(r.status().message().find("not known"), absl::string_view::npos);

  ResolverFn nonsense =
      [](const std::string&) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{"not-an-ip"};
  };
  r = ResolveNow(nonsense, "hsm1", "hsm1.example", 1792);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not-an-ip"), absl::string_view::npos);

  ResolverFn empty =
      [](const std::string&) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{};
  };
  r = ResolveNow(empty, "hsm1", "hsm1.example", 1792);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no addresses"), absl::string_view::npos);
}

TEST(ResolverTest, ResolvedAddressesKeepTheirOrderAndPort) {
  ResolverFn two =
      [](const std::string&) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{"::1", "127.0.0.1"};
  };
  absl::StatusOr<std::vector<SocketAddress>> r =
      ResolveNow(two, "hsm1", "hsm1.example", 2000);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].text, "[::1]:2000");
  EXPECT_EQ((*r)[1].text, "127.0.0.1:2000");
}

}  // namespace
}  // namespace trustlink::ntl::client
