#include "htl/internal/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::htl::internal {
namespace {

std::string Root(const char* name) {
  const std::string p = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::system(("rm -rf '" + p + "'").c_str());
  return p;
}

TEST(DirTest, WritesAtomicallyWithModeAndReadsBack) {
  absl::StatusOr<Dir> d = Dir::Open(Root("a"), true);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(d->WriteFileAtomic("f", "one", 0600).ok());
  ASSERT_TRUE(d->WriteFileAtomic("f", "two", 0600).ok());
  EXPECT_EQ(*d->ReadFile("f", 100), "two");
  struct stat st;
  ASSERT_EQ(::stat((d->path() + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*d->List(), std::vector<std::string>{"f"});  // no temp files left
  EXPECT_EQ(ntl::ToTlStatus(d->ReadFile("missing", 100).status()),
            TL_E_NOT_FOUND);
  EXPECT_FALSE(d->ReadFile("f", 2).ok());
  ASSERT_TRUE(d->RemoveFile("f").ok());
  ASSERT_TRUE(d->RemoveFile("f").ok());
  EXPECT_FALSE(*d->Exists("f"));
}

TEST(DirTest, RefusesPathsAndSymlinks) {
  absl::StatusOr<Dir> d = Dir::Open(Root("b"), true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(ntl::ToTlStatus(d->WriteFileAtomic("../x", "", 0600)),
            TL_E_NAME_INVALID);
  EXPECT_FALSE(d->ReadFile("..", 10).ok());
  ASSERT_EQ(::symlink("/etc/passwd", (d->path() + "/link").c_str()), 0);
  EXPECT_FALSE(d->ReadFile("link", 1 << 20).ok());
  ASSERT_EQ(::symlink("/tmp", (d->path() + "/dirlink").c_str()), 0);
  EXPECT_FALSE(d->OpenSubdir("dirlink", false).ok());
}

TEST(DirTest, RefusesAGroupWritableDirectory) {
  const std::string p = Root("c");
  ASSERT_EQ(::mkdir(p.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(p.c_str(), 0770), 0);
  absl::StatusOr<Dir> d = Dir::Open(p, false);
  EXPECT_EQ(ntl::ToTlStatus(d.status()), TL_E_PERMISSION_DENIED);
}

}  // namespace
}  // namespace trustlink::htl::internal
