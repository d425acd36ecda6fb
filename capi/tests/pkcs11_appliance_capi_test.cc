// The appliance half of trustlink/pkcs11.h through the header only: the token
// store's life cycle and refusals, and the service's set-up refusals. Streams
// through the service are covered end to end in tests/pkcs11.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

std::string TokensError(const tl_p11_tokens* t) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  EXPECT_EQ(tl_p11_tokens_last_error(t, buf, sizeof(buf), &len), TL_OK);
  return std::string(buf, len);
}

std::string ServiceError(const tl_p11_service* s) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  EXPECT_EQ(tl_p11_service_last_error(s, buf, sizeof(buf), &len), TL_OK);
  return std::string(buf, len);
}

std::string FreshRoot(const char* name) {
  std::string root = absl::StrCat(getenv("TEST_TMPDIR"), "/", name, getpid());
  mkdir(root.c_str(), 0700);
  return root;
}

TEST(P11TokensTest, CreateFindRemove) {
  tl_p11_tokens* t = nullptr;
  ASSERT_EQ(tl_p11_tokens_new(&t), TL_OK);
  EXPECT_EQ(tl_p11_tokens_create(t, "p", "12345678", "87654321"),
            TL_E_FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(TokensError(t), "tl_p11_tokens_open"));
  const std::string root = FreshRoot("tokens");
  ASSERT_EQ(tl_p11_tokens_open(t, root.c_str()), TL_OK) << TokensError(t);

  EXPECT_EQ(tl_p11_tokens_create(t, "partA", "12", "87654321"),
            TL_E_INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(TokensError(t), "SO PIN")) << TokensError(t);
  EXPECT_EQ(tl_p11_tokens_create(t, "../evil", "12345678", "87654321"),
            TL_E_NAME_INVALID)
      << TokensError(t);

  ASSERT_EQ(tl_p11_tokens_create(t, "partA", "12345678", "87654321"), TL_OK)
      << TokensError(t);
  struct stat st;
  ASSERT_EQ(stat((root + "/pkcs11/partitions/partA/token.object").c_str(), &st),
            0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int32_t exists = 0;
  ASSERT_EQ(tl_p11_tokens_exists(t, "partA", &exists), TL_OK);
  EXPECT_EQ(exists, 1);
  EXPECT_EQ(tl_p11_tokens_create(t, "partA", "12345678", "87654321"),
            TL_E_ALREADY_EXISTS);
  EXPECT_TRUE(absl::StrContains(TokensError(t), "partA"));

  ASSERT_EQ(tl_p11_tokens_remove(t, "partA"), TL_OK) << TokensError(t);
  ASSERT_EQ(tl_p11_tokens_exists(t, "partA", &exists), TL_OK);
  EXPECT_EQ(exists, 0);
  EXPECT_EQ(tl_p11_tokens_remove(t, "partA"), TL_E_NOT_FOUND);
  tl_p11_tokens_free(t);
  tl_p11_tokens_free(nullptr);
}

TEST(P11ServiceTest, RefusesUseBeforeOpenAndASecondOpen) {
  tl_p11_service* s = nullptr;
  ASSERT_EQ(tl_p11_service_new(&s), TL_OK);
  const std::string root = FreshRoot("service");
  tl_server_options* o = nullptr;
  ASSERT_EQ(tl_server_options_new(&o), TL_OK);
  ASSERT_EQ(tl_server_options_set_root(o, root.c_str(), "127.0.0.1"), TL_OK);
  tl_server* server = nullptr;
  ASSERT_EQ(tl_server_new(o, &server), TL_OK);
  tl_server_options_free(o);
  EXPECT_EQ(tl_p11_service_add_to_server(s, server), TL_E_FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(ServiceError(s), "tl_p11_service_open"));
  EXPECT_EQ(tl_p11_service_add_to_server(s, nullptr), TL_E_INVALID_ARGUMENT);

  ASSERT_EQ(tl_p11_service_open(s, root.c_str()), TL_OK) << ServiceError(s);
  EXPECT_EQ(tl_p11_service_open(s, root.c_str()), TL_E_FAILED_PRECONDITION);
  ASSERT_EQ(tl_p11_service_add_to_server(s, server), TL_OK) << ServiceError(s);
  size_t live = 7, closed = 7;
  ASSERT_EQ(tl_p11_service_num_live(s, &live), TL_OK);
  EXPECT_EQ(live, 0u);
  ASSERT_EQ(tl_p11_service_close_partition(s, "partA", TL_E_CANCELLED, nullptr,
                                           &closed),
            TL_OK);
  EXPECT_EQ(closed, 0u);
  tl_server_free(server);
  tl_p11_service_free(s);
  tl_p11_service_free(nullptr);
}

}  // namespace
