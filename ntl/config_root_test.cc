#include "ntl/config_root.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

std::string NewRoot(const std::string& leaf) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp ? tmp : "/tmp", "/config_root_test_", leaf, "_",
                      getpid());
}

std::string ServerPem(absl::string_view name) {
  IdentityOptions options;
  options.for_server = true;
  return CreateIdentity(*CanonicalizeNameWithHost(name, ""), options)
      ->cert.Pem();
}

TEST(DefaultClientRootTest, EnvironmentOverrides) {
  unsetenv("TRUSTLINK_CLIENT_ROOT");
  EXPECT_EQ(DefaultClientRoot(), "/etc/trustlink/client");
  setenv("TRUSTLINK_CLIENT_ROOT", "/x/y", 1);
  EXPECT_EQ(DefaultClientRoot(), "/x/y");
  unsetenv("TRUSTLINK_CLIENT_ROOT");
}

TEST(ClientRootTest, EnrolmentSteps) {
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(NewRoot("steps"), true);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<VerifyResult> before = root->Verify(VerifyOptions());
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->ok());  // No identity yet.

  absl::StatusOr<CreateCertResult> made =
      root->CreateCert("web1", IdentityOptions(), false);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(absl::EndsWith(made->cert_path, "/cert/client/web1.pem"));
  EXPECT_TRUE(absl::EndsWith(made->key_path, "/cert/client/web1Key.pem"));
  EXPECT_EQ(
      ToTlStatus(root->CreateCert("web1", IdentityOptions(), false).status()),
      TL_E_ALREADY_EXISTS);

  absl::StatusOr<AddResult> added =
      root->AddServer("hsm1", ServerPem("hsm1"), 1792, true, false);
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_TRUE(
      root->AddServer("10.0.0.7", ServerPem("10.0.0.7"), 1800, false, false)
          .ok());
  absl::StatusOr<std::vector<ServerStatus>> list = root->ListServers();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "hsm1");
  EXPECT_TRUE((*list)[0].htl);
  EXPECT_TRUE((*list)[0].trusted);
  EXPECT_EQ((*list)[0].fingerprint, added->server.fingerprint);
  EXPECT_EQ((*list)[1].port, 1800);

  absl::StatusOr<IdentityInfo> info = root->Identity();
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->configured);
  EXPECT_EQ(info->name, "web1");
  EXPECT_EQ(info->fingerprint, made->fingerprint);

  VerifyOptions probe_all;
  int probes = 0;
  probe_all.probe = [&](const ServerStatus&, const ServerCert&) {
    ++probes;
    return absl::OkStatus();
  };
  absl::StatusOr<VerifyResult> verified = root->Verify(probe_all);
  ASSERT_TRUE(verified.ok());
  for (const Check& c : verified->checks)
    EXPECT_NE(c.level, Check::kError) << c.message;
  EXPECT_TRUE(verified->ok());
  EXPECT_EQ(probes, 2);

  ASSERT_TRUE(root->DeleteServer("HSM1").ok());
  EXPECT_EQ(root->ListServers()->size(), 1u);
  EXPECT_EQ(ToTlStatus(root->DeleteServer("hsm1")), TL_E_NOT_FOUND);
}

TEST(ClientRootTest, VerifyReportsOpenKeyAndConfigOnlyServer) {
  std::string path = NewRoot("verify");
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, true);
  ASSERT_TRUE(root->CreateCert("web1", IdentityOptions(), false).ok());
  ASSERT_TRUE(
      root->AddServer("hsm1", ServerPem("hsm1"), 1792, false, false).ok());
  ASSERT_EQ(chmod((path + "/cert/client/web1Key.pem").c_str(), 0644), 0);
  // A server listed in the config by hand, without a certificate.
  ClientConfig config = *root->LoadConfig();
  ASSERT_TRUE(config.AddServer(ServerConfig{"hsm2", 1792, false, ""}).ok());
  ASSERT_TRUE(internal::SafeDir::Open(path, false)
                  ->WriteFileAtomic("trustlink.conf", config.Serialize(), 0644)
                  .ok());
  absl::StatusOr<VerifyResult> result = root->Verify(VerifyOptions());
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->ok());
  bool key_reported = false;
  for (const Check& c : result->checks) {
    key_reported |=
        c.level == Check::kError && absl::StrContains(c.message, "chmod 600");
  }
  EXPECT_TRUE(key_reported);
  bool hsm2_reported = false;
  for (const ServerStatus& s : result->servers) {
    if (s.name == "hsm2") {
      hsm2_reported =
          ToTlStatus(s.local) == TL_E_TRUST_STORE_INCONSISTENT &&
          absl::StrContains(s.local.message(), "vtl addServer -n hsm2");
    }
  }
  EXPECT_TRUE(hsm2_reported);
}

