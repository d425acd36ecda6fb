#include "ntl/internal/safe_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::internal {
namespace {

std::string FreshDir(const std::string& leaf) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path =
      absl::StrCat(tmp ? tmp : "/tmp", "/safe_dir_test_", leaf, "_", getpid());
  return path;
}

TEST(ValidateNameTest, RefusesPathsAndControlCharacters) {
  for (absl::string_view bad :
       {absl::string_view(""), absl::string_view("."), absl::string_view(".."),
        absl::string_view("../x"), absl::string_view("/etc"),
        absl::string_view("a/b"), absl::string_view("-rf"),
        absl::string_view("a\nb"), absl::string_view("a\x7f"),
        absl::string_view("a\0b", 3)}) {
    absl::Status s = ValidateName(bad, "server name");
    EXPECT_EQ(ToTlStatus(s), TL_E_NAME_INVALID) << absl::CHexEscape(bad);
    EXPECT_TRUE(absl::StrContains(s.message(), "server name")) << s.message();
  }
  EXPECT_EQ(ToTlStatus(ValidateName(std::string(254, 'a'), "name")),
            TL_E_NAME_INVALID);
  EXPECT_TRUE(ValidateName(std::string(253, 'a'), "name").ok());
  EXPECT_TRUE(ValidateName("hsm1.example.com", "name").ok());
  EXPECT_TRUE(ValidateName("2001:db8::1", "name").ok());
}

