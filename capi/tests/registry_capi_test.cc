// The appliance registry through the C ABI only (trustlink/trustlink.h), as
// ntlsh and language bindings use it.
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <cctype>
#include <string>

#include "gtest/gtest.h"
#include "ntl/registry/test_util.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::ntl::registry::testing::ClientCertPem;
using trustlink::ntl::registry::testing::FreshRoot;

std::string LastError(const tl_registry* reg) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  EXPECT_EQ(tl_registry_last_error(reg, buf, sizeof(buf), &len), TL_OK);
  return std::string(buf, len);
}

class RegistryCapiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = FreshRoot("capi");
    ASSERT_EQ(tl_registry_open(root_.c_str(), TL_REGISTRY_OPEN_CREATE, &reg_),
              TL_OK);
  }
  void TearDown() override { tl_registry_free(reg_); }

  tl_status Register(const char* label, const char* ip, tl_client_info** out) {
    tl_client_registration* r = nullptr;
    EXPECT_EQ(tl_client_registration_new(&r), TL_OK);
    std::string pem = ClientCertPem(ip);
    tl_client_registration_set_label(r, label);
    tl_client_registration_set_ip(r, ip);
    tl_client_registration_set_certificate_pem(r, pem.c_str());
    tl_status st = tl_registry_register_client(reg_, r, out);
    tl_client_registration_free(r);
    return st;
  }

  std::string root_;
  tl_registry* reg_ = nullptr;
};

TEST(RegistryCapiOpenTest, MissingRootFailsWithAMessageOnTheHandle) {
  std::string root = FreshRoot("capi_missing");
  tl_registry* reg = nullptr;
  EXPECT_EQ(tl_registry_open(root.c_str(), TL_REGISTRY_OPEN_EXISTING, &reg),
            TL_E_NOT_FOUND);
  ASSERT_NE(reg, nullptr);
  EXPECT_NE(LastError(reg).find(root), std::string::npos);
  uint64_t g = 0;
  EXPECT_EQ(tl_registry_generation(reg, &g), TL_E_FAILED_PRECONDITION);
  tl_registry_free(reg);
  tl_registry_free(nullptr);
  EXPECT_EQ(tl_registry_open(root.c_str(), 0, nullptr), TL_E_INVALID_ARGUMENT);
}

// tl_registry_load keeps trustlink.h's rule that tl_registry_open breaks:
// nothing is written to *out on failure, and the message is the thread's.
TEST(RegistryCapiOpenTest, LoadWritesOutOnlyOnSuccess) {
  std::string root = FreshRoot("capi_load");
  tl_registry* reg = nullptr;
  EXPECT_EQ(tl_registry_load(root.c_str(), TL_REGISTRY_OPEN_EXISTING, &reg),
            TL_E_NOT_FOUND);
  EXPECT_EQ(reg, nullptr);
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  ASSERT_EQ(tl_last_error(buf, sizeof(buf), &len), TL_OK);
  EXPECT_NE(std::string(buf, len).find(root), std::string::npos) << buf;
  ASSERT_EQ(tl_registry_load(root.c_str(), TL_REGISTRY_OPEN_CREATE, &reg),
            TL_OK);
  ASSERT_NE(reg, nullptr);
  uint64_t g = 0;
  EXPECT_EQ(tl_registry_generation(reg, &g), TL_OK);
  tl_registry_free(reg);
  EXPECT_EQ(tl_registry_load(root.c_str(), 0, nullptr), TL_E_INVALID_ARGUMENT);
}

TEST(RegistryCapiOpenTest, DefaultRootFollowsTheEnvironment) {
  char buf[4096];
  size_t len = 0;
  setenv(TL_APPLIANCE_ROOT_ENV, "/srv/appliance", 1);
  ASSERT_EQ(tl_appliance_default_root(buf, sizeof(buf), &len), TL_OK);
  EXPECT_EQ(std::string(buf, len), "/srv/appliance");
  unsetenv(TL_APPLIANCE_ROOT_ENV);
  ASSERT_EQ(tl_appliance_default_root(buf, sizeof(buf), &len), TL_OK);
  EXPECT_EQ(std::string(buf, len), TL_APPLIANCE_DEFAULT_ROOT);
  EXPECT_EQ(tl_appliance_default_root(buf, 3, &len), TL_E_BUFFER_TOO_SMALL);
}

