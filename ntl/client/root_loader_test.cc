#include "ntl/client/root_loader.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/config_ha.h"
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

TEST(RootLoaderTest, FillsHaGroupsAndOptions) {
  testing::FakeServerOptions o = testing::ServerOptions();
  const std::string path = NewRoot("ha");
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, true);
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(root->CreateCert("client.test", IdentityOptions(), false).ok());
  ASSERT_TRUE(root->AddServer("127.0.0.1", o.cert_pem, 1792, 0, false).ok());
  ASSERT_TRUE(root->UpdateConfig([](ClientConfig* config) {
                    absl::StatusOr<ServerConfig> added =
                        config->AddServer({"Hsm2.Test", 1792, false, ""});
                    if (!added.ok()) return added.status();
                    absl::StatusOr<HaMemberConfig> first =
                        MakeHaMember(*config, "127.0.0.1", "partA", "", false);
                    if (!first.ok()) return first.status();
                    absl::StatusOr<HaGroupConfig> group =
                        CreateHaGroup(config, "payments", "", *first);
                    if (!group.ok()) return group.status();
                    absl::StatusOr<HaMemberConfig> second =
                        MakeHaMember(*config, "HSM2.test", "partA", "", true);
                    if (!second.ok()) return second.status();
                    absl::Status added_member =
                        AddHaMember(config, "payments", *second);
                    if (!added_member.ok()) return added_member;
                    config->mutable_document()->Set(
                        kHaConfigurationSection, "AutoReconnectInterval", "7");
                    SetHaOnly(config, true);
                    return absl::OkStatus();
                  })
                  .ok());
  absl::StatusOr<ClientSettings> settings = LoadClientSettings(path);
  ASSERT_TRUE(settings.ok()) << settings.status();
  ASSERT_EQ(settings->ha_groups.size(), 1u);
  const HaGroupSettings& g = settings->ha_groups[0];
  EXPECT_EQ(g.label, "payments");
  EXPECT_FALSE(g.serial.empty());
  ASSERT_EQ(g.members.size(), 2u);
  // Member servers are spelt as the servers are, so they compare plainly.
  EXPECT_EQ(g.members[0].server, settings->servers[0].name);
  EXPECT_EQ(g.members[0].partition, "partA");
  EXPECT_FALSE(g.members[0].standby);
  EXPECT_EQ(g.members[1].server, settings->servers[1].name);
  EXPECT_EQ(g.members[1].server, "hsm2.test");
  EXPECT_TRUE(g.members[1].standby);
  EXPECT_TRUE(settings->ha.ha_only);
  EXPECT_EQ(settings->ha.auto_reconnect_interval, absl::Seconds(7));
  EXPECT_EQ(settings->ha.reconnect_attempts, -1);

  // An invalid edit is refused and leaves the file as it was.
  const std::string before = root->LoadConfig()->Serialize();
  absl::Status refused = root->UpdateConfig([](ClientConfig* config) {
    config->mutable_document()->Set(kVirtualTokenSection,
                                    "VirtualToken00Members", "nosuch/partA");
    return absl::OkStatus();
  });
  EXPECT_EQ(ToTlStatus(refused), TL_E_CONFIG_INVALID);
  EXPECT_EQ(root->LoadConfig()->Serialize(), before);
  // So is removing a server a group uses.
  absl::Status in_use = root->DeleteServer("127.0.0.1");
  EXPECT_EQ(ToTlStatus(in_use), TL_E_FAILED_PRECONDITION) << in_use;
  EXPECT_EQ(root->LoadConfig()->Serialize(), before);
  EXPECT_TRUE(root->OpenTrustStore(false)->LoadPinned()->size() == 1u);
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
