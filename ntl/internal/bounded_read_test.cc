#include "ntl/internal/bounded_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::internal {
namespace {

std::string TestPath(const std::string& leaf) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp ? tmp : "/tmp", "/bounded_read_", leaf, "_",
                      getpid());
}

void WriteText(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  ::close(fd);
}

TEST(BoundedReadTest, ReadsARegularFile) {
  std::string path = TestPath("plain");
  WriteText(path, "hello");
  absl::StatusOr<std::string> got = ReadBoundedFile(path, 100, true);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "hello");
}

TEST(BoundedReadTest, RefusesAFifoAtOnce) {
  std::string path = TestPath("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  absl::Time start = absl::Now();
  absl::StatusOr<std::string> got = ReadBoundedFile(path, 100, false);
  // Without O_NONBLOCK the open itself would wait for a writer for ever.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(ToTlStatus(got.status()), TL_E_INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(got.status().message(), "FIFO"))
      << got.status();
}

TEST(BoundedReadTest, RefusesDevZeroWithoutReadingIt) {
  absl::StatusOr<std::string> got =
      ReadBoundedFile("/dev/zero", 1 << 20, false);
  EXPECT_EQ(ToTlStatus(got.status()), TL_E_INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(got.status().message(), "character device"))
      << got.status();
}

TEST(BoundedReadTest, RefusesAFileOverTheCapBeforeReading) {
  std::string path = TestPath("big");
  WriteText(path, std::string(101, 'x'));
  absl::StatusOr<std::string> got = ReadBoundedFile(path, 100, true);
  EXPECT_EQ(ToTlStatus(got.status()), TL_E_OUT_OF_RANGE);
  EXPECT_TRUE(absl::StrContains(got.status().message(), "101 bytes"))
      << got.status();
  EXPECT_TRUE(ReadBoundedFile(path, 101, true).ok());
}

TEST(BoundedReadTest, NoFollowRefusesASymlink) {
  std::string target = TestPath("target");
  std::string link = TestPath("link");
  WriteText(target, "secret");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  absl::StatusOr<std::string> got = ReadBoundedFile(link, 100, true);
  EXPECT_EQ(ToTlStatus(got.status()), TL_E_PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(got.status().message(), "symlink"))
      << got.status();
  EXPECT_TRUE(ReadBoundedFile(link, 100, false).ok());
}

TEST(BoundedReadTest, PrivateKeyOthersCanReadIsRefused) {
  std::string path = TestPath("key");
  WriteText(path, "secret");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  absl::StatusOr<std::string> open =
      ReadBoundedFile(path, 100, true, /*private_key=*/true);
  EXPECT_EQ(ToTlStatus(open.status()), TL_E_KEY_PERMISSIONS);
  EXPECT_TRUE(absl::StrContains(open.status().message(), "has mode 0640"));
  EXPECT_TRUE(absl::StrContains(open.status().message(),
                                absl::StrCat("run: chmod 600 ", path)));
  // Without the flag the same file is read: the rule is for keys only.
  EXPECT_TRUE(ReadBoundedFile(path, 100, true).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  absl::StatusOr<std::string> ok =
      ReadBoundedFile(path, 100, true, /*private_key=*/true);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, "secret");
}

TEST(BoundedReadTest, MissingIsNotFound) {
  EXPECT_EQ(ToTlStatus(ReadBoundedFile(TestPath("none"), 1, true).status()),
            TL_E_NOT_FOUND);
}

}  // namespace
}  // namespace trustlink::ntl::internal
