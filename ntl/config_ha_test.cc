#include "ntl/config_ha.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

// TwoServers is a config with hsm1 and 10.0.0.2 listed.
ClientConfig TwoServers() {
  ClientConfig config = ClientConfig::Default();
  EXPECT_TRUE(config.AddServer({"HSM1", 1792, false, ""}).ok());
  EXPECT_TRUE(config.AddServer({"10.0.0.2", 1792, false, ""}).ok());
  return config;
}

HaMemberConfig Member(const ClientConfig& config, absl::string_view server,
                      absl::string_view partition, bool standby = false) {
  absl::StatusOr<HaMemberConfig> m =
      MakeHaMember(config, server, partition, "", standby);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : HaMemberConfig();
}

// ExpectInvalid parses `text` and expects TL_E_CONFIG_INVALID with the
// position and each of `words` in the message.
void ExpectInvalid(absl::string_view text, absl::string_view position,
                   std::vector<absl::string_view> words) {
  absl::StatusOr<ClientConfig> config =
      ClientConfig::Parse(text, "trustlink.conf");
  ASSERT_FALSE(config.ok()) << text;
  EXPECT_EQ(ToTlStatus(config.status()), TL_E_CONFIG_INVALID);
  const std::string message(config.status().message());
  EXPECT_TRUE(absl::StartsWith(message, position)) << message;
  for (absl::string_view w : words) {
    EXPECT_TRUE(absl::StrContains(message, w)) << message << " lacks " << w;
  }
}

constexpr absl::string_view kServers =
    "Trustlink Client = {\n"
    "   ServerName00 = hsm1;\n"
    "   ServerName01 = 10.0.0.2;\n"
    "}\n";

