#include "ntl/pkcs11/ha/rpc_message.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::pkcs11::ha::rpc {
namespace {

using ::testing::HasSubstr;

std::string U32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
          static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string U64(uint64_t v) { return U32(v >> 32) + U32(v); }
std::string Sig(const std::string& s) { return U32(s.size()) + s; }

// A reply body as p11-kit's server writes it.
std::string Reply(Call call, const std::string& sig, const std::string& rest) {
  return U32(static_cast<uint32_t>(call)) + Sig(sig) + rest;
}

TEST(RpcMessageTest, LoginRequestIsWhatP11KitsServerReads) {
  Writer w(Call::kLogin);
  w.Ulong(7);
  w.Ulong(CKU_USER);
  w.ByteArray("1234", 4);
  EXPECT_EQ(w.bytes(), U32(18) + Sig("uuay") + U64(7) + U64(CKU_USER) +
                           std::string(1, '\1') + U32(4) + "1234");
  w.Wipe();
  EXPECT_TRUE(w.bytes().empty());
}

TEST(RpcMessageTest, AttributesAreEncodedByTheirType) {
  CK_BBOOL yes = CK_TRUE;
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  char label[] = "k";
  CK_ATTRIBUTE t[] = {{CKA_TOKEN, &yes, 1},
                      {CKA_CLASS, &cls, sizeof(cls)},
                      {CKA_LABEL, label, 1},
                      {CKA_ID, nullptr, 0}};
  Writer w(Call::kFindObjectsInit);
  std::string why;
  ASSERT_TRUE(w.Attributes(t, 4, &why)) << why;
  std::string want = U32(26) + Sig("uaA") + U32(4) +                  //
                     U32(CKA_TOKEN) + "\1" + U32(1) + "\1" +          //
                     U32(CKA_CLASS) + "\1" + U32(8) + U64(cls) +      //
                     U32(CKA_LABEL) + "\1" + U32(1) + U32(1) + "k" +  //
                     U32(CKA_ID) + "\1" + U32(0) + U32(0xffffffff);
  EXPECT_EQ(w.bytes(), want);
}

TEST(RpcMessageTest, AttributesThatDoNotFitTheirTypeAreRefused) {
  CK_ULONG two = 2;
  CK_ATTRIBUTE bad_bool[] = {{CKA_TOKEN, &two, sizeof(two)}};
  std::string why;
  Writer w(Call::kUnwrapKey);
  EXPECT_FALSE(w.Attributes(bad_bool, 1, &why));
  EXPECT_THAT(why, HasSubstr("is a CK_BBOOL but has 8 bytes"));
  CK_ATTRIBUTE nested[] = {{CKA_WRAP_TEMPLATE, nullptr, 0}};
  Writer w2(Call::kUnwrapKey);
  EXPECT_FALSE(w2.Attributes(nested, 1, &why));
  EXPECT_THAT(why, HasSubstr("nested template"));
}

TEST(RpcMessageTest, AWrapMechanismWithoutParameterSendsNone) {
  Writer w(Call::kWrapKey);
  w.Mechanism(CKM_AES_KEY_WRAP_PAD);
  EXPECT_EQ(w.bytes(), U32(60) + Sig("uMuufy") + U32(CKM_AES_KEY_WRAP_PAD) +
                           U32(0xffffffff));
}

TEST(RpcMessageTest, DecodesAHandleAndAnErrorAnswer) {
  CK_RV rv = 1;
  uint64_t h = 0;
  ASSERT_TRUE(DecodeUlong(Reply(Call::kOpenSession, "u", U64(42)),
                          Call::kOpenSession, &rv, &h)
                  .ok());
  EXPECT_EQ(rv, CKR_OK);
  EXPECT_EQ(h, 42u);
  ASSERT_TRUE(DecodeUlong(Reply(Call::kError, "u", U64(CKR_PIN_INCORRECT)),
                          Call::kOpenSession, &rv, &h)
                  .ok());
  EXPECT_EQ(rv, CKR_PIN_INCORRECT);
}

TEST(RpcMessageTest, MalformedRepliesSayWhatWasWrong) {
  CK_RV rv = 0;
  uint64_t h = 0;
  absl::Status s =
      DecodeUlong(Reply(Call::kLogin, "", ""), Call::kOpenSession, &rv, &h);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("reply to C_OpenSession is malformed: call id is 18"));
  s = DecodeUlong(Reply(Call::kOpenSession, "u", U32(1)), Call::kOpenSession,
                  &rv, &h);
  EXPECT_THAT(std::string(s.message()), HasSubstr("handle needs 4 bytes"));
  s = DecodeUlong(Reply(Call::kOpenSession, "y", U64(1)), Call::kOpenSession,
                  &rv, &h);
  EXPECT_THAT(std::string(s.message()), HasSubstr("signature is 'y'"));
  s = DecodeUlong(Reply(Call::kOpenSession, "u", U64(1) + "x"),
                  Call::kOpenSession, &rv, &h);
  EXPECT_THAT(std::string(s.message()), HasSubstr("1 bytes after its last"));
  s = DecodeEmpty(Reply(Call::kError, "u", U64(CKR_OK)), Call::kLogin, &rv);
  EXPECT_THAT(std::string(s.message()), HasSubstr("CKR_OK in an error"));
  s = DecodeEmpty(U32(18), Call::kLogin, &rv);
  EXPECT_THAT(std::string(s.message()), HasSubstr("signature needs 4 bytes"));
}

