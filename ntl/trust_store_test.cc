#include "ntl/trust_store.h"

#include <unistd.h>

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/status.h"
#include "ntl/trust_store_testing.h"

namespace trustlink::ntl {
namespace {

using internal::SafeDir;

TEST_F(TrustStoreTest, AddListShowRemove) {
  std::string pem = ServerPem("hsm1.example.com");
  absl::StatusOr<AddResult> added = store_->Add("HSM1.example.com", pem, false);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->server.name, "hsm1.example.com");
  // The file keeps the name as typed; lookups ignore case.
  EXPECT_EQ(added->server.file_name, "HSM1.example.comCert.pem");
  EXPECT_TRUE(
      absl::EndsWith(added->path, "/cert/server/HSM1.example.comCert.pem"));
  EXPECT_EQ(added->server.fingerprint,
            Certificate::ParsePem(pem, "x")->Sha256Fingerprint());
  EXPECT_FALSE(added->unchanged);
  EXPECT_TRUE(added->warnings.empty()) << added->warnings[0];

  // The identical certificate again is fine and changes nothing.
  auto before = Tree(root_path_);
  absl::StatusOr<AddResult> again = store_->Add("hsm1.example.com", pem, false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->unchanged);
  EXPECT_EQ(again->server.file_name, "HSM1.example.comCert.pem");
  EXPECT_EQ(Tree(root_path_), before);

  ASSERT_TRUE(store_->Add("10.0.0.5", ServerPem("10.0.0.5"), false).ok());
  absl::StatusOr<std::vector<ServerCert>> list = store_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "10.0.0.5");
  EXPECT_EQ((*list)[1].name, "hsm1.example.com");
  EXPECT_EQ(store_->LoadPinned()->size(), 2u);
  EXPECT_EQ(store_->Show("HSM1.EXAMPLE.COM")->fingerprint,
            added->server.fingerprint);
  EXPECT_TRUE(store_->Verify()->Consistent());
  EXPECT_TRUE(RawConsistent(root_path_));

  absl::StatusOr<std::string> removed = store_->Remove("hsm1.example.com");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, added->server.fingerprint);
  EXPECT_EQ(store_->List()->size(), 1u);
  EXPECT_EQ(ToTlStatus(store_->Remove("hsm1.example.com").status()),
            TL_E_NOT_FOUND);
  EXPECT_EQ(ToTlStatus(store_->Show("hsm1.example.com").status()),
            TL_E_NOT_FOUND);
  EXPECT_TRUE(RawConsistent(root_path_));
}

TEST_F(TrustStoreTest, ReplaceIsExplicit) {
  ASSERT_TRUE(store_->Add("hsm1", ServerPem("hsm1"), false).ok());
  std::string second = ServerPem("hsm1");
  auto before = Tree(root_path_);
  absl::Status dup = store_->Add("hsm1", second, false).status();
  EXPECT_EQ(ToTlStatus(dup), TL_E_ALREADY_EXISTS);
  EXPECT_TRUE(absl::StrContains(dup.message(), "with replace")) << dup;
  EXPECT_EQ(Tree(root_path_), before);

  absl::StatusOr<AddResult> replaced = store_->Add("hsm1", second, true);
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_TRUE(replaced->replaced);
  EXPECT_FALSE(replaced->previous_fingerprint.empty());
  ASSERT_EQ(store_->List()->size(), 1u);
  EXPECT_EQ(store_->Show("hsm1")->cert.Pem(), second);
  EXPECT_TRUE(RawConsistent(root_path_));
  EXPECT_EQ(ToTlStatus(store_->Add("hsm9", second, true).status()),
            TL_E_NOT_FOUND);
}

TEST_F(TrustStoreTest, WarnsOnNameMismatchAndNonCanonicalIPv6) {
  absl::StatusOr<AddResult> r = store_->Add("hsm2", ServerPem("hsm1"), false);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(r->warnings[0], "names hsm1"))
      << r->warnings[0];
  r = store_->Add("2018:1:0:0:0:29ff:fe2e:b07f",
                  ServerPem("2018:1::29ff:fe2e:b07f"), false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->server.name, "2018:1::29ff:fe2e:b07f");
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(r->warnings[0], "canonical")) << r->warnings[0];
}