// The guide's names keep their case in the files; the same name in another
// case renews the identity in place; another name needs force and names the
// appliances that know this client.
TEST(ClientRootTest, IdentityNamesKeepTheirCaseAndAnotherNameNeedsForce) {
  const std::string path = NewRoot("identity_case");
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, true);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<CreateCertResult> made =
      root->CreateCert("myClient1", IdentityOptions(), false);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(absl::EndsWith(made->cert_path, "/cert/client/myClient1.pem"));
  ASSERT_TRUE(
      root->AddServer("myLunaSA", ServerPem("mylunasa"), 1792, true, false)
          .ok());
  EXPECT_EQ(access((path + "/cert/server/myLunaSACert.pem").c_str(), F_OK), 0);

  absl::StatusOr<CreateCertResult> renewed =
      root->CreateCert("MYCLIENT1", IdentityOptions(), true);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(renewed->cert_path, made->cert_path);
  EXPECT_NE(access((path + "/cert/client/MYCLIENT1.pem").c_str(), F_OK), 0);

  absl::Status other =
      root->CreateCert("hostb", IdentityOptions(), false).status();
  EXPECT_EQ(ToTlStatus(other), TL_E_ALREADY_EXISTS);
  EXPECT_TRUE(absl::StrContains(other.message(), "-force")) << other;
  EXPECT_TRUE(absl::StrContains(other.message(), "mylunasa")) << other;
  EXPECT_NE(access((path + "/cert/client/hostb.pem").c_str(), F_OK), 0);

  absl::StatusOr<CreateCertResult> forced =
      root->CreateCert("hostb", IdentityOptions(), true);
  ASSERT_TRUE(forced.ok()) << forced.status();
  bool named = false;
  for (const std::string& w : forced->warnings) {
    named = named || (absl::StrContains(w, "mylunasa") &&
                      absl::StrContains(w, "replaceCertificate"));
  }
  EXPECT_TRUE(named) << "no warning names the appliances";
}

// Re-running addServer keeps the port and HTL unless they are given.
TEST(ClientRootTest, AddServerAgainKeepsPortAndHtl) {
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(NewRoot("keep"), true);
  ASSERT_TRUE(root.ok());
  const std::string pem = ServerPem("hsm1");
  ASSERT_TRUE(root->AddServer("hsm1", pem, 1793, 1, false).ok());
  ASSERT_TRUE(root->AddServer("HSM1", pem, kKeepServerPort, kKeepServerHtl,
                              false)
                  .ok());
  absl::StatusOr<std::vector<ServerStatus>> list = root->ListServers();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].port, 1793);
  EXPECT_TRUE((*list)[0].htl);
  ASSERT_TRUE(root->AddServer("hsm1", pem, kKeepServerPort, 0, false).ok());
  EXPECT_FALSE((*root->ListServers())[0].htl);
  EXPECT_EQ((*root->ListServers())[0].port, 1793);
}

TEST(ClientRootTest, BadPortLeavesTrustStoreUnchanged) {
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(NewRoot("port"), true);
  absl::Status s =
      root->AddServer("hsm1", ServerPem("hsm1"), 70000, false, false).status();
  EXPECT_EQ(ToTlStatus(s), TL_E_INVALID_ARGUMENT);
  EXPECT_TRUE(root->ListServers()->empty());
}

}  // namespace
}  // namespace trustlink::ntl
