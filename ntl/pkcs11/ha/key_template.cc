#include "ntl/pkcs11/ha/key_template.h"

namespace trustlink::ntl::pkcs11::ha {

const CK_ATTRIBUTE* FindAttr(const CK_ATTRIBUTE* t, CK_ULONG n,
                             CK_ATTRIBUTE_TYPE type) {
  for (CK_ULONG i = 0; i < n; ++i) {
    if (t[i].type == type) {
      return &t[i];
    }
  }
  return nullptr;
}

bool IsWrapped(CK_OBJECT_CLASS c) {
  return c == CKO_PRIVATE_KEY || c == CKO_SECRET_KEY;
}

namespace {

bool IsFalse(const CK_ATTRIBUTE* a) {
  return a != nullptr && a->pValue != nullptr && a->ulValueLen >= 1 &&
         *static_cast<const CK_BBOOL*>(a->pValue) == CK_FALSE;
}

}  // namespace

bool KeyTemplate(const CK_ATTRIBUTE* t, CK_ULONG n, const std::string& id,
                 std::vector<CK_ATTRIBUTE>* out, std::string* refusal) {
  static CK_BBOOL yes = CK_TRUE;
  out->assign(t, t + n);
  if (IsFalse(FindAttr(t, n, CKA_EXTRACTABLE))) {
    *refusal =
        "a key with CKA_EXTRACTABLE false cannot be copied to the other "
        "members of an HA group; give CKA_EXTRACTABLE true with "
        "CKA_WRAP_WITH_TRUSTED true (then only the group's cloning-domain key "
        "can wrap it), or make it outside the group";
    return false;
  }
  if (FindAttr(t, n, CKA_EXTRACTABLE) == nullptr) {
    out->push_back({CKA_EXTRACTABLE, &yes, sizeof(yes)});
  }
  if (FindAttr(t, n, CKA_WRAP_WITH_TRUSTED) == nullptr) {
    out->push_back({CKA_WRAP_WITH_TRUSTED, &yes, sizeof(yes)});
  }
  if (FindAttr(t, n, CKA_ID) == nullptr) {
    out->push_back({CKA_ID, const_cast<char*>(id.data()), id.size()});
  }
  return true;
}

}  // namespace trustlink::ntl::pkcs11::ha