TEST(HaConfigTest, ParsesGroupsAndOptionsLosslessly) {
  const std::string text =
      absl::StrCat(kServers,
                   "# groups\n"
                   "VirtualToken = {\n"
                   "   VirtualToken00Label = payments;   # the shop\n"
                   "   VirtualToken00SN = 1234567890123;\n"
                   "   VirtualToken00Members = HSM1/partA, 10.0.0.2/partA;\n"
                   "   VirtualToken00Standby = 150518006;\n"
                   "   VirtualTokenActiveRecovery = activeEnhanced;\n"
                   "   VirtualToken01Label = imported;\n"
                   "   VirtualToken01Members = 154438865287,150518007;\n"
                   "}\n"
                   "HAConfiguration = {\n"
                   "   AutoReconnectInterval = 30;\n"
                   "   HAOnly = 1;\n"
                   "   reconnAtt = 5;\n"
                   "   haLogStatus = enabled;\n"
                   "}\n");
  absl::StatusOr<ClientConfig> config =
      ClientConfig::Parse(text, "trustlink.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->Serialize(), text);
  absl::StatusOr<std::vector<HaGroupConfig>> groups = HaGroups(*config);
  ASSERT_TRUE(groups.ok()) << groups.status();
  ASSERT_EQ(groups->size(), 2u);
  const HaGroupConfig& g = (*groups)[0];
  EXPECT_EQ(g.label, "payments");
  EXPECT_EQ(g.serial, "1234567890123");
  ASSERT_EQ(g.members.size(), 3u);
  EXPECT_EQ(g.members[0].server, "hsm1");
  EXPECT_EQ(g.members[0].partition, "partA");
  EXPECT_FALSE(g.members[0].standby);
  EXPECT_EQ(g.members[1].server, "10.0.0.2");
  EXPECT_EQ(g.members[2].serial, "150518006");
  EXPECT_TRUE(g.members[2].standby);
  // No SN: a serial derived from the label, the same every time.
  EXPECT_EQ((*groups)[1].serial.size(), 12u);
  EXPECT_EQ((*groups)[1].serial, (*HaGroups(*config))[1].serial);
  EXPECT_EQ((*groups)[1].members[1].serial, "150518007");
  HaOptions options = GetHaOptions(*config);
  EXPECT_TRUE(options.ha_only);
  EXPECT_EQ(options.auto_reconnect_interval_seconds, 30);
  EXPECT_EQ(options.reconnect_attempts, 5);
  HaOptions defaults = GetHaOptions(ClientConfig::Default());
  EXPECT_FALSE(defaults.ha_only);
  EXPECT_EQ(defaults.auto_reconnect_interval_seconds, 60);
  EXPECT_EQ(defaults.reconnect_attempts, -1);
}

TEST(HaConfigTest, RefusesBadGroupsWithPositionAndFix) {
  auto group = [](absl::string_view body) {
    return absl::StrCat(kServers, "VirtualToken = {\n", body, "}\n");
  };
  ExpectInvalid(group("   VirtualToken00Label = g;\n"
                      "   VirtualToken00Members = hsm9/partA;\n"),
                "trustlink.conf:7:", {"hsm9", "not configured", "addServer"});
  ExpectInvalid(
      group("   VirtualToken00Label = g;\n"
            "   VirtualToken00Members = hsm1:partA;\n"),
      "trustlink.conf:7:", {"neither <server>/<partition> nor a serial"});
  ExpectInvalid(group("   VirtualToken00Label = g;\n"
                      "   VirtualToken00Members = hsm1/.x;\n"),
                "trustlink.conf:7:", {"partition name", "not allowed"});
  ExpectInvalid(group("   VirtualToken00Label = g;\n"
                      "   VirtualToken00Members = hsm1/a;\n"
                      "   VirtualToken01Label = G;\n"
                      "   VirtualToken01Members = hsm1/b;\n"),
                "trustlink.conf:8:",
                {"already used by VirtualToken00Label", "own label"});
  ExpectInvalid(group("   VirtualToken00Label = ../g;\n"
                      "   VirtualToken00Members = hsm1/a;\n"),
                "trustlink.conf:6:", {"HA group label", "not allowed"});
  ExpectInvalid(
      group("   VirtualToken00Label = g;\n"
            "   VirtualToken00Standby = hsm1/a;\n"),
      "trustlink.conf:6:", {"no active member", "VirtualToken00Members"});
  ExpectInvalid(group("   VirtualToken00Label = g;\n"
                      "   VirtualToken00Members = ;\n"),
                "trustlink.conf:7:", {"no active member"});
  ExpectInvalid(group("   VirtualToken00Label = g;\n"
                      "   VirtualToken00Members = hsm1/a, HSM1/a;\n"),
                "trustlink.conf:7:", {"listed twice"});
  ExpectInvalid(group("   VirtualToken00Label = g;\n"
                      "   VirtualToken00Members = hsm1/a;\n"
                      "   VirtualToken00Standby = hsm1/a;\n"),
                "trustlink.conf:8:", {"listed twice"});
  ExpectInvalid(group("   VirtualToken03Members = hsm1/a;\n"),
                "trustlink.conf:6:", {"no VirtualToken03Label"});
  ExpectInvalid(group("   VirtualToken00Label = g;\n"
                      "   VirtualToken00SN = 12ab;\n"
                      "   VirtualToken00Members = hsm1/a;\n"),
                "trustlink.conf:7:", {"serial"});
  ExpectInvalid(absl::StrCat(kServers,
                             "HAConfiguration = {\n"
                             "   HAOnly = yes;\n}\n"),
                "trustlink.conf:6:", {"use 0 or 1"});
  ExpectInvalid(absl::StrCat(kServers,
                             "HAConfiguration = {\n"
                             "   reconnAtt = -2;\n}\n"),
                "trustlink.conf:6:", {"-1 (retry for ever)"});
  ExpectInvalid(absl::StrCat(kServers,
                             "HAConfiguration = {\n"
                             "   AutoReconnectInterval = 0;\n}\n"),
                "trustlink.conf:6:", {"in seconds"});
}

TEST(HaConfigTest, CreateAddRemoveKeepsTheFileValid) {
  ClientConfig config = TwoServers();
  absl::StatusOr<HaGroupConfig> created =
      CreateHaGroup(&config, "payments", "", Member(config, "hsm1", "partA"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->index, "00");
  EXPECT_EQ(
      config.document().Get(kVirtualTokenSection, "VirtualToken00Members"),
      "hsm1/partA");
  ASSERT_TRUE(
      AddHaMember(&config, "PAYMENTS", Member(config, "10.0.0.2", "partA"))
          .ok());
  ASSERT_TRUE(AddHaMember(&config, "payments",
                          *MakeHaMember(config, "", "", "150518006", true))
                  .ok());
  EXPECT_EQ(
      config.document().Get(kVirtualTokenSection, "VirtualToken00Members"),
      "hsm1/partA,10.0.0.2/partA");
  EXPECT_EQ(
      config.document().Get(kVirtualTokenSection, "VirtualToken00Standby"),
      "150518006");
  // The same member again, and a label taken in another case.
  EXPECT_EQ(ToTlStatus(AddHaMember(&config, "payments",
                                   Member(config, "HSM1", "partA"))),
            TL_E_ALREADY_EXISTS);
  EXPECT_EQ(ToTlStatus(CreateHaGroup(&config, "Payments", "",
                                     Member(config, "hsm1", "partB"))
                           .status()),
            TL_E_ALREADY_EXISTS);
  // addStandby on an active member turns it into a standby.
  ASSERT_TRUE(AddHaMember(&config, "payments",
                          Member(config, "10.0.0.2", "partA", true))
                  .ok());
  EXPECT_EQ(
      config.document().Get(kVirtualTokenSection, "VirtualToken00Standby"),
      "10.0.0.2/partA,150518006");
  // The last active member stays: the group would have none.
  absl::Status last =
      RemoveHaMember(&config, "payments", Member(config, "hsm1", "partA"));
  EXPECT_EQ(ToTlStatus(last), TL_E_FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(last.message(), "deleteGroup")) << last;
  EXPECT_EQ(ToTlStatus(AddHaMember(&config, "payments",
                                   Member(config, "hsm1", "partA", true))),
            TL_E_FAILED_PRECONDITION);
  ASSERT_TRUE(RemoveHaMember(&config, "payments",
                             *MakeHaMember(config, "", "", "150518006", false))
                  .ok());
  ASSERT_TRUE(
      RemoveHaMember(&config, "payments", Member(config, "10.0.0.2", "partA"))
          .ok());
  EXPECT_FALSE(config.document()
                   .Get(kVirtualTokenSection, "VirtualToken00Standby")
                   .has_value());
  EXPECT_EQ(ToTlStatus(RemoveHaMember(&config, "payments",
                                      Member(config, "10.0.0.2", "partA"))),
            TL_E_NOT_FOUND);
  EXPECT_EQ(ToTlStatus(AddHaMember(&config, "nosuch",
                                   Member(config, "hsm1", "partA"))),
            TL_E_NOT_FOUND);
  SetHaOnly(&config, true);
  EXPECT_TRUE(GetHaOptions(config).ha_only);
  ASSERT_TRUE(SetHaReconnectInterval(&config, 5).ok());
  ASSERT_TRUE(SetHaReconnectAttempts(&config, 0).ok());
  EXPECT_EQ(ToTlStatus(SetHaReconnectInterval(&config, 0)), TL_E_OUT_OF_RANGE);
  EXPECT_EQ(ToTlStatus(SetHaReconnectAttempts(&config, -2)), TL_E_OUT_OF_RANGE);
  EXPECT_EQ(GetHaOptions(config).auto_reconnect_interval_seconds, 5);
  EXPECT_EQ(GetHaOptions(config).reconnect_attempts, 0);
  EXPECT_TRUE(ClientConfig::Parse(config.Serialize(), "x").ok());
}

TEST(HaConfigTest, MemberArgumentsAreChecked) {
  ClientConfig config = TwoServers();
  EXPECT_EQ(ToTlStatus(MakeHaMember(config, "hsm9", "a", "", false).status()),
            TL_E_NOT_FOUND);
  EXPECT_EQ(ToTlStatus(MakeHaMember(config, "hsm1", "", "", false).status()),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToTlStatus(MakeHaMember(config, "", "", "", false).status()),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToTlStatus(MakeHaMember(config, "hsm1", "a", "1", false).status()),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToTlStatus(MakeHaMember(config, "hsm1", "a/b", "", false).status()),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToTlStatus(MakeHaMember(config, "", "", "12x", false).status()),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToTlStatus(CreateHaGroup(&config, "bad label", "",
                                     Member(config, "hsm1", "a"))
                           .status()),
            TL_E_NAME_INVALID);
}

TEST(HaConfigTest, DeleteGroupRenumbersAndServerRemovalIsRefused) {
  ClientConfig config = TwoServers();
  for (absl::string_view label : {"a", "b", "c"}) {
    ASSERT_TRUE(
        CreateHaGroup(&config, label, "", Member(config, "10.0.0.2", "p"))
            .ok());
  }
  ASSERT_TRUE(
      AddHaMember(&config, "c", Member(config, "hsm1", "p", true)).ok());
  ASSERT_TRUE(DeleteHaGroup(&config, "a").ok());
  std::vector<HaGroupConfig> groups = *HaGroups(config);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].index, "00");
  EXPECT_EQ(groups[0].label, "b");
  EXPECT_EQ(groups[1].index, "01");
  EXPECT_EQ(groups[1].label, "c");
  EXPECT_EQ(groups[1].members.size(), 2u);
  EXPECT_FALSE(config.document()
                   .Get(kVirtualTokenSection, "VirtualToken02Label")
                   .has_value());
  // The serials moved with their groups.
  EXPECT_EQ(config.document().Get(kVirtualTokenSection, "VirtualToken01SN"),
            groups[1].serial);

  absl::Status refused = config.RemoveServer("10.0.0.2");
  EXPECT_EQ(ToTlStatus(refused), TL_E_FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(refused.message(), "'b', 'c'")) << refused;
  EXPECT_TRUE(config.FindServer("10.0.0.2").ok());
  ASSERT_TRUE(RemoveHaMember(&config, "c", Member(config, "hsm1", "p")).ok());
  EXPECT_TRUE(config.RemoveServer("hsm1").ok());
  EXPECT_EQ(ToTlStatus(DeleteHaGroup(&config, "a")), TL_E_NOT_FOUND);
}

