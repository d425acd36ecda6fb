#include "ntl/pkcs11/ha/group_module.h"

#include <string>

#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

const std::vector<std::string> kHabridge = {"/usr/bin/vtl", "--root", "/r",
                                            "p11", "habridge"};

GroupServeOptions Group() {
  GroupServeOptions g;
  g.label = "grp";
  g.members = {{"hsm1", "partA"}, {"2001:db8::1", "partB"}};
  return g;
}

TEST(GroupModuleTest, OneModuleThatRunsTheGroupsBridge) {
  absl::StatusOr<ModuleAssignment> a = GroupModule(kHabridge, Group());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->file_name, "trustlink-group-grp.module");
  EXPECT_NE(a->file_text.find("\nremote: |/usr/bin/vtl --root /r p11 habridge "
                              "-group grp -member hsm1/partA -member "
                              "2001:db8::1/partB\n"),
            std::string::npos)
      << a->file_text;
  // The bridge (a vtl process) loads p11-kit's module list: it must never
  // start itself.
  EXPECT_NE(a->file_text.find("\ndisable-in: vtl\n"), std::string::npos)
      << a->file_text;
}

TEST(GroupModuleTest, AGroupFromTrustlinkConfNamesOnlyTheGroup) {
  GroupServeOptions g = Group();
  g.from_config = true;
  g.serial = "1234";
  absl::StatusOr<ModuleAssignment> a = GroupModule(kHabridge, g);
  ASSERT_TRUE(a.ok()) << a.status();
  // The bridge reads the members from trustlink.conf: a member added later
  // needs no new setup.
  EXPECT_NE(a->file_text.find("p11 habridge -group grp\n"), std::string::npos)
      << a->file_text;
}

TEST(GroupModuleTest, HidingLinesNameTheBridgeProgram) {
  EXPECT_NE(MemberHidingLines("/opt/tl/bin/vtl").find("\nenable-in: vtl\n"),
            std::string::npos);
}

TEST(GroupModuleTest, RefusesGroupsThatCannotWork) {
  GroupServeOptions g = Group();
  g.members.clear();
  EXPECT_EQ(ToTlStatus(GroupModule(kHabridge, g).status()),
            TL_E_INVALID_ARGUMENT);
  g = Group();
  g.members[1].server = "hsm1";  // two members on one appliance
  absl::Status s = GroupModule(kHabridge, g).status();
  EXPECT_EQ(ToTlStatus(s), TL_E_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("different appliances"), std::string::npos) << s;
  g = Group();
  g.label = "../x";
  EXPECT_EQ(ToTlStatus(GroupModule(kHabridge, g).status()), TL_E_NAME_INVALID);
  g = Group();
  g.members[0].partition = "a b";
  EXPECT_FALSE(GroupModule(kHabridge, g).ok());
  EXPECT_FALSE(GroupModule({"vtl", "p11", "habridge"}, Group()).ok());
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11::ha
