#include "ntl/config_client.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

std::string ReadTestdata(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ClientConfigTest, DefaultsAndRoundTrip) {
  ClientConfig config = ClientConfig::Default();
  EXPECT_TRUE(config.TcpKeepAlive());
  EXPECT_EQ(config.ReceiveTimeoutMs(), 20000);
  EXPECT_EQ(config.ConnectTimeoutMs(), 10000);
  EXPECT_TRUE(config.Servers()->empty());
  absl::StatusOr<ClientConfig> again =
      ClientConfig::Parse(config.Serialize(), "trustlink.conf");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->Serialize(), config.Serialize());
}

TEST(ClientConfigTest, AddListRemoveRenumbers) {
  ClientConfig config = ClientConfig::Default();
  ServerConfig a{"HSM1", 1792, false, ""};
  ServerConfig b{"10.0.0.2", 1793, true, ""};
  ServerConfig c{"2018:1:0:0:0:29ff:fe2e:b07f", 1792, false, ""};
  EXPECT_EQ(config.AddServer(a)->index, "00");
  EXPECT_EQ(config.AddServer(b)->index, "01");
  EXPECT_EQ(config.AddServer(c)->index, "02");
  std::vector<ServerConfig> servers = *config.Servers();
  ASSERT_EQ(servers.size(), 3u);
  EXPECT_EQ(servers[0].name, "hsm1");
  EXPECT_EQ(servers[1].port, 1793);
  EXPECT_TRUE(servers[1].htl);
  EXPECT_EQ(servers[2].name, "2018:1::29ff:fe2e:b07f");
  // Adding a listed name again updates it in place.
  ServerConfig a2{"hsm1", 2000, true, ""};
  EXPECT_EQ(config.AddServer(a2)->index, "00");
  EXPECT_EQ(config.FindServer("HSM1")->port, 2000);

  ASSERT_TRUE(config.RemoveServer("hsm1").ok());
  servers = *config.Servers();
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_EQ(servers[0].index, "00");
  EXPECT_EQ(servers[0].name, "10.0.0.2");
  EXPECT_EQ(servers[1].index, "01");
  EXPECT_EQ(config.Get("ServerPort00"), "1793");
  EXPECT_EQ(config.Get("ServerName02"), "");
  EXPECT_EQ(ToTlStatus(config.RemoveServer("hsm1")), TL_E_NOT_FOUND);
  EXPECT_TRUE(ClientConfig::Parse(config.Serialize(), "x").ok());
  EXPECT_EQ(
      ToTlStatus(config.AddServer(ServerConfig{"../x", 1, false, ""}).status()),
      TL_E_NAME_INVALID);
  EXPECT_EQ(ToTlStatus(
                config.AddServer(ServerConfig{"h", 70000, false, ""}).status()),
            TL_E_INVALID_ARGUMENT);
}

TEST(ClientConfigTest, ValidationErrorsNameLineAndFix) {
  struct Case {
    const char* text;
    const char* where;
    const char* word;
  } cases[] = {
      {"Trustlink Client = {\n   ServerName00 = h;\n   ServerPort00 = "
       "99999;\n}\n",
       "t.conf:3:4:", "1 to 65535"},
      {"Trustlink Client = {\n   ServerPort03 = 1792;\n}\n",
       "t.conf:2:4:", "no ServerName03"},
      {"Trustlink Client = {\n   TCPKeepAlive = yes;\n}\n",
       "t.conf:2:4:", "0 or 1"},
      {"Trustlink Client = {\n   ServerName00 = ../etc;\n}\n",
       "t.conf:2:4:", "'../etc'"},
      {"Trustlink Client = {\n ServerName00 = h;\n ServerName01 = H;\n}\n",
       "t.conf:3:2:", "twice"},
      {"Trustlink Client = {\n ReceiveTimeout = -5;\n}\n",
       "t.conf:2:2:", "milliseconds"},
  };
  for (const Case& c : cases) {
    absl::Status s = ClientConfig::Parse(c.text, "t.conf").status();
    EXPECT_EQ(ToTlStatus(s), TL_E_CONFIG_INVALID) << c.text;
    EXPECT_TRUE(absl::StartsWith(s.message(), c.where)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), c.word)) << s;
  }
}

TEST(ClientConfigTest, UnknownKeysAndCommentsSurviveEdits) {
  std::string text =
      "# mine\nTrustlink Client = {\n  Custom = 7;  # keep\n  ServerName00 = "
      "h1;\n}\n"
      "Other = {\n  X = y;\n}\n";
  ClientConfig config = *ClientConfig::Parse(text, "t.conf");
  ASSERT_TRUE(config.AddServer(ServerConfig{"h2", 1792, false, ""}).ok());
  ASSERT_TRUE(config.RemoveServer("h2").ok());
  // Removing what was added restores the text except for h1's defaults made
  // explicit.
  std::string out = config.Serialize();
  EXPECT_TRUE(absl::StrContains(out, "# mine\n")) << out;
  EXPECT_TRUE(absl::StrContains(out, "Custom = 7;  # keep")) << out;
  EXPECT_TRUE(absl::StrContains(out, "Other = {\n  X = y;\n}\n")) << out;
}

