// The enrolment C ABI (identity.h, trust_store.h, client_config.h) through the
// public header only: results, per-handle error messages, out-params untouched
// on failure.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::RootError;
using trustlink::capi::testing::ServerPem;

std::string NewRoot(const char* leaf) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp ? tmp : "/tmp") + "/abi_" + leaf + "_" +
         std::to_string(getpid());
}

TEST(EnrolmentAbiTest, KeyTypes) {
  int32_t type = -1;
  EXPECT_EQ(tl_key_type_from_string("P-384", &type), TL_OK);
  EXPECT_EQ(type, TL_KEY_TYPE_ECDSA_P384);
  EXPECT_EQ(tl_key_type_from_string("dsa", &type), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(type, TL_KEY_TYPE_ECDSA_P384);  // Untouched on failure.
  EXPECT_STREQ(tl_key_type_name(TL_KEY_TYPE_ED25519), "ed25519");
  EXPECT_STREQ(tl_key_type_name(99), "unknown");
  EXPECT_EQ(tl_key_type_default(), TL_KEY_TYPE_ED25519);

  tl_identity_options* options = nullptr;
  ASSERT_EQ(tl_identity_options_new(&options), TL_OK);
  EXPECT_EQ(tl_identity_options_set_validity_days(options, 0),
            TL_E_INVALID_ARGUMENT);
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  ASSERT_EQ(tl_identity_options_last_error(options, buf, sizeof(buf), &len),
            TL_OK);
  EXPECT_NE(std::string(buf).find("20 years"), std::string::npos) << buf;
  tl_identity* identity = nullptr;
  EXPECT_EQ(tl_identity_create(options, "../x", &identity), TL_E_NAME_INVALID);
  EXPECT_EQ(identity, nullptr);
  tl_identity_options_free(options);
  tl_identity_options_free(nullptr);
  tl_identity_free(nullptr);
}

TEST(EnrolmentAbiTest, FingerprintMatchesIdentity) {
  std::string pem = ServerPem("hsm1");
  char fp[TL_FINGERPRINT_LEN + 1];
  ASSERT_EQ(tl_cert_fingerprint_pem(pem.data(), pem.size(), fp, sizeof(fp)),
            TL_OK);
  EXPECT_EQ(std::strlen(fp), static_cast<size_t>(TL_FINGERPRINT_LEN));
  char small[10];
  EXPECT_EQ(
      tl_cert_fingerprint_pem(pem.data(), pem.size(), small, sizeof(small)),
      TL_E_BUFFER_TOO_SMALL);
  EXPECT_EQ(tl_cert_fingerprint_pem("junk", 4, fp, sizeof(fp)),
            TL_E_CERT_INVALID);
}

TEST(EnrolmentAbiTest, ClientRootSteps) {
  tl_client_root* root = nullptr;
  ASSERT_EQ(tl_client_root_new(&root), TL_OK);
  tl_server_list* list = nullptr;
  EXPECT_EQ(tl_client_root_list_servers(root, &list), TL_E_FAILED_PRECONDITION);
  std::string path = NewRoot("steps");
  ASSERT_EQ(tl_client_root_open(root, path.c_str(), 1), TL_OK)
      << RootError(root);

  tl_cert_result* cert = nullptr;
  ASSERT_EQ(tl_client_root_create_cert(root, nullptr, "web1", 0, &cert), TL_OK);
  EXPECT_EQ(std::string(tl_cert_result_cert_path(cert)),
            path + "/cert/client/web1.pem");
  EXPECT_EQ(std::string(tl_cert_result_key_type(cert)), "Ed25519");
  EXPECT_GT(tl_cert_result_not_after(cert), 0);
  tl_cert_result_free(cert);
  cert = nullptr;
  EXPECT_EQ(tl_client_root_create_cert(root, nullptr, "web1", 0, &cert),
            TL_E_ALREADY_EXISTS);
  EXPECT_EQ(cert, nullptr);
  EXPECT_NE(RootError(root).find("force"), std::string::npos);

  std::string pem = ServerPem("hsm1");
  tl_server_result* added = nullptr;
  ASSERT_EQ(tl_client_root_add_server(root, "hsm1", pem.data(), pem.size(), 0,
                                      1, 0, &added),
            TL_OK)
      << RootError(root);
  EXPECT_STREQ(tl_server_result_name(added), "hsm1");
  EXPECT_EQ(tl_server_result_unchanged(added), 0);
  std::string fp = tl_server_result_fingerprint(added);
  tl_server_result_free(added);
  EXPECT_EQ(RootError(root), "");

  ASSERT_EQ(tl_client_root_list_servers(root, &list), TL_OK);
  ASSERT_EQ(tl_server_list_count(list), 1u);
  const char* name = nullptr;
  int32_t port = 0, htl = 0;
  ASSERT_EQ(tl_server_list_name(list, 0, &name), TL_OK);
  EXPECT_STREQ(name, "hsm1");
  ASSERT_EQ(tl_server_list_port(list, 0, &port), TL_OK);
  EXPECT_EQ(port, TL_DEFAULT_SERVER_PORT);
  ASSERT_EQ(tl_server_list_htl(list, 0, &htl), TL_OK);
  EXPECT_EQ(htl, 1);
  EXPECT_EQ(tl_server_list_name(list, 1, &name), TL_E_OUT_OF_RANGE);
  EXPECT_EQ(trustlink::capi::testing::ThreadError(),
            "tl_server_list_name: index 1 is out of range: the tl_server_list "
            "has 1 server");
  tl_server_list_free(list);

  tl_verify_report* report = nullptr;
  ASSERT_EQ(tl_client_root_verify(root, 0, &report), TL_OK);
  EXPECT_EQ(tl_verify_report_ok(report), 1);
  EXPECT_GT(tl_verify_report_check_count(report), 0u);
  tl_verify_report_free(report);
  report = nullptr;
  EXPECT_EQ(tl_client_root_verify(root, 0x40, &report), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(report, nullptr);
  ASSERT_EQ(tl_client_root_verify(root, TL_VERIFY_REPAIR, &report), TL_OK);
  tl_string_list* repairs = nullptr;
  ASSERT_EQ(tl_verify_report_repairs(report, &repairs), TL_OK);
  EXPECT_EQ(tl_string_list_count(repairs), 0u);  // Nothing needed repair.
  tl_string_list_free(repairs);
  tl_verify_report_free(report);

  // The trust store handle sees the same pinned certificate.
  tl_trust_store* store = nullptr;
  ASSERT_EQ(tl_trust_store_new(&store), TL_OK);
  ASSERT_EQ(tl_trust_store_open(store, path.c_str(), 0), TL_OK);
  tl_server_cert_list* pinned = nullptr;
  ASSERT_EQ(tl_trust_store_load_pinned(store, &pinned), TL_OK);
  ASSERT_EQ(tl_server_cert_list_count(pinned), 1u);
  const char* pinned_fp = nullptr;
  ASSERT_EQ(tl_server_cert_list_fingerprint(pinned, 0, &pinned_fp), TL_OK);
  EXPECT_EQ(fp, pinned_fp);
  const uint8_t* der = nullptr;
  size_t der_len = 0;
  ASSERT_EQ(tl_server_cert_list_der(pinned, 0, &der, &der_len), TL_OK);
  EXPECT_GT(der_len, 100u);
  tl_server_cert_list_free(pinned);
  EXPECT_EQ(tl_trust_store_check(store), TL_OK);
  EXPECT_EQ(tl_trust_store_remove_server(store, "nope"), TL_E_NOT_FOUND);
  tl_trust_store_free(store);

  EXPECT_EQ(tl_client_root_delete_server(root, "hsm1"), TL_OK);
  EXPECT_EQ(tl_client_root_delete_server(root, "hsm1"), TL_E_NOT_FOUND);
  tl_client_root_free(root);
  tl_client_root_free(nullptr);
}

TEST(EnrolmentAbiTest, DefaultPath) {
  char buf[256];
  size_t len = 0;
  setenv("TRUSTLINK_CLIENT_ROOT", "/srv/x", 1);
  ASSERT_EQ(tl_client_root_default_path(buf, sizeof(buf), &len), TL_OK);
  EXPECT_STREQ(buf, "/srv/x");
  EXPECT_EQ(len, 6u);
  unsetenv("TRUSTLINK_CLIENT_ROOT");
  ASSERT_EQ(tl_client_root_default_path(buf, sizeof(buf), &len), TL_OK);
  EXPECT_STREQ(buf, TL_CLIENT_ROOT_DEFAULT);
  EXPECT_EQ(tl_client_root_default_path(buf, 3, &len), TL_E_BUFFER_TOO_SMALL);
}

}  // namespace
