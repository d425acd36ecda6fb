#include "ntl/pkcs11/token_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

std::string TempRoot(const std::string& name) {
  return absl::StrCat(getenv("TEST_TMPDIR"), "/", name);
}

// ReadStream reads `f` to its end.
std::string ReadStream(FILE* f) {
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    out.append(buf, n);
  }
  return out;
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) {
    return absl::NotFoundError(path);
  }
  std::string out = ReadStream(f);
  fclose(f);
  return out;
}

bool WriteAll(const std::string& path, const std::string& text) {
  FILE* f = fopen(path.c_str(), "w");
  if (f == nullptr) {
    return false;
  }
  bool ok = fwrite(text.data(), 1, text.size(), f) == text.size();
  return fclose(f) == 0 && ok;
}

// RunShell runs `command` with sh and returns its stdout.
std::string RunShell(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) {
    return "";
  }
  std::string out = ReadStream(p);
  pclose(p);
  return out;
}

std::string ShowSlots(const std::string& conf) {
  return RunShell(
      absl::StrCat("SOFTHSM2_CONF=", conf, " softhsm2-util --show-slots 2>&1"));
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
  // One SoftHSM2 configuration for the store; the partition's token is a
  // directory of its token directory, made by SoftHSM2 (0700).
  EXPECT_EQ(t->softhsm2_conf, TempRoot("create/softhsm2.conf"));
  struct stat st;
  ASSERT_EQ(stat(t->softhsm2_conf.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(TempRoot("create/partitions/partA").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(TempRoot("create/partitions/partA/token.object").c_str(), &st),
            0);
  absl::StatusOr<std::string> conf = ReadAll(TempRoot("create/softhsm2.conf"));
  ASSERT_TRUE(conf.ok());
  EXPECT_TRUE(absl::StrContains(
      *conf, absl::StrCat("directories.tokendir = ",
                          TempRoot("create/partitions"), "\n")))
      << *conf;
  // Nothing is left in staging once the token is in place.
  EXPECT_EQ(rmdir(TempRoot("create/staging").c_str()), 0) << strerror(errno);
  ASSERT_EQ(mkdir(TempRoot("create/staging").c_str(), 0700), 0);

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

// Two partitions' tokens in the one token directory: SoftHSM2 with the store's
// configuration lists both labels.
TEST(TokenStoreTest, AllTokensShareOneTokenDirectory) {
  absl::StatusOr<TokenStore> store = TokenStore::Open(TempRoot("shared"));
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(store->Create("partA", "12345678", "87654321").ok());
  ASSERT_TRUE(store->Create("partB", "12345678", "87654321").ok());
  absl::StatusOr<PartitionToken> a = store->Find("partA");
  absl::StatusOr<PartitionToken> b = store->Find("partB");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->softhsm2_conf, b->softhsm2_conf);
  std::string out = ShowSlots(a->softhsm2_conf);
  EXPECT_TRUE(absl::StrContains(out, "partA")) << out;
  EXPECT_TRUE(absl::StrContains(out, "partB")) << out;
}

// An appliance made before the shared token directory has
// partitions/<P>/softhsm2.conf and partitions/<P>/tokens/<uuid>/. Open moves
// each token into place with its objects, and drops a half-made one.
TEST(TokenStoreTest, OpenMovesTheOlderLayout) {
  const std::string root = TempRoot("legacy");
  // partL as the older TokenStore::Create left it; partM as a move killed
  // after its first rename left it (in staging/old-<P>).
  const std::string moved = root + "/staging/old-partM";
  for (const auto& [dir, label] : {std::pair<std::string, std::string>{
                                       root + "/partitions/partL", "partL"},
                                   {moved, "partM"}}) {
    ASSERT_EQ(
        system(absl::StrCat("mkdir -p ", dir, "/tokens && chmod -R 700 ", root)
                   .c_str()),
        0);
    ASSERT_TRUE(WriteAll(dir + "/softhsm2.conf",
                         absl::StrCat("directories.tokendir = ", dir,
                                      "/tokens\nobjectstore.backend = file\n"
                                      "log.level = ERROR\n")));
    ASSERT_EQ(system(absl::StrCat("SOFTHSM2_CONF=", dir,
                                  "/softhsm2.conf softhsm2-util --init-token "
                                  "--free --label ",
                                  label,
                                  " --so-pin 12345678 --pin 87654321 "
                                  ">/dev/null")
                         .c_str()),
              0);
  }
  // A Create that died half-way.
  ASSERT_EQ(system(absl::StrCat("mkdir -p ", root,
                                "/staging/new-partX/tokens/abc && touch ", root,
                                "/staging/new-partX/tokens/abc/token.object")
                       .c_str()),
            0);

  absl::StatusOr<TokenStore> store = TokenStore::Open(root);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<PartitionToken> t = store->Find("partL");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->softhsm2_conf, root + "/softhsm2.conf");
  struct stat st;
  EXPECT_EQ(stat((root + "/partitions/partL/token.object").c_str(), &st), 0);
  EXPECT_NE(stat((root + "/partitions/partL/softhsm2.conf").c_str(), &st), 0);
  EXPECT_NE(stat((root + "/staging/new-partX").c_str(), &st), 0);
  EXPECT_NE(stat((root + "/staging/old-partL").c_str(), &st), 0);
  EXPECT_EQ(ToTlStatus(store->Find("partX").status()), TL_E_NOT_FOUND);
  EXPECT_TRUE(store->Find("partM").ok());
  EXPECT_NE(stat(moved.c_str(), &st), 0);
  std::string slots = ShowSlots(t->softhsm2_conf);
  EXPECT_TRUE(absl::StrContains(slots, "partL")) << slots;
  EXPECT_TRUE(absl::StrContains(slots, "partM")) << slots;
  // The user PIN still works on the moved token.
  std::string login = RunShell(absl::StrCat(
      "SOFTHSM2_CONF=", t->softhsm2_conf,
      " pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label "
      "partL --login --pin 87654321 --list-objects 2>&1; echo rc=$?"));
  EXPECT_TRUE(absl::StrContains(login, "rc=0")) << login;
  // A second Open finds nothing more to do.
  EXPECT_TRUE(TokenStore::Open(root).ok());
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
