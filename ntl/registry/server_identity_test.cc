#include "ntl/registry/server_identity.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ntl/registry/registry.h"
#include "ntl/registry/test_util.h"
#include "ntl/status.h"

namespace trustlink::ntl::registry {
namespace {

using ::testing::HasSubstr;

TEST(ServerIdentityTest, CreatedAtFirstStartThenLoaded) {
  std::string root = testing::FreshRoot("ident");
  auto missing = LoadServerIdentity(root);
  EXPECT_EQ(ToTlStatus(missing.status()), TL_E_NOT_FOUND);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("tl_registry_regenerate_server_certificate"));
  bool created = false;
  auto id =
      EnsureServerIdentity(root, "HSM1.example", KeyType::kEcdsaP256, &created);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_TRUE(created);
  EXPECT_EQ(id->current.cert.CommonName(), "hsm1.example");
  EXPECT_TRUE(id->previous.empty());
  auto again =
      EnsureServerIdentity(root, "other", KeyType::kEcdsaP256, &created);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(again->current.cert.Sha256Fingerprint(),
            id->current.cert.Sha256Fingerprint());
}

TEST(ServerIdentityTest, RegenerationKeepsTheOldCertificateUntilDropped) {
  std::string root = testing::FreshRoot("regen");
  auto reg = Registry::Open(root);
  ASSERT_TRUE(reg.ok());
  auto first = (*reg)->RegenerateServerCertificate("hsm1", KeyType::kEd25519);
  ASSERT_TRUE(first.ok()) << first.status();
  uint64_t g = (*reg)->generation();
  auto second = (*reg)->RegenerateServerCertificate("", KeyType::kEd25519);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_GT((*reg)->generation(),
            g);  // A server learns of it through the generation.
  EXPECT_NE(second->current.cert.Sha256Fingerprint(),
            first->current.cert.Sha256Fingerprint());
  EXPECT_EQ(second->current.cert.CommonName(), "hsm1");
  ASSERT_EQ(second->previous.size(), 1u);
  EXPECT_EQ(second->previous[0].cert.Sha256Fingerprint(),
            first->current.cert.Sha256Fingerprint());
  auto dropped = (*reg)->DropOldServerCertificates();
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, 1);
  auto loaded = LoadServerIdentity(root);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->previous.empty());
}

TEST(ServerIdentityTest, FinishesARegenerationInterruptedBetweenTheRenames) {
  std::string root = testing::FreshRoot("interrupted");
  auto first = EnsureServerIdentity(root, "hsm2", KeyType::kEd25519, nullptr);
  ASSERT_TRUE(first.ok());
  auto dir = internal::SafeDir::Open(root + "/server", false);
  ASSERT_TRUE(dir.ok());
  auto made = CreateIdentity(*CanonicalizeName("hsm2"), IdentityOptions());
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(WriteIdentity(*dir, "new.pem", "newKey.pem", *made, true).ok());
  // The crash: the key moved, the certificate did not.
  ASSERT_EQ(renameat(dir->fd(), "newKey.pem", dir->fd(), "serverKey.pem"), 0);
  auto loaded = LoadServerIdentity(root);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->current.cert.Sha256Fingerprint(),
            made->cert.Sha256Fingerprint());
}

TEST(ServerIdentityTest, RefusesAGroupReadableKey) {
  std::string root = testing::FreshRoot("perm");
  ASSERT_TRUE(
      EnsureServerIdentity(root, "hsm3", KeyType::kEd25519, nullptr).ok());
  ASSERT_EQ(chmod((root + "/server/serverKey.pem").c_str(), 0640), 0);
  EXPECT_EQ(ToTlStatus(LoadServerIdentity(root).status()),
            TL_E_KEY_PERMISSIONS);
}

}  // namespace
}  // namespace trustlink::ntl::registry