TEST_F(TrustStoreTest, BadInputChangesNothing) {
  ASSERT_TRUE(store_->Add("hsm1", ServerPem("hsm1"), false).ok());
  std::string pem = ServerPem("hsm2");
  IdentityOptions options;
  options.key_type = KeyType::kEcdsaP256;
  absl::StatusOr<Identity> id =
      CreateIdentity(*CanonicalizeNameWithHost("hsm2", ""), options);
  struct Case {
    std::string name;
    std::string pem;
    tl_status code;
    std::string word;
  } cases[] = {
      {"hsm2", pem.substr(0, pem.size() / 2), TL_E_CERT_INVALID, "truncated"},
      {"hsm2", pem + ServerPem("hsm3"), TL_E_CERT_INVALID, "2 certificates"},
      {"hsm2", *PrivateKeyToPem(id->key.get()), TL_E_CERT_INVALID,
       "private key"},
      {"hsm2", ServerPem("hsm2", absl::Now() - absl::Hours(24 * 400), 30),
       TL_E_CERT_EXPIRED, "expired"},
      {"../x", pem, TL_E_NAME_INVALID, "'../x'"},
      {"/etc/passwd", pem, TL_E_NAME_INVALID, "/"},
      {"a\nb", pem, TL_E_NAME_INVALID, "control"},
      {"", pem, TL_E_NAME_INVALID, "empty"},
      {"hsm1", pem, TL_E_ALREADY_EXISTS, "different certificate"},
  };
  for (const Case& c : cases) {
    auto before = Tree(root_path_);
    absl::Status s = store_->Add(c.name, c.pem, false).status();
    EXPECT_EQ(ToTlStatus(s), c.code) << c.name << ": " << s;
    EXPECT_TRUE(absl::StrContains(s.message(), c.word)) << s;
    EXPECT_EQ(Tree(root_path_), before) << s;
  }
  EXPECT_TRUE(RawConsistent(root_path_));
}

TEST_F(TrustStoreTest, UpdatesRefuseToDropWhatTheyCannotCopy) {
  ASSERT_TRUE(store_->Add("hsm1", ServerPem("hsm1"), false).ok());
  SafeDir server = *SafeDir::Open(root_path_ + "/cert/server", false);
  // A symlink planted in the store: an update would have to drop it, so none
  // runs.
  ASSERT_EQ(symlinkat("/etc/passwd", server.fd(), "hsm2Cert.pem"), 0);
  auto before = Tree(root_path_);
  absl::Status s = store_->Add("hsm3", ServerPem("hsm3"), false).status();
  EXPECT_EQ(ToTlStatus(s), TL_E_TRUST_STORE_INCONSISTENT) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "symlink")) << s;
  EXPECT_EQ(ToTlStatus(store_->Remove("hsm1").status()),
            TL_E_TRUST_STORE_INCONSISTENT);
  EXPECT_EQ(Tree(root_path_), before);
  ASSERT_EQ(unlinkat(server.fd(), "hsm2Cert.pem", 0), 0);

  // A CAFile.pem that does not parse: adding would drop its entries, so the fix
  // is repair.
  ASSERT_TRUE(server
                  .WriteFileAtomic("CAFile.pem",
                                   "-----BEGIN CERTIFICATE-----\nAA", 0644)
                  .ok());
  s = store_->Add("hsm3", ServerPem("hsm3"), false).status();
  EXPECT_EQ(ToTlStatus(s), TL_E_TRUST_STORE_INCONSISTENT) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "TL_VERIFY_REPAIR")) << s;
  EXPECT_EQ(ToTlStatus(store_->List().status()), TL_E_TRUST_STORE_INCONSISTENT);
  ASSERT_TRUE(store_->Repair().ok());
  EXPECT_TRUE(store_->Verify()->Consistent());
  EXPECT_EQ(store_->List()->size(), 1u);
}

