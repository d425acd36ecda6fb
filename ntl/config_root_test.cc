#include "ntl/config_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/config_ha.h"
#include "ntl/identity.h"
#include "ntl/internal/dir_swap.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/status.h"
#include "ntl/trust_store.h"

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
  const absl::Status gone = root->DeleteServer("hsm1");
  EXPECT_EQ(ToTlStatus(gone), TL_E_NOT_FOUND) << gone;
  EXPECT_NE(gone.message().find("server 'hsm1' is not registered"),
            absl::string_view::npos)
      << gone;
  EXPECT_NE(gone.message().find("tl_client_root_list_servers"),
            absl::string_view::npos)
      << gone;
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
          absl::StrContains(s.local.message(), "tl_client_root_add_server");
    }
  }
  EXPECT_TRUE(hsm2_reported);
}

// The guide's names keep their case in the files; the same name in another
// case renews the identity in place; another name needs force and names the
// appliances that know this client.
TEST(ClientRootTest, VerifyChecksEachHaMemberServer) {
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(NewRoot("ha"), true);
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(root->CreateCert("web1", IdentityOptions(), false).ok());
  ASSERT_TRUE(root->AddServer("hsm1", ServerPem("hsm1"), 1792, 0, false).ok());
  ASSERT_TRUE(
      root->UpdateConfig([](ClientConfig* config) {
            // hsm2 is listed but its certificate was never
            // registered.
            if (!config->AddServer({"hsm2", 1792, false, ""}).ok()) {
              return absl::InternalError("AddServer");
            }
            absl::StatusOr<HaGroupConfig> g =
                CreateHaGroup(config, "g", "",
                              *MakeHaMember(*config, "hsm1", "pA", "", false));
            if (!g.ok()) return g.status();
            absl::Status s = AddHaMember(
                config, "g", *MakeHaMember(*config, "hsm2", "pA", "", true));
            if (!s.ok()) return s;
            return AddHaMember(config, "g",
                               *MakeHaMember(*config, "", "", "77", true));
          })
          .ok());
  absl::StatusOr<VerifyResult> result = root->Verify(VerifyOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->ok());
  std::vector<const Check*> members;
  for (const Check& c : result->checks) {
    if (c.object == "HA group g") members.push_back(&c);
  }
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0]->level, Check::kOk);
  EXPECT_TRUE(absl::StrContains(members[0]->message,
                                "member hsm1/pA: server "
                                "hsm1 is configured"))
      << members[0]->message;
  EXPECT_EQ(members[1]->level, Check::kError);
  EXPECT_TRUE(
      absl::StrContains(members[1]->message, "standby member hsm2/pA: "))
      << members[1]->message;
  EXPECT_TRUE(absl::StrContains(members[1]->message, "no trusted certificate"))
      << members[1]->message;
  EXPECT_EQ(members[2]->level, Check::kOk);
  EXPECT_TRUE(absl::StrContains(members[2]->message, "serial"));
}

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
  EXPECT_TRUE(absl::StrContains(other.message(), "only with force")) << other;
  EXPECT_TRUE(absl::StrContains(other.message(), "mylunasa")) << other;
  EXPECT_NE(access((path + "/cert/client/hostb.pem").c_str(), F_OK), 0);

  absl::StatusOr<CreateCertResult> forced =
      root->CreateCert("hostb", IdentityOptions(), true);
  ASSERT_TRUE(forced.ok()) << forced.status();
  bool named = false;
  for (const std::string& w : forced->warnings) {
    named = named || (absl::StrContains(w, "mylunasa") &&
                      absl::StrContains(w, "tl_registry_replace_certificate"));
  }
  EXPECT_TRUE(named) << "no warning names the appliances";
}

// Re-running addServer keeps the port and HTL unless they are given.
TEST(ClientRootTest, AddServerAgainKeepsPortAndHtl) {
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(NewRoot("keep"), true);
  ASSERT_TRUE(root.ok());
  const std::string pem = ServerPem("hsm1");
  ASSERT_TRUE(root->AddServer("hsm1", pem, 1793, 1, false).ok());
  ASSERT_TRUE(
      root->AddServer("HSM1", pem, kKeepServerPort, kKeepServerHtl, false)
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

// After a kill: what a killed vtl leaves is finished (or undone) the next time
// the root is opened, and vtl verify -repair fixes the disagreements older
// versions could leave. The kill -9 loops themselves are in tests/chaos.

pid_t DeadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

void Touch(const std::string& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, "partial", 7), 7);
  ::close(fd);
}

const ServerStatus* Find(const std::vector<ServerStatus>& list,
                         absl::string_view name) {
  for (const ServerStatus& s : list) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

TEST(ClientRootCrashTest, RepairListsATrustedServerMissingFromTheConfig) {
  // What a kill between the trust store and trustlink.conf left in older
  // versions: the certificate in cert/server and CAFile.pem, not in the config.
  std::string path = NewRoot("missing");
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, true);
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(root->CreateCert("web1", IdentityOptions(), false).ok());
  absl::StatusOr<TrustStore> store = root->OpenTrustStore(true);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(store->Add("hsm1", ServerPem("hsm1"), false).ok());

  absl::StatusOr<VerifyResult> before = root->Verify(VerifyOptions());
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->ok());

  VerifyOptions repair;
  repair.repair = true;
  absl::StatusOr<VerifyResult> repaired = root->Verify(repair);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  ASSERT_EQ(repaired->repairs.size(), 1u);
  EXPECT_TRUE(absl::StrContains(repaired->repairs[0], "added server 'hsm1'"))
      << repaired->repairs[0];
  EXPECT_TRUE(repaired->ok());
  const ServerStatus* hsm1 = Find(repaired->servers, "hsm1");
  ASSERT_NE(hsm1, nullptr);
  EXPECT_TRUE(hsm1->in_config);
  EXPECT_TRUE(hsm1->trusted);
  EXPECT_EQ(hsm1->port, kDefaultServerPort);
}