TEST_F(RegistryCapiTest, RegistersListsAndFindsByFingerprint) {
  tl_client_info* info = nullptr;
  ASSERT_EQ(Register("db", "10.1.1.1", &info), TL_OK) << LastError(reg_);
  std::string fp = tl_client_info_fingerprint(info);
  EXPECT_EQ(tl_client_info_name_kind(info), TL_NAME_IPV4);
  EXPECT_EQ(tl_client_info_effective_ott_expiry(info), 300);
  tl_client_info_free(info);

  // Any case, colons optional.
  std::string loose;
  for (char c : fp) {
    if (c != ':') loose.push_back(static_cast<char>(std::tolower(c)));
  }
  tl_client_info* found = nullptr;
  ASSERT_EQ(tl_registry_find_client_by_fingerprint(reg_, loose.c_str(), &found),
            TL_OK);
  EXPECT_STREQ(tl_client_info_label(found), "db");
  tl_client_info_free(found);
  EXPECT_EQ(tl_registry_find_client_by_fingerprint(
                reg_, std::string(64, '0').c_str(), &found),
            TL_E_NOT_REGISTERED);

  EXPECT_EQ(Register("db2", "10.1.1.1", nullptr), TL_E_ALREADY_EXISTS);
  EXPECT_NE(LastError(reg_).find("'db'"), std::string::npos);

  tl_client_list* list = nullptr;
  ASSERT_EQ(tl_registry_list_clients(reg_, &list), TL_OK);
  ASSERT_EQ(tl_client_list_count(list), 1u);
  EXPECT_STREQ(tl_client_info_name(tl_client_list_get(list, 0)), "10.1.1.1");
  EXPECT_EQ(tl_client_list_get(list, 1), nullptr);
  tl_client_list_free(list);
}