// The Windows client keeps the same settings in crystoki.ini.
TEST(ClientConfigTest, ImportsWindowsCrystokiIni) {
  const std::string ini =
      "; Luna client configuration\r\n"
      "[Chrystoki2]\r\nLibNT=C:\\Program Files\\SafeNet\\cryptoki.dll\r\n"
      "[LunaSA Client]\r\n"
      "ServerCAFile=C:\\Program Files\\SafeNet\\cert\\server\\CAFile.pem\r\n"
      "TCPKeepAlive=1\r\nReceiveTimeout=20000\r\n"
      "ServerName00=myLunaSA\r\nServerPort00=1792\r\nServerHtl00=1\r\n";
  ClientConfig config = ClientConfig::Default();
  absl::StatusOr<std::vector<std::string>> report =
      config.ImportChrystoki(ini, "crystoki.ini");
  ASSERT_TRUE(report.ok()) << report.status();
  absl::StatusOr<ServerConfig> server = config.FindServer("mylunasa");
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(server->port, 1792);
  EXPECT_TRUE(server->htl);
  EXPECT_EQ(config.ReceiveTimeoutMs(), 20000);
  // A line that is neither names its place.
  absl::Status bad =
      config.ImportChrystoki("[LunaSA Client]\nServerName00\n", "c.ini")
          .status();
  EXPECT_EQ(ToTlStatus(bad), TL_E_PARSE);
  EXPECT_TRUE(absl::StrContains(bad.message(), "c.ini:2")) << bad;
}

// Found by //ntl:chrystoki_import_fuzz: an INI key the block syntax cannot hold
// (a byte outside letters, digits, '_', '.', '-') was copied into
// trustlink.conf, which vtl then could not read back. It is refused instead,
// naming the line.
TEST(ClientConfigTest, ImportRefusesIniKeyTheConfigCannotHold) {
  ClientConfig config = ClientConfig::Default();
  const std::string before = config.Serialize();
  absl::Status bad = config
                         .ImportChrystoki(
                             "[LunaSA Client]\nServerName00=hsm1\n"
                             "Receive\xffTimeout=20000\n",
                             "c.ini")
                         .status();
  EXPECT_EQ(ToTlStatus(bad), TL_E_PARSE) << bad;
  EXPECT_TRUE(absl::StrContains(bad.message(), "c.ini:3")) << bad;
  EXPECT_TRUE(absl::StrContains(bad.message(), "letters, digits")) << bad;
  EXPECT_EQ(config.Serialize(), before);  // nothing imported
  // Whatever an import accepts, the next vtl reads back.
  ASSERT_TRUE(
      config.ImportChrystoki("[LunaSA Client]\nConnect.Timeout-2=5\n", "ok.ini")
          .ok());
  EXPECT_TRUE(ClientConfig::Parse(config.Serialize(), "trustlink.conf").ok());
}

TEST(ClientConfigTest, ImportsChrystokiClientSection) {
  std::string text = ReadTestdata("testdata/client/Chrystoki.conf");
  ClientConfig config = ClientConfig::Default();
  ASSERT_TRUE(
      config.AddServer(ServerConfig{"hsm1.example.com", 1792, false, ""}).ok());
  absl::StatusOr<std::vector<std::string>> report =
      config.ImportChrystoki(text, "Chrystoki.conf");
  ASSERT_TRUE(report.ok()) << report.status();
  std::vector<ServerConfig> servers = *config.Servers();
  ASSERT_EQ(servers.size(), 3u);
  EXPECT_EQ(servers[0].name, "hsm1.example.com");
  EXPECT_EQ(servers[1].name, "192.168.10.21");
  EXPECT_TRUE(servers[1].htl);
  EXPECT_EQ(servers[2].name, "2018:1::29ff:fe2e:b07f");
  EXPECT_EQ(servers[2].port, 1793);
  EXPECT_TRUE(config.TcpKeepAlive());
  EXPECT_EQ(config.ReceiveTimeoutMs(), 20000);
  std::string joined;
  for (const std::string& line : *report) joined += line + "\n";
  EXPECT_TRUE(absl::StrContains(joined, "kept server hsm1.example.com"))
      << joined;
  EXPECT_TRUE(absl::StrContains(joined, "not in canonical form")) << joined;
  // Certificate paths of the old install are not carried over.
  EXPECT_EQ(config.Get("ClientCertFile"), "");
  EXPECT_TRUE(ClientConfig::Parse(config.Serialize(), "trustlink.conf").ok());

  absl::Status none =
      config.ImportChrystoki("Luna = {\n}\n", "c.conf").status();
  EXPECT_EQ(ToTlStatus(none), TL_E_CONFIG_INVALID);
  EXPECT_TRUE(absl::StrContains(none.message(), "LunaSA Client")) << none;
  absl::Status bad =
      config.ImportChrystoki("LunaSA Client = {\n  X = 1\n}\n", "c.conf")
          .status();
  EXPECT_TRUE(absl::StartsWith(bad.message(), "c.conf:2:8:")) << bad;
}

}  // namespace
}  // namespace trustlink::ntl