TEST(SafeDirTest, WriteReadListRemove) {
  absl::StatusOr<SafeDir> dir = SafeDir::Open(FreshDir("basic") + "/a/b", true);
  ASSERT_TRUE(dir.ok()) << dir.status();
  ASSERT_TRUE(dir->WriteFileAtomic("f.pem", "one", 0644).ok());
  ASSERT_TRUE(dir->WriteFileAtomic("f.pem", "two", 0644).ok());
  EXPECT_EQ(*dir->ReadFile("f.pem", 100), "two");
  EXPECT_EQ(*dir->Exists("f.pem"), true);
  EXPECT_EQ(*dir->Exists("g.pem"), false);
  std::vector<std::string> names = *dir->List();
  ASSERT_EQ(names.size(), 1u);  // No temp file left behind.
  EXPECT_EQ(names[0], "f.pem");
  EXPECT_EQ(dir->ReadFile("f.pem", 2).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(dir->RemoveFile("f.pem").ok());
  EXPECT_EQ(dir->ReadFile("f.pem", 100).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(dir->RemoveFile("f.pem").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ToTlStatus(dir->ReadFile("../etc", 100).status()),
            TL_E_NAME_INVALID);
}

TEST(SafeDirTest, AtomicWriteSetsExactMode) {
  mode_t old = umask(077);
  absl::StatusOr<SafeDir> dir = SafeDir::Open(FreshDir("mode"), true);
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(dir->WriteFileAtomic("c.pem", "x", 0644).ok());
  umask(old);
  struct stat st;
  ASSERT_EQ(fstatat(dir->fd(), "c.pem", &st, 0), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(SafeDirTest, CreateExclusiveNeverOverwrites) {
  absl::StatusOr<SafeDir> dir = SafeDir::Open(FreshDir("excl"), true);
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(dir->CreateFileExclusive("k.pem", "key", 0600).ok());
  absl::Status again = dir->CreateFileExclusive("k.pem", "other", 0600);
  EXPECT_EQ(ToTlStatus(again), TL_E_ALREADY_EXISTS);
  EXPECT_EQ(*dir->ReadFile("k.pem", 100), "key");
}

TEST(SafeDirTest, SymlinksAreNeverFollowed) {
  std::string base = FreshDir("symlink");
  absl::StatusOr<SafeDir> dir = SafeDir::Open(base, true);
  ASSERT_TRUE(dir.ok());
  std::string target = base + "_target";
  ASSERT_TRUE(SafeDir::Open(target, true).ok());
  ASSERT_EQ(symlinkat(target.c_str(), dir->fd(), "server"), 0);
  absl::StatusOr<SafeDir> sub = dir->OpenSubdir("server", true);
  EXPECT_EQ(ToTlStatus(sub.status()), TL_E_PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(sub.status().message(), "symlink"))
      << sub.status();
  EXPECT_EQ(ToTlStatus(SafeDir::Open(base + "/server", false).status()),
            TL_E_PERMISSION_DENIED);

  ASSERT_TRUE(
      SafeDir::Open(target, false)->WriteFileAtomic("secret", "s", 0600).ok());
  ASSERT_EQ(symlinkat((target + "/secret").c_str(), dir->fd(), "link.pem"), 0);
  EXPECT_FALSE(dir->ReadFile("link.pem", 100).ok());
  EXPECT_EQ(ToTlStatus(dir->CreateFileExclusive("link.pem", "x", 0600)),
            TL_E_ALREADY_EXISTS);
  // An atomic write replaces the link itself, never the file it points to.
  ASSERT_TRUE(dir->WriteFileAtomic("link.pem", "new", 0644).ok());
  EXPECT_EQ(*SafeDir::Open(target, false)->ReadFile("secret", 100), "s");
}

TEST(SafeDirTest, PrivateKeyPermissions) {
  absl::StatusOr<SafeDir> dir = SafeDir::Open(FreshDir("perm"), true);
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(dir->CreateFileExclusive("ok.pem", "k", 0600).ok());
  ASSERT_TRUE(dir->CreateFileExclusive("bad.pem", "k", 0644).ok());
  EXPECT_TRUE(dir->CheckPrivateKeyPermissions("ok.pem").ok());
  absl::Status bad = dir->CheckPrivateKeyPermissions("bad.pem");
  EXPECT_EQ(ToTlStatus(bad), TL_E_KEY_PERMISSIONS);
  EXPECT_TRUE(absl::StrContains(bad.message(), "chmod 600")) << bad;
  EXPECT_TRUE(absl::StrContains(bad.message(), "bad.pem")) << bad;
  EXPECT_EQ(ToTlStatus(dir->ReadPrivateFile("bad.pem", 100).status()),
            TL_E_KEY_PERMISSIONS);
  EXPECT_EQ(*dir->ReadPrivateFile("ok.pem", 100), "k");
}

TEST(SafeDirTest, LocksExcludeEachOther) {
  absl::StatusOr<SafeDir> dir = SafeDir::Open(FreshDir("lock"), true);
  ASSERT_TRUE(dir.ok());
  absl::StatusOr<FileLock> lock = dir->Lock(".lock");
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(lock->held());
  // A second open file description must not get the lock while the first holds
  // it.
  int fd = openat(dir->fd(), ".lock", O_RDWR);
  ASSERT_GE(fd, 0);
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  EXPECT_EQ(fcntl(fd, F_OFD_SETLK, &fl), -1);
  *lock = FileLock();
  EXPECT_EQ(fcntl(fd, F_OFD_SETLK, &fl), 0);
  close(fd);
}

TEST(SafeDirTest, TryLockSharedRefusesAtOnceWhileAWriterHoldsIt) {
  absl::StatusOr<SafeDir> dir = SafeDir::Open(FreshDir("trylock"), true);
  ASSERT_TRUE(dir.ok());
  {
    absl::StatusOr<FileLock> writer = dir->Lock("lock");
    ASSERT_TRUE(writer.ok()) << writer.status();
    absl::StatusOr<FileLock> reader = dir->TryLockShared("lock");
    EXPECT_EQ(ToTlStatus(reader.status()), TL_E_UNAVAILABLE);
    EXPECT_TRUE(
        absl::StrContains(reader.status().message(), "held by a writer"))
        << reader.status();
  }
  EXPECT_TRUE(dir->TryLockShared("lock").ok());
}

TEST(SafeDirTest, LocksRefuseASymlinkedLockFile) {
  std::string base = FreshDir("locklink");
  absl::StatusOr<SafeDir> dir = SafeDir::Open(base, true);
  ASSERT_TRUE(dir.ok());
  ASSERT_EQ(symlinkat((base + "_elsewhere").c_str(), dir->fd(), "lock"), 0);
  for (const absl::Status& s :
       {dir->Lock("lock").status(), dir->TryLockShared("lock").status(),
        dir->LockShared("lock").status()}) {
    EXPECT_EQ(ToTlStatus(s), TL_E_PERMISSION_DENIED);
    EXPECT_TRUE(absl::StrContains(s.message(), "symlink")) << s;
  }
  EXPECT_EQ(ToTlStatus(dir->Lock("../lock").status()), TL_E_NAME_INVALID);
}

TEST(SafeDirTest, AppendDurableAppendsPrivatelyAndRefusesSymlinks) {
  std::string base = FreshDir("append");
  absl::StatusOr<SafeDir> dir = SafeDir::Open(base, true);
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(dir->AppendDurable("log", "one\n").ok());
  ASSERT_TRUE(dir->AppendDurable("log", "two\n").ok());
  EXPECT_EQ(*dir->ReadFile("log", 100), "one\ntwo\n");
  struct stat st;
  ASSERT_EQ(fstatat(dir->fd(), "log", &st, 0), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(symlinkat((base + "/log").c_str(), dir->fd(), "link"), 0);
  absl::Status s = dir->AppendDurable("link", "three\n");
  EXPECT_EQ(ToTlStatus(s), TL_E_PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(s.message(), "symlink")) << s;
  EXPECT_EQ(*dir->ReadFile("log", 100), "one\ntwo\n");
  EXPECT_EQ(ToTlStatus(dir->AppendDurable("a/b", "x")), TL_E_NAME_INVALID);
}

}  // namespace
}  // namespace trustlink::ntl::internal