constexpr absl::string_view kChrystoki =
    "LunaSA Client = {\n"
    "   ServerName00 = hsm1.example.com;\n"
    "}\n"
    "VirtualToken = {\n"
    "   VirtualToken00Label = myHAgroup;\n"
    "   VirtualToken00SN = 1154438865287;\n"
    "   VirtualToken00Members = 154438865287,150518006;\n"
    "   VirtualToken00Standby = 150518006;\n"
    "   VirtualTokenActiveRecovery = activeEnhanced;\n"
    "}\n"
    "HASynchronize = {\n"
    "   myHAgroup = 1;\n"
    "}\n"
    "HAConfiguration = {\n"
    "   reconnAtt = -1;\n"
    "   AutoReconnectInterval = 90;\n"
    "   HAOnly = 1;\n"
    "   haLogStatus = enabled;\n"
    "}\n";

TEST(HaConfigTest, ImportsChrystokiGroupsAsSerials) {
  ClientConfig config = ClientConfig::Default();
  absl::StatusOr<std::vector<std::string>> report =
      config.ImportChrystoki(kChrystoki, "Chrystoki.conf");
  ASSERT_TRUE(report.ok()) << report.status();
  std::vector<HaGroupConfig> groups = *HaGroups(config);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].label, "myHAgroup");
  EXPECT_EQ(groups[0].serial, "1154438865287");
  ASSERT_EQ(groups[0].members.size(), 2u);
  EXPECT_EQ(groups[0].members[0].serial, "154438865287");
  EXPECT_FALSE(groups[0].members[0].standby);
  EXPECT_EQ(groups[0].members[1].serial, "150518006");
  EXPECT_TRUE(groups[0].members[1].standby);
  HaOptions options = GetHaOptions(config);
  EXPECT_TRUE(options.ha_only);
  EXPECT_EQ(options.auto_reconnect_interval_seconds, 90);
  bool reported = false;
  for (const std::string& line : *report) {
    reported |= absl::StrContains(line, "imported HA group myHAgroup");
  }
  EXPECT_TRUE(reported);
  // Again: the group is kept, not doubled.
  report = config.ImportChrystoki(kChrystoki, "Chrystoki.conf");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(HaGroups(config)->size(), 1u);

  // A bad member in the source is reported at its line there, and nothing
  // changes.
  ClientConfig fresh = ClientConfig::Default();
  std::string bad(kChrystoki);
  bad.replace(bad.find("154438865287,"), 13, "oops,");
  absl::StatusOr<std::vector<std::string>> failed =
      fresh.ImportChrystoki(bad, "Chrystoki.conf");
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(absl::StartsWith(failed.status().message(), "Chrystoki.conf:7:"))
      << failed.status();
  EXPECT_TRUE(fresh.Servers()->empty());
}

}  // namespace
}  // namespace trustlink::ntl
