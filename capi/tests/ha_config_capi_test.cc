// The HA group configuration C ABI (client_ha_config.h) through the public
// header only: edits, the list, errors with the fix, out-params untouched on
// failure, and nothing written when an edit is refused.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::ReadText;
using trustlink::capi::testing::RootError;
using trustlink::capi::testing::ServerPem;

std::string NewRoot(const char* leaf) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp ? tmp : "/tmp") + "/ha_abi_" + leaf + "_" +
         std::to_string(getpid());
}

// Enrolled opens a fresh root with two registered servers.
tl_client_root* Enrolled(const char* leaf) {
  tl_client_root* root = nullptr;
  EXPECT_EQ(tl_client_root_new(&root), TL_OK);
  EXPECT_EQ(tl_client_root_open(root, NewRoot(leaf).c_str(), 1), TL_OK);
  for (const char* name : {"hsm1.test", "hsm2.test"}) {
    const std::string pem = ServerPem(name);
    tl_server_result* added = nullptr;
    EXPECT_EQ(tl_client_root_add_server(root, name, pem.data(), pem.size(), 0,
                                        TL_SERVER_HTL_KEEP, 0, &added),
              TL_OK)
        << RootError(root);
    tl_server_result_free(added);
  }
  return root;
}

TEST(HaConfigAbiTest, CreateAddListRemove) {
  tl_client_root* root = Enrolled("edit");
  ASSERT_EQ(tl_client_root_ha_create_group(root, "payments", "HSM1.test", "pA"),
            TL_OK)
      << RootError(root);
  ASSERT_EQ(
      tl_client_root_ha_add_member(root, "payments", "hsm2.test", "pA", 0),
      TL_OK)
      << RootError(root);
  ASSERT_EQ(
      tl_client_root_ha_add_member(root, "PAYMENTS", nullptr, "150518006", 1),
      TL_OK)
      << RootError(root);
  ASSERT_EQ(tl_client_root_ha_set_ha_only(root, 1), TL_OK);
  ASSERT_EQ(tl_client_root_ha_set_reconnect_interval(root, 30), TL_OK);
  EXPECT_EQ(tl_client_root_ha_set_reconnect_attempts(root, -2),
            TL_E_OUT_OF_RANGE);
  EXPECT_NE(RootError(root).find("-1 (for ever)"), std::string::npos);

  tl_ha_group_list* list = nullptr;
  ASSERT_EQ(tl_client_root_ha_list_groups(root, &list), TL_OK);
  ASSERT_EQ(tl_ha_group_list_count(list), 1u);
  const char* label = nullptr;
  ASSERT_EQ(tl_ha_group_list_label(list, 0, &label), TL_OK);
  EXPECT_STREQ(label, "payments");
  const char* serial = nullptr;
  ASSERT_EQ(tl_ha_group_list_serial(list, 0, &serial), TL_OK);
  EXPECT_EQ(std::strlen(serial), 12u);
  size_t members = 0;
  ASSERT_EQ(tl_ha_group_list_member_count(list, 0, &members), TL_OK);
  ASSERT_EQ(members, 3u);
  const char *server = nullptr, *partition = nullptr, *member_serial = nullptr;
  int32_t standby = -1;
  ASSERT_EQ(tl_ha_group_list_member(list, 0, 0, &server, &partition,
                                    &member_serial, &standby),
            TL_OK);
  EXPECT_STREQ(server, "hsm1.test");
  EXPECT_STREQ(partition, "pA");
  EXPECT_STREQ(member_serial, "");
  EXPECT_EQ(standby, 0);
  ASSERT_EQ(tl_ha_group_list_member(list, 0, 2, &server, &partition,
                                    &member_serial, &standby),
            TL_OK);
  EXPECT_STREQ(server, "");
  EXPECT_STREQ(member_serial, "150518006");
  EXPECT_EQ(standby, 1);
  // Out of range: the out-params stay as they were.
  EXPECT_EQ(tl_ha_group_list_member(list, 0, 3, &server, &partition,
                                    &member_serial, &standby),
            TL_E_OUT_OF_RANGE);
  EXPECT_EQ(standby, 1);
  EXPECT_EQ(trustlink::capi::testing::ThreadError(),
            "tl_ha_group_list_member: member 3 is out of range: HA group "
            "'payments' has 3 members");
  EXPECT_EQ(tl_ha_group_list_label(list, 1, &label), TL_E_OUT_OF_RANGE);
  EXPECT_EQ(trustlink::capi::testing::ThreadError(),
            "tl_ha_group_list_label: index 1 is out of range: the "
            "tl_ha_group_list has 1 HA group");
  int32_t ha_only = -1, interval = -1, attempts = 0;
  ASSERT_EQ(tl_ha_group_list_options(list, &ha_only, &interval, &attempts),
            TL_OK);
  EXPECT_EQ(ha_only, 1);
  EXPECT_EQ(interval, 30);
  EXPECT_EQ(attempts, -1);
  tl_ha_group_list_free(list);

  const char* config_path = nullptr;
  ASSERT_EQ(tl_client_root_config_path(root, &config_path), TL_OK);
  const std::string text = ReadText(config_path);
  EXPECT_NE(text.find("VirtualToken00Members = hsm1.test/pA,hsm2.test/pA;"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("VirtualToken00Standby = 150518006;"), std::string::npos)
      << text;
  EXPECT_NE(text.find("HAOnly = 1;"), std::string::npos) << text;

  ASSERT_EQ(
      tl_client_root_ha_remove_member(root, "payments", "hsm2.test", "pA"),
      TL_OK)
      << RootError(root);
  ASSERT_EQ(tl_client_root_ha_delete_group(root, "payments"), TL_OK);
  ASSERT_EQ(tl_client_root_ha_list_groups(root, &list), TL_OK);
  EXPECT_EQ(tl_ha_group_list_count(list), 0u);
  tl_ha_group_list_free(list);
  tl_client_root_free(root);
}

TEST(HaConfigAbiTest, RefusalsNameTheFixAndWriteNothing) {
  tl_client_root* root = Enrolled("refuse");
  ASSERT_EQ(tl_client_root_ha_create_group(root, "g", "hsm1.test", "pA"),
            TL_OK);
  const char* config_path = nullptr;
  ASSERT_EQ(tl_client_root_config_path(root, &config_path), TL_OK);
  const std::string before = ReadText(config_path);

  EXPECT_EQ(tl_client_root_ha_create_group(root, "G", "hsm2.test", "pA"),
            TL_E_ALREADY_EXISTS);
  EXPECT_NE(RootError(root).find("addMember"), std::string::npos);
  EXPECT_EQ(tl_client_root_ha_create_group(root, "h", "hsm9.test", "pA"),
            TL_E_NOT_FOUND);
  EXPECT_NE(RootError(root).find("vtl addServer"), std::string::npos)
      << RootError(root);
  EXPECT_EQ(tl_client_root_ha_create_group(root, "../h", "hsm1.test", "pA"),
            TL_E_NAME_INVALID);
  EXPECT_EQ(tl_client_root_ha_add_member(root, "nosuch", "hsm1.test", "pB", 0),
            TL_E_NOT_FOUND);
  EXPECT_NE(RootError(root).find("listGroups"), std::string::npos);
  EXPECT_EQ(tl_client_root_ha_add_member(root, "g", "hsm1.test", "p/B", 0),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(tl_client_root_ha_remove_member(root, "g", "hsm1.test", "pA"),
            TL_E_FAILED_PRECONDITION);
  EXPECT_NE(RootError(root).find("deleteGroup"), std::string::npos);
  EXPECT_EQ(tl_client_root_ha_add_member(root, "g", nullptr, nullptr, 0),
            TL_E_INVALID_ARGUMENT);
  // A server the group uses cannot be deleted.
  EXPECT_EQ(tl_client_root_delete_server(root, "hsm1.test"),
            TL_E_FAILED_PRECONDITION);
  EXPECT_NE(RootError(root).find("HA group 'g'"), std::string::npos)
      << RootError(root);
  EXPECT_EQ(ReadText(config_path), before);

  EXPECT_EQ(tl_client_root_ha_create_group(nullptr, "g", "h", "p"),
            TL_E_INVALID_ARGUMENT);
  tl_client_root* closed = nullptr;
  ASSERT_EQ(tl_client_root_new(&closed), TL_OK);
  EXPECT_EQ(tl_client_root_ha_set_ha_only(closed, 1), TL_E_FAILED_PRECONDITION);
  tl_ha_group_list* list = nullptr;
  EXPECT_EQ(tl_client_root_ha_list_groups(closed, &list),
            TL_E_FAILED_PRECONDITION);
  EXPECT_EQ(list, nullptr);
  tl_client_root_free(closed);
  tl_ha_group_list_free(nullptr);
  EXPECT_EQ(tl_ha_group_list_count(nullptr), 0u);
  tl_client_root_free(root);
}

}  // namespace