TEST(TrustStoreSymlinkTest, SymlinkedServerDirIsRefused) {
  std::string root_path = NewRootPath("symlink");
  SafeDir root = *SafeDir::Open(root_path, true);
  SafeDir elsewhere = *SafeDir::Open(root_path + "_elsewhere", true);
  SafeDir cert = *root.OpenSubdir("cert", true);
  ASSERT_EQ(symlinkat(elsewhere.path().c_str(), cert.fd(), "server"), 0);
  absl::StatusOr<TrustStore> store = TrustStore::Open(root, true);
  EXPECT_EQ(ToTlStatus(store.status()), TL_E_PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(store.status().message(), "symlink"))
      << store.status();
  EXPECT_EQ(ToTlStatus(TrustStore::Open(root, false).status()),
            TL_E_PERMISSION_DENIED);
  EXPECT_TRUE(elsewhere.List()->empty());
}

TEST_F(TrustStoreTest, VerifyFindsDisagreementAndRepairFixesIt) {
  ASSERT_TRUE(store_->Add("hsm1", ServerPem("hsm1"), false).ok());
  ASSERT_TRUE(store_->Add("hsm2", ServerPem("hsm2"), false).ok());
  SafeDir server = *SafeDir::Open(root_path_ + "/cert/server", false);
  // hsm3: a named file dropped in by hand, not in CAFile.pem.
  ASSERT_TRUE(
      server.WriteFileAtomic("hsm3Cert.pem", ServerPem("hsm3"), 0644).ok());
  // A CAFile.pem entry with no named file.
  std::string stray = ServerPem("ghost");
  std::string cafile = *server.ReadFile("CAFile.pem", 1 << 20);
  ASSERT_TRUE(server.WriteFileAtomic("CAFile.pem", cafile + stray, 0644).ok());
  // hsm2's named file made unreadable.
  ASSERT_TRUE(server.WriteFileAtomic("hsm2Cert.pem", "garbage", 0644).ok());

  absl::StatusOr<VerifyReport> report = store_->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->Consistent());
  std::map<std::string, EntryState> states;
  for (const VerifyEntry& e : report->entries) states[e.name] = e.state;
  EXPECT_EQ(states["hsm1"], EntryState::kOk);
  EXPECT_EQ(states["hsm2"], EntryState::kUnreadable);
  EXPECT_EQ(states["hsm3"], EntryState::kNotInCAFile);
  // hsm2's old certificate and ghost are both strays in CAFile.pem.
  int strays = 0;
  for (const VerifyEntry& e : report->entries) {
    if (e.state == EntryState::kNotInCAFile) {
      EXPECT_TRUE(absl::StrContains(e.message, "not in CAFile.pem"))
          << e.message;
    }
    strays += e.state == EntryState::kOnlyInCAFile;
  }
  EXPECT_EQ(strays, 2);
  // Only hsm1 is trusted.
  ASSERT_EQ(store_->List()->size(), 1u);
  EXPECT_EQ(ToTlStatus(store_->Show("hsm3").status()),
            TL_E_TRUST_STORE_INCONSISTENT);

  absl::StatusOr<std::vector<std::string>> changes = store_->Repair();
  ASSERT_TRUE(changes.ok()) << changes.status();
  EXPECT_EQ(changes->size(), 3u);
  report = store_->Verify();
  std::set<std::string> names;
  std::vector<ServerCert> listed = *store_->List();
  for (const ServerCert& s : listed) names.insert(s.name);
  EXPECT_EQ(names, (std::set<std::string>{"hsm1", "hsm3"}));
  for (const VerifyEntry& e : report->entries) {
    if (e.name != "hsm2") {
      EXPECT_EQ(e.state, EntryState::kOk) << e.name;
    }
  }
  EXPECT_TRUE(store_->Remove("hsm2").ok());
  EXPECT_TRUE(store_->Verify()->Consistent());
  EXPECT_TRUE(store_->Repair()->empty());
}

TEST_F(TrustStoreTest, UnknownFilesSurviveUpdates) {
  SafeDir server = *SafeDir::Open(root_path_ + "/cert/server", false);
  ASSERT_TRUE(server.WriteFileAtomic("README", "keep me", 0644).ok());
  ASSERT_TRUE(store_->Add("hsm1", ServerPem("hsm1"), false).ok());
  server = *SafeDir::Open(root_path_ + "/cert/server", false);
  EXPECT_EQ(*server.ReadFile("README", 100), "keep me");
}

// Eight processes add different servers at once; every one of them must be
// there after.

}  // namespace
}  // namespace trustlink::ntl
