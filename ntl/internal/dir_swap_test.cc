#include "ntl/internal/dir_swap.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/internal/safe_dir.h"

namespace trustlink::ntl::internal {
namespace {

SafeDir Fresh(const std::string& leaf) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path =
      absl::StrCat(tmp ? tmp : "/tmp", "/dir_swap_", leaf, "_", getpid());
  absl::StatusOr<SafeDir> dir = SafeDir::Open(path, true);
  EXPECT_TRUE(dir.ok()) << dir.status();
  return *std::move(dir);
}

TEST(DirSwapTest, ReplacesTheWholeDirectory) {
  SafeDir parent = Fresh("replace");
  ASSERT_TRUE(
      ReplaceSubdir(parent, "d", {{"a", "1", 0644}, {"k", "2", 0600}}, 0755)
          .ok());
  ASSERT_TRUE(ReplaceSubdir(parent, "d", {{"a", "3", 0644}}, 0755).ok());
  absl::StatusOr<SafeDir> d = parent.OpenSubdir("d", false);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d->ReadFile("a", 10), "3");
  EXPECT_FALSE(*d->Exists("k"));
  EXPECT_FALSE(*parent.Exists(".d.next"));
}

TEST(DirSwapTest, RecoverDropsAnUncommittedGeneration) {
  SafeDir parent = Fresh("uncommitted");
  ASSERT_TRUE(ReplaceSubdir(parent, "d", {{"a", "old", 0644}}, 0755).ok());
  absl::StatusOr<SafeDir> next = parent.OpenSubdir(".d.next", true);
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->CreateFileExclusive("a", "half", 0644).ok());
  ASSERT_TRUE(RecoverSubdir(parent, "d").ok());
  EXPECT_FALSE(*parent.Exists(".d.next"));
  EXPECT_EQ(*parent.OpenSubdir("d", false)->ReadFile("a", 10), "old");
}

TEST(DirSwapTest, RecoverRollsBackAFallbackSwapCutInTwo) {
  SafeDir parent = Fresh("fallback");
  ASSERT_TRUE(ReplaceSubdir(parent, "d", {{"a", "old", 0644}}, 0755).ok());
  ASSERT_TRUE(parent.Rename("d", ".d.prev").ok());
  ASSERT_TRUE(RecoverSubdir(parent, "d").ok());
  EXPECT_EQ(*parent.OpenSubdir("d", false)->ReadFile("a", 10), "old");
  EXPECT_FALSE(*parent.Exists(".d.prev"));
}

TEST(DirSwapTest, ReadGenerationSkipsJournalsAndTempsAndKeepsModes) {
  SafeDir parent = Fresh("read");
  ASSERT_TRUE(ReplaceSubdir(parent, "d",
                            {{"k", "key", 0600},
                             {".journal.x", "j", 0644},
                             {".k.tmp.1.ab", "t", 0600}},
                            0755)
                  .ok());
  absl::StatusOr<std::vector<DirFile>> files =
      ReadGeneration(*parent.OpenSubdir("d", false), 100);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].name, "k");
  EXPECT_EQ((*files)[0].mode, 0600u);
}

}  // namespace
}  // namespace trustlink::ntl::internal
