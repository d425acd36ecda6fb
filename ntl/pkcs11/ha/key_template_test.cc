#include "ntl/pkcs11/ha/key_template.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

CK_BBOOL True = CK_TRUE, False = CK_FALSE;

bool BoolOf(const std::vector<CK_ATTRIBUTE>& t, CK_ATTRIBUTE_TYPE type,
            bool* value) {
  const CK_ATTRIBUTE* a = FindAttr(t.data(), t.size(), type);
  if (a == nullptr) {
    return false;
  }
  *value = *static_cast<const CK_BBOOL*>(a->pValue) == CK_TRUE;
  return true;
}

TEST(KeyTemplateTest, AddsTheCloningDomainRulesAndAnIdWhenLeftOut) {
  CK_ATTRIBUTE in[] = {{CKA_SIGN, &True, 1}};
  std::vector<CK_ATTRIBUTE> out;
  std::string refusal, id = "abc";
  ASSERT_TRUE(KeyTemplate(in, 1, id, &out, &refusal));
  bool v = false;
  ASSERT_TRUE(BoolOf(out, CKA_EXTRACTABLE, &v));
  EXPECT_TRUE(v);
  ASSERT_TRUE(BoolOf(out, CKA_WRAP_WITH_TRUSTED, &v));
  EXPECT_TRUE(v);
  const CK_ATTRIBUTE* got = FindAttr(out.data(), out.size(), CKA_ID);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(std::string(static_cast<const char*>(got->pValue), got->ulValueLen),
            "abc");
}

TEST(KeyTemplateTest, KeepsWhatTheApplicationGave) {
  char app_id[] = "app";
  CK_ATTRIBUTE in[] = {{CKA_WRAP_WITH_TRUSTED, &False, 1},
                       {CKA_EXTRACTABLE, &True, 1},
                       {CKA_ID, app_id, 3}};
  std::vector<CK_ATTRIBUTE> out;
  std::string refusal;
  ASSERT_TRUE(KeyTemplate(in, 3, "other", &out, &refusal));
  EXPECT_EQ(out.size(), 3u);  // nothing added, nothing changed
  bool v = true;
  ASSERT_TRUE(BoolOf(out, CKA_WRAP_WITH_TRUSTED, &v));
  EXPECT_FALSE(v);
}

TEST(KeyTemplateTest, RefusesANonExtractableKeyInsteadOfWeakeningIt) {
  CK_ATTRIBUTE in[] = {{CKA_EXTRACTABLE, &False, 1}};
  std::vector<CK_ATTRIBUTE> out;
  std::string refusal;
  EXPECT_FALSE(KeyTemplate(in, 1, "id", &out, &refusal));
  EXPECT_NE(refusal.find("CKA_EXTRACTABLE false"), std::string::npos)
      << refusal;
  EXPECT_NE(refusal.find("CKA_WRAP_WITH_TRUSTED"), std::string::npos)
      << refusal;
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11::ha
