#include "ntl/pkcs11/module_config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ModuleConfigTest, TextNamesTheBridgeCommand) {
  absl::StatusOr<std::string> text = ModuleConfigText(
      {"/usr/bin/vtl", "p11", "bridge"}, {"hsm1.example", "partA"});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_TRUE(absl::StrContains(*text,
                                "\nremote: |/usr/bin/vtl p11 bridge -server "
                                "hsm1.example -partition partA\n"));
  EXPECT_EQ(*ModuleFileName({"hsm1.example", "partA"}),
            "trustlink-hsm1.example-partA.module");
  EXPECT_EQ(*ModuleFileName({"2001:db8::1", "p"}),
            "trustlink-2001:db8::1-p.module");
}

TEST(ModuleConfigTest, RefusesUnsafeWordsAndNames) {
  EXPECT_FALSE(
      ModuleConfigText({"vtl"}, {"hsm1", "partA"}).ok());  // not absolute
  EXPECT_FALSE(ModuleConfigText({"/opt/my tools/vtl"}, {"hsm1", "partA"}).ok());
  EXPECT_FALSE(
      ModuleConfigText({"/usr/bin/vtl", "a'b"}, {"hsm1", "partA"}).ok());
  EXPECT_FALSE(
      ModuleConfigText({"/usr/bin/vtl", "#x"}, {"hsm1", "partA"}).ok());
  EXPECT_EQ(ToTlStatus(ModuleFileName({"hsm1", "../x"}).status()),
            TL_E_NAME_INVALID);
  EXPECT_EQ(ToTlStatus(ModuleFileName({"hsm/1", "partA"}).status()),
            TL_E_NAME_INVALID);
  EXPECT_EQ(ToTlStatus(ModuleFileName({"hsm 1", "partA"}).status()),
            TL_E_NAME_INVALID);
}

TEST(ModuleConfigTest, WritesOnePerPartitionAndRemovesStaleOnes) {
  std::string dir =
      absl::StrCat(getenv("TEST_TMPDIR"), "/home/.config/pkcs11/modules");
  std::vector<std::string> bridge = {"/usr/bin/vtl", "p11", "bridge"};
  absl::StatusOr<SetupResult> r =
      WriteModuleConfigs(dir, bridge, {{"hsm1", "b"}, {"hsm1", "a"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->written, (std::vector<std::string>{"trustlink-hsm1-a.module",
                                                  "trustlink-hsm1-b.module"}));
  EXPECT_TRUE(r->removed.empty());
  // Someone else's module is left alone.
  std::ofstream(dir + "/other.module") << "module: other.so\n";

  r = WriteModuleConfigs(dir, bridge, {{"hsm1", "a"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->removed, std::vector<std::string>{"trustlink-hsm1-b.module"});
  EXPECT_TRUE(absl::StrContains(Read(dir + "/trustlink-hsm1-a.module"),
                                "-partition a\n"));
  EXPECT_EQ(Read(dir + "/trustlink-hsm1-b.module"), "");
  EXPECT_EQ(Read(dir + "/other.module"), "module: other.so\n");
  struct stat st;
  ASSERT_EQ(stat((dir + "/trustlink-hsm1-a.module").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(ModuleConfigTest, DuplicateAssignmentRefused) {
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/dup");
  EXPECT_FALSE(
      WriteModuleConfigs(dir, {"/usr/bin/vtl"}, {{"h", "a"}, {"h", "a"}}).ok());
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11
