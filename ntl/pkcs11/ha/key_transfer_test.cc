// KeyTransfer against the real server: `p11-kit remote` over SoftHSM2 tokens
// that share a cloning-domain key, as each appliance runs it for a stream.
#include "ntl/pkcs11/ha/key_transfer.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ntl/pkcs11/child.h"
#include "ntl/pkcs11/ha/test_util.h"
#include "ntl/pkcs11/token_store.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

using ::testing::HasSubstr;

constexpr char kSo[] = "12345678";
constexpr char kPin[] = "87654321";

class KeyTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = TestRoot();
    absl::StatusOr<TokenStore> store =
        ClonedTokens(root_, {"tA", "tB"}, kSo, kPin);
    ASSERT_TRUE(store.ok()) << store.status();
    conf_ = absl::StrCat("SOFTHSM2_CONF=", root_, "/softhsm2.conf");
    // An extractable AES key on tA, made by another program.
    ChildSpec gen;
    gen.path = kDefaultPkcs11Tool;
    gen.argv = {gen.path,
                "--module",
                kDefaultSoftHsmModule,
                "--token-label",
                "tA",
                "--login",
                "--pin",
                kPin,
                "--keygen",
                "--key-type",
                "AES:32",
                "--extractable",
                "--id",
                "01",
                "--label",
                "k"};
    gen.env = {conf_};
    absl::StatusOr<RunResult> r =
        RunToCompletion(gen, absl::Now() + absl::Seconds(30));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->wait_status, 0) << r->output;
  }

  // Open runs `p11-kit remote` for one token, as ntlsd does for a stream.
  CK_RV Open(const std::string& token, const std::string& pin,
             std::unique_ptr<KeyTransfer>* out, std::string* why,
             const std::string& label = "") {
    RpcStreamOptions o;
    o.argv = {"/usr/bin/p11-kit", "remote", "-p", kDefaultSoftHsmModule,
              "pkcs11:token=" + token};
    o.env = {conf_};
    o.module_name = "trustlink-test";
    o.peer = "test/" + token;
    return KeyTransfer::Open(std::move(o), label.empty() ? token : label,
                             CKU_USER, &pin, out, why);
  }

  std::string root_;
  std::string conf_;
};

TEST_F(KeyTransferTest, AKeyWrappedOnOneTokenIsUnwrappedOnTheOther) {
  std::unique_ptr<KeyTransfer> a, b;
  std::string why;
  ASSERT_EQ(Open("tA", kPin, &a, &why), CKR_OK) << why;
  ASSERT_EQ(Open("tB", kPin, &b, &why), CKR_OK) << why;
  std::string wrapped;
  ASSERT_EQ(a->Wrap(CKO_SECRET_KEY, "\x01", &wrapped, &why), CKR_OK) << why;
  EXPECT_EQ(wrapped.size(), 40u);  // RFC 5649: 32 bytes of key plus 8

  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_BBOOL yes = CK_TRUE;
  char id[] = "\x01";
  CK_ATTRIBUTE t[] = {
      {CKA_CLASS, &cls, sizeof(cls)},   {CKA_KEY_TYPE, &type, sizeof(type)},
      {CKA_TOKEN, &yes, sizeof(yes)},   {CKA_ID, id, 1},
      {CKA_ENCRYPT, &yes, sizeof(yes)}, {CKA_EXTRACTABLE, &yes, sizeof(yes)}};
  CK_OBJECT_HANDLE h = 0;
  ASSERT_EQ(b->Unwrap(wrapped, t, 6, &h, &why), CKR_OK) << why;
  std::vector<CK_OBJECT_HANDLE> found;
  ASSERT_EQ(b->Find(t, 4, 2, &found, &why), CKR_OK) << why;
  EXPECT_EQ(found, std::vector<CK_OBJECT_HANDLE>{h});
  // Key wrap is deterministic: the same bytes back means the same key.
  std::string again;
  ASSERT_EQ(b->Wrap(CKO_SECRET_KEY, "\x01", &again, &why), CKR_OK) << why;
  EXPECT_EQ(again, wrapped);

  ASSERT_EQ(b->Destroy(h, &why), CKR_OK) << why;
  ASSERT_EQ(b->Find(t, 4, 2, &found, &why), CKR_OK) << why;
  EXPECT_TRUE(found.empty());
}

TEST_F(KeyTransferTest, RefusalsNameTheCallAndTheMember) {
  std::unique_ptr<KeyTransfer> t;
  std::string why;
  EXPECT_EQ(Open("tB", "00000000", &t, &why), CKR_PIN_INCORRECT);
  EXPECT_THAT(why, HasSubstr("C_Login on test/tB answered CKR_PIN_INCORRECT"));
  EXPECT_EQ(Open("tB", kPin, &t, &why, "other"), CKR_TOKEN_NOT_PRESENT);
  EXPECT_THAT(why, HasSubstr("serves no token labelled 'other'"));
  ASSERT_EQ(Open("tB", kPin, &t, &why), CKR_OK) << why;
  std::string wrapped;
  EXPECT_EQ(t->Wrap(CKO_SECRET_KEY, "\x01", &wrapped, &why),
            CKR_KEY_HANDLE_INVALID);
  EXPECT_THAT(why, HasSubstr("test/tB has no key of class CKO_SECRET_KEY "
                             "with CKA_ID 01"));
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11::ha
