#include "ntl/client/root_loader.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/config_root.h"
#include "ntl/identity.h"
#include "ntl/names.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

std::string NewRoot(const std::string& leaf) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp ? tmp : "/tmp", "/root_loader_test_", leaf, "_",
                      getpid());
}

TEST(RootLoaderTest, LoadsAnEnrolledRootAndTheClientCalls) {
  testing::FakeServerOptions o = testing::ServerOptions();
  o.slots = {{"p1", "l", "s"}};
  auto server = testing::FakeServer::Start(o);
  ASSERT_TRUE(server.ok());

  const std::string path = NewRoot("enrolled");
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, true);
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(root->CreateCert("client.test", IdentityOptions(), false).ok());
  ASSERT_TRUE(
      root->AddServer("127.0.0.1", o.cert_pem, (*server)->port(), false, false)
          .ok());
  // A server listed in trustlink.conf but missing from the trust store.
  {
    absl::StatusOr<ClientConfig> config = root->LoadConfig();
    ASSERT_TRUE(config.ok());
    ServerConfig extra;
    extra.name = "127.0.0.9";
    extra.port = (*server)->port();
    ASSERT_TRUE(config->AddServer(extra).ok());
    std::ofstream(root->ConfigPath()) << config->Serialize();
  }

  absl::StatusOr<ClientSettings> settings = LoadClientSettings(path);
  ASSERT_TRUE(settings.ok()) << settings.status();
  ASSERT_EQ(settings->servers.size(), 2u);
  EXPECT_EQ(settings->servers[0].name, "127.0.0.1");
  EXPECT_FALSE(settings->servers[0].pinned_cert_der.empty());
  EXPECT_TRUE(settings->servers[1].pinned_cert_der.empty());

  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(*settings);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_EQ((*client)->Slots().size(), 1u);
  absl::StatusOr<std::string> r =
      (*client)->Call(0, testing::kOpEcho, "x", absl::Now() + absl::Seconds(5));
  EXPECT_TRUE(r.ok()) << r.status();
  std::vector<ServerStatus> servers = (*client)->Servers();
  EXPECT_EQ(servers[1].state, LinkState::kNotTrusted);
  EXPECT_NE(servers[1].last_error.message().find("CAFile.pem"),
            absl::string_view::npos);
  EXPECT_EQ((*server)->accepted(), 1);
}

TEST(RootLoaderTest, RootWithoutIdentityIsRefused) {
  const std::string path = NewRoot("empty");
  ASSERT_TRUE(ClientRoot::Open(path, true).ok());
  absl::StatusOr<ClientSettings> settings = LoadClientSettings(path);
  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.status().message().find("tl_client_root_create_cert"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace trustlink::ntl::client
