#include "ntl/pkcs11/token_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

std::string TempRoot(const std::string& name) {
  return absl::StrCat(getenv("TEST_TMPDIR"), "/", name);
}

TEST(TokenStoreTest, ValidatesPartitionNames) {
  for (const char* bad : {"", "../x", "a/b", ".hidden", "-rf", "a b", "a\"b",
                          "a\\b", "x234567890123456789012345678901234"}) {
    absl::Status s = ValidatePartitionName(bad);
    EXPECT_EQ(ToTlStatus(s), TL_E_NAME_INVALID) << bad;
  }
  for (const char* good :
       {"partA", "web-1", "db_2.prod", "x2345678901234567890123456789012"}) {
    EXPECT_TRUE(ValidatePartitionName(good).ok()) << good;
  }
}

TEST(TokenStoreTest, ValidatesPins) {
  EXPECT_FALSE(ValidatePin("123", "the user PIN").ok());
  EXPECT_FALSE(ValidatePin(std::string(256, '1'), "the user PIN").ok());
  EXPECT_FALSE(ValidatePin("12\n34", "the user PIN").ok());
  EXPECT_TRUE(ValidatePin("1234", "the user PIN").ok());
}

TEST(TokenStoreTest, TokenUriIsPercentEncoded) {
  EXPECT_EQ(TokenUri("partA"), "pkcs11:token=partA");
  EXPECT_EQ(TokenUri("a b;c"), "pkcs11:token=a%20b%3Bc");
}

TEST(TokenStoreTest, RootMustBeAbsolute) {
  EXPECT_EQ(ToTlStatus(TokenStore::Open("relative/root").status()),
            TL_E_INVALID_ARGUMENT);
}

TEST(TokenStoreTest, CreateFindListRemove) {
  absl::StatusOr<TokenStore> store = TokenStore::Open(TempRoot("create"));
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(store->Create("partA", "12345678", "87654321").ok());

  absl::StatusOr<PartitionToken> t = store->Find("partA");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->token_label, "partA");
  EXPECT_EQ(t->token_uri, "pkcs11:token=partA");
  EXPECT_EQ(t->softhsm2_conf,
            TempRoot("create/partitions/partA/softhsm2.conf"));
  struct stat st;
  ASSERT_EQ(stat(t->softhsm2_conf.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(TempRoot("create/partitions/partA").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  absl::Status again = store->Create("partA", "12345678", "87654321");
  EXPECT_EQ(ToTlStatus(again), TL_E_ALREADY_EXISTS);
  EXPECT_TRUE(absl::StrContains(again.message(), "partA"));

  absl::StatusOr<std::vector<std::string>> names = store->List();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"partA"});

  ASSERT_TRUE(store->Remove("partA").ok());
  EXPECT_EQ(ToTlStatus(store->Find("partA").status()), TL_E_NOT_FOUND);
  EXPECT_EQ(ToTlStatus(store->Remove("partA")), TL_E_NOT_FOUND);
}

TEST(TokenStoreTest, FailedInitLeavesNothing) {
  TokenStoreOptions options;
  options.pkcs11_tool = "/bin/false";
  absl::StatusOr<TokenStore> store =
      TokenStore::Open(TempRoot("fail"), options);
  ASSERT_TRUE(store.ok());
  absl::Status s = store->Create("partA", "12345678", "87654321");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "partA"));
  EXPECT_EQ(ToTlStatus(store->Find("partA").status()), TL_E_NOT_FOUND);
}

TEST(TokenStoreTest, PlantedSymlinkIsNotFollowed) {
  std::string root = TempRoot("symlink");
  absl::StatusOr<TokenStore> store = TokenStore::Open(root);
  ASSERT_TRUE(store.ok());
  std::string victim = TempRoot("victim");
  ASSERT_EQ(mkdir(victim.c_str(), 0700), 0);
  ASSERT_EQ(symlink(victim.c_str(), (root + "/partitions/evil").c_str()), 0);
  EXPECT_FALSE(store->Find("evil").ok());
  EXPECT_FALSE(store->Create("evil", "12345678", "87654321").ok());
  // Remove deletes the link, never what it points at.
  EXPECT_TRUE(store->Remove("evil").ok());
  struct stat st;
  EXPECT_EQ(stat(victim.c_str(), &st), 0);
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11
