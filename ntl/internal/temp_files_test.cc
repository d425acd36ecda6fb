#include "ntl/internal/temp_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::internal {
namespace {

int FreshDir(const std::string& leaf) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path =
      absl::StrCat(tmp ? tmp : "/tmp", "/temp_files_", leaf, "_", getpid());
  ::mkdir(path.c_str(), 0700);
  return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

bool Exists(int dirfd, const std::string& name) {
  struct stat st;
  return ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

// DeadPid returns the pid of a child that has exited and been reaped.
pid_t DeadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST(TempFileWriterTest, ParsesBothForms) {
  EXPECT_EQ(TempFileWriter(".a.pem.tmp.123.00ff00ff00ff00ff"), 123);
  EXPECT_EQ(TempFileWriter("client1.tmp.77"), 77);
  EXPECT_FALSE(TempFileWriter("a.pem").has_value());
  EXPECT_FALSE(TempFileWriter(".a.tmp.x1").has_value());
  EXPECT_FALSE(TempFileWriter(".a.tmp.12.zz").has_value());
  EXPECT_FALSE(TempFileWriter(".tmp.12").has_value());
}

// A target of the longest file name trustlink accepts (253 characters) still
// gets a temp file: its name is cut to fit NAME_MAX and still names its writer.
// Before, ".<target>.tmp.<pid>.<hex>" grew past 255 and the write failed.
TEST(CreateTempFileTest, FitsNameMaxForTheLongestTarget) {
  int dir = FreshDir("long");
  ASSERT_GE(dir, 0);
  const std::string target(253, 'a');
  absl::StatusOr<TempFile> temp = CreateTempFile(dir, "dir", target, 0600);
  ASSERT_TRUE(temp.ok()) << temp.status();
  EXPECT_LE(temp->name.size(), 255u);
  EXPECT_EQ(TempFileWriter(temp->name), getpid());
  ::close(temp->fd);
  ::close(dir);
}

TEST(RemoveOrphanTempFilesTest, RemovesADeadWritersFileOnly) {
  int dir = FreshDir("orphans");
  ASSERT_GE(dir, 0);
  pid_t dead = DeadPid();
  std::string orphan = absl::StrCat(".k.pem.tmp.", dead, ".0123456789abcdef");
  std::string old_form = absl::StrCat("c1.tmp.", dead);
  for (const std::string& n : {orphan, old_form, std::string("keep.pem")}) {
    int fd = ::openat(dir, n.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  // A live writer: this process, with the lock held.
  absl::StatusOr<TempFile> live = CreateTempFile(dir, "dir", "x.pem", 0600);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(RemoveOrphanTempFiles(dir), 2);
  EXPECT_FALSE(Exists(dir, orphan));
  EXPECT_FALSE(Exists(dir, old_form));
  EXPECT_TRUE(Exists(dir, "keep.pem"));
  EXPECT_TRUE(Exists(dir, live->name));
  ::close(live->fd);
  ::close(dir);
}

TEST(RemoveOrphanTempFilesTest, KeepsALockedFileEvenIfItsPidLooksDead) {
  int dir = FreshDir("locked");
  ASSERT_GE(dir, 0);
  // A writer in another pid namespace looks dead by pid; its lock protects
  // its file.
  pid_t dead = DeadPid();
  std::string name = absl::StrCat(".x.tmp.", dead, ".00");
  int fd = ::openat(dir, name.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &fl), 0);
  EXPECT_EQ(RemoveOrphanTempFiles(dir), 0);
  EXPECT_TRUE(Exists(dir, name));
  ::close(fd);
  EXPECT_EQ(RemoveOrphanTempFiles(dir), 1);
  ::close(dir);
}

}  // namespace
}  // namespace trustlink::ntl::internal