TEST(RpcMessageTest, ArrayCountsAreCheckedBeforeAnythingIsAllocated) {
  CK_RV rv = 0;
  std::vector<uint64_t> got;
  // 268 million handles announced in a 20-byte message.
  absl::Status s = DecodeUlongArray(
      Reply(Call::kFindObjects, "au", std::string(1, '\1') + U32(0x10000000)),
      Call::kFindObjects, 0xffffffff, &rv, &got);
  EXPECT_THAT(std::string(s.message()), HasSubstr("needs"));
  s = DecodeUlongArray(
      Reply(Call::kFindObjects, "au",
            std::string(1, '\1') + U32(3) + U64(1) + U64(2) + U64(3)),
      Call::kFindObjects, 2, &rv, &got);
  EXPECT_THAT(std::string(s.message()), HasSubstr("more than the 2 asked"));
  ASSERT_TRUE(
      DecodeUlongArray(Reply(Call::kFindObjects, "au",
                             std::string(1, '\1') + U32(2) + U64(5) + U64(6)),
                       Call::kFindObjects, 2, &rv, &got)
          .ok());
  EXPECT_EQ(got, (std::vector<uint64_t>{5, 6}));
  // No array: the server had more than we made room for.
  ASSERT_TRUE(DecodeUlongArray(Reply(Call::kGetSlotList, "au",
                                     std::string(1, '\0') + U32(9)),
                               Call::kGetSlotList, 2, &rv, &got)
                  .ok());
  EXPECT_EQ(rv, CKR_BUFFER_TOO_SMALL);
}

TEST(RpcMessageTest, WrappedKeyAndItsSizeQuery) {
  CK_RV rv = 0;
  std::string out;
  bool present = false;
  uint64_t len = 0;
  ASSERT_TRUE(DecodeWrapped(Reply(Call::kWrapKey, "ay",
                                  std::string(1, '\1') + U32(3) + "abc"),
                            100, &rv, &out, &present, &len)
                  .ok());
  EXPECT_TRUE(present);
  EXPECT_EQ(out, "abc");
  ASSERT_TRUE(DecodeWrapped(
                  Reply(Call::kWrapKey, "ay", std::string(1, '\0') + U32(9000)),
                  100, &rv, &out, &present, &len)
                  .ok());
  EXPECT_FALSE(present);
  EXPECT_EQ(len, 9000u);
  absl::Status s = DecodeWrapped(
      Reply(Call::kWrapKey, "ay", std::string(1, '\1') + U32(0x7ffffff0)), 100,
      &rv, &out, &present, &len);
  EXPECT_THAT(std::string(s.message()), HasSubstr("more than the 100"));
}

TEST(RpcMessageTest, TokenLabel) {
  std::string info = Sig(std::string(32, 'L')) + Sig(std::string(32, 'm')) +
                     Sig(std::string(16, 'o')) + Sig(std::string(16, 's'));
  for (int i = 0; i < 11; ++i) {
    info += U64(i);
  }
  info += std::string("\2\0\1\0", 4) + Sig(std::string(16, 't'));
  CK_RV rv = 1;
  std::string label;
  ASSERT_TRUE(
      DecodeTokenLabel(Reply(Call::kGetTokenInfo, "ssssuuuuuuuuuuuvvs", info),
                       &rv, &label)
          .ok());
  EXPECT_EQ(rv, CKR_OK);
  EXPECT_EQ(label, std::string(32, 'L'));
  absl::Status s = DecodeTokenLabel(
      Reply(Call::kGetTokenInfo, "ssssuuuuuuuuuuuvvs", Sig("short")), &rv,
      &label);
  EXPECT_THAT(std::string(s.message()), HasSubstr("label has 5 bytes, not 32"));
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11::ha::rpc