TEST(ClientRootCrashTest, CommittedConfigJournalIsRolledForwardAtOpen) {
  // A kill after the store's swap and before trustlink.conf was written: the
  // new config is committed inside cert/server as a journal.
  std::string path = NewRoot("journal");
  std::string journal_config;
  {
    absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, true);
    ASSERT_TRUE(root.ok());
    absl::StatusOr<ClientConfig> config = root->LoadConfig();
    ASSERT_TRUE(config.ok());
    ASSERT_TRUE(config->AddServer(ServerConfig{"hsm2", 1800, true, ""}).ok());
    absl::StatusOr<TrustStore> store = root->OpenTrustStore(true);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store
                    ->Add("hsm2", ServerPem("hsm2"), false, absl::Now(),
                          {internal::DirFile{".journal.trustlink.conf",
                                             config->Serialize(), 0644}})
                    .ok());
  }
  ASSERT_TRUE(Exists(path + "/cert/server/.journal.trustlink.conf"));
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, false);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_FALSE(Exists(path + "/cert/server/.journal.trustlink.conf"));
  absl::StatusOr<std::vector<ServerStatus>> list = root->ListServers();
  ASSERT_TRUE(list.ok());
  const ServerStatus* hsm2 = Find(*list, "hsm2");
  ASSERT_NE(hsm2, nullptr);
  EXPECT_TRUE(hsm2->in_config);
  EXPECT_TRUE(hsm2->trusted);
  EXPECT_EQ(hsm2->port, 1800);
  EXPECT_TRUE(hsm2->htl);
  EXPECT_TRUE(hsm2->local.ok()) << hsm2->local;
}

TEST(ClientRootCrashTest, UncommittedGenerationIsDroppedAtOpen) {
  std::string path = NewRoot("uncommitted");
  std::string fingerprint;
  {
    absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, true);
    ASSERT_TRUE(root.ok());
    absl::StatusOr<CreateCertResult> made =
        root->CreateCert("web1", IdentityOptions(), false);
    ASSERT_TRUE(made.ok());
    fingerprint = made->fingerprint;
  }
  // A kill before the swap: a half-written new generation beside the old.
  ASSERT_EQ(::mkdir((path + "/cert/.client.next").c_str(), 0755), 0);
  Touch(path + "/cert/.client.next/web1Key.pem", 0600);
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, false);
  ASSERT_TRUE(root.ok());
  EXPECT_FALSE(Exists(path + "/cert/.client.next"));
  absl::StatusOr<IdentityInfo> info = root->Identity();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->fingerprint, fingerprint);
}

TEST(ClientRootCrashTest, OrphanTempFilesOfDeadWritersGoAtOpen) {
  std::string path = NewRoot("orphans");
  {
    absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, true);
    ASSERT_TRUE(root.ok());
    ASSERT_TRUE(root->CreateCert("web1", IdentityOptions(), false).ok());
  }
  pid_t dead = DeadPid();
  std::string conf_tmp =
      absl::StrCat(path, "/.trustlink.conf.tmp.", dead, ".00112233aabbccdd");
  std::string key_tmp = absl::StrCat(path, "/cert/client/.web1Key.pem.tmp.",
                                     dead, ".00112233aabbccdd");
  // A live writer's temp file (this process's pid) must survive.
  std::string live_tmp = absl::StrCat(path, "/.trustlink.conf.tmp.", getpid(),
                                      ".00112233aabbccdd");
  Touch(conf_tmp, 0644);
  Touch(key_tmp, 0600);
  Touch(live_tmp, 0644);
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, false);
  ASSERT_TRUE(root.ok());
  EXPECT_FALSE(Exists(conf_tmp));
  EXPECT_FALSE(Exists(key_tmp));
  EXPECT_TRUE(Exists(live_tmp));
}

TEST(ClientRootCrashTest, ARootMadeByTheOldLayoutKeepsWorking) {
  // Before generations, createCert wrote the two files in place; such a root
  // must load, and -force must replace its identity without re-enrolment.
  std::string path = NewRoot("old_layout");
  absl::StatusOr<internal::SafeDir> dir =
      internal::SafeDir::Open(path + "/cert/client", true, 0755);
  ASSERT_TRUE(dir.ok());
  absl::StatusOr<Identity> id =
      CreateIdentity(*CanonicalizeName("web1"), IdentityOptions());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(WriteIdentity(*dir, "web1.pem", "web1Key.pem", *id, false).ok());
  absl::StatusOr<internal::SafeDir> top = internal::SafeDir::Open(path, false);
  ASSERT_TRUE(
      top->WriteFileAtomic(
             "trustlink.conf",
             "Trustlink Client = {\n  ClientCertFile = cert/client/web1.pem;\n"
             "  ClientPrivKeyFile = cert/client/web1Key.pem;\n}\n",
             0644)
          .ok());
  absl::StatusOr<ClientRoot> root = ClientRoot::Open(path, false);
  ASSERT_TRUE(root.ok());
  absl::StatusOr<IdentityInfo> info = root->Identity();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->fingerprint, id->cert.Sha256Fingerprint());
  absl::StatusOr<CreateCertResult> again =
      root->CreateCert("web1", IdentityOptions(), true);
  ASSERT_TRUE(again.ok()) << again.status();
  info = root->Identity();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->fingerprint, again->fingerprint);
  EXPECT_TRUE(absl::EndsWith(again->key_path, "/cert/client/web1Key.pem"));
  struct stat st;
  ASSERT_EQ(::stat(again->key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace trustlink::ntl