TEST_F(RegistryCapiTest, RegistrationNeedsANameAndACertificate) {
  tl_client_registration* r = nullptr;
  ASSERT_EQ(tl_client_registration_new(&r), TL_OK);
  tl_client_registration_set_label(r, "x");
  EXPECT_EQ(tl_registry_register_client(reg_, r, nullptr),
            TL_E_INVALID_ARGUMENT);
  EXPECT_NE(LastError(reg_).find("hostname or an IP"), std::string::npos);
  tl_client_registration_set_hostname(r, "x.example");
  EXPECT_EQ(tl_registry_register_client(reg_, r, nullptr),
            TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(tl_client_registration_set_label(r, nullptr),
            TL_E_INVALID_ARGUMENT);
  tl_client_registration_free(r);
}

TEST_F(RegistryCapiTest, PartitionsAssignmentsAndForcedDelete) {
  ASSERT_EQ(Register("a", "10.2.0.1", nullptr), TL_OK);
  tl_partition_info* p = nullptr;
  ASSERT_EQ(tl_registry_create_partition(reg_, "par1", "label", nullptr, &p),
            TL_OK);
  EXPECT_STREQ(tl_partition_info_serial(p), "1000001");
  tl_partition_info_free(p);
  tl_client_info* info = nullptr;
  ASSERT_EQ(tl_registry_assign_partition(reg_, "a", "par1", &info), TL_OK);
  EXPECT_EQ(tl_client_info_changed(info), 1);
  tl_client_info_free(info);
  ASSERT_EQ(tl_registry_assign_partition(reg_, "a", "par1", &info), TL_OK);
  EXPECT_EQ(tl_client_info_changed(info), 0);
  EXPECT_EQ(tl_client_info_num_warnings(info), 1u);
  tl_client_info_free(info);
  EXPECT_EQ(tl_registry_delete_partition(reg_, "par1", 0, nullptr),
            TL_E_FAILED_PRECONDITION);
  ASSERT_EQ(tl_registry_delete_partition(reg_, "par1", 1, &p), TL_OK);
  ASSERT_EQ(tl_partition_info_num_clients(p), 1u);
  EXPECT_STREQ(tl_partition_info_client(p, 0), "a");
  tl_partition_info_free(p);
}

TEST_F(RegistryCapiTest, SettingsPatchChangesOnlyWhatWasSet) {
  tl_appliance_settings* patch = nullptr;
  ASSERT_EQ(tl_appliance_settings_new(&patch), TL_OK);
  tl_appliance_settings_set_keepalive_idle(patch, 42);
  tl_appliance_settings* now = nullptr;
  ASSERT_EQ(tl_registry_update_settings(reg_, patch, &now), TL_OK)
      << LastError(reg_);
  EXPECT_EQ(tl_appliance_settings_keepalive_idle(now), 42);
  EXPECT_EQ(tl_appliance_settings_port(now), 1792);
  EXPECT_EQ(tl_appliance_settings_htl_grace_period(now), 60);
  tl_appliance_settings_free(now);
  tl_appliance_settings_set_port(patch, 0);
  EXPECT_EQ(tl_registry_update_settings(reg_, patch, nullptr),
            TL_E_OUT_OF_RANGE);
  EXPECT_NE(LastError(reg_).find("port"), std::string::npos);
  EXPECT_EQ(tl_appliance_settings_set_bind_address(patch, "not an address"),
            TL_E_NAME_INVALID);
  tl_appliance_settings_free(patch);
}

TEST_F(RegistryCapiTest, ServerIdentityOverlap) {
  tl_server_identity* id = nullptr;
  EXPECT_EQ(tl_registry_load_server_identity(reg_, &id), TL_E_NOT_FOUND);
  ASSERT_EQ(tl_registry_ensure_server_identity(reg_, "hsm1", "p256", &id),
            TL_OK)
      << LastError(reg_);
  std::string first = tl_server_identity_fingerprint(id, 0);
  tl_server_identity_free(id);
  ASSERT_EQ(
      tl_registry_regenerate_server_certificate(reg_, nullptr, nullptr, &id),
      TL_OK);
  ASSERT_EQ(tl_server_identity_num_certificates(id), 2u);
  EXPECT_EQ(first, tl_server_identity_fingerprint(id, 1));
  EXPECT_STREQ(tl_server_identity_subject(id, 0), "hsm1");
  tl_server_identity_free(id);
  int32_t dropped = 0;
  ASSERT_EQ(tl_registry_drop_old_server_certificates(reg_, &dropped), TL_OK);
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(
      tl_registry_regenerate_server_certificate(reg_, nullptr, "dsa", &id),
      TL_E_INVALID_ARGUMENT);
}

TEST_F(RegistryCapiTest, WatchFdWakesAnotherHandle) {
  tl_registry* server = nullptr;
  ASSERT_EQ(tl_registry_open(root_.c_str(), TL_REGISTRY_OPEN_EXISTING, &server),
            TL_OK);
  int32_t fd = -1;
  ASSERT_EQ(tl_registry_watch_fd(server, &fd), TL_OK);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(Register("w", "10.3.0.1", nullptr), TL_OK);
  pollfd pfd{fd, POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 10000), 1);
  ASSERT_EQ(tl_registry_refresh(server), TL_OK);
  tl_client_info* info = nullptr;
  EXPECT_EQ(tl_registry_get_client(server, "w", &info), TL_OK);
  tl_client_info_free(info);
  uint64_t a = 0, b = 0;
  tl_registry_generation(server, &a);
  tl_registry_generation(reg_, &b);
  EXPECT_EQ(a, b);
  tl_registry_free(server);
}

}  // namespace
