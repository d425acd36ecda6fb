#include "ntl/pkcs11/ha/cloning_domain.h"

#include <cstring>
#include <vector>

#include "ntl/pkcs11/ha/member.h"

namespace trustlink::ntl::pkcs11::ha {

CK_RV FindCloningKey(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE ms,
                     CK_OBJECT_HANDLE* out, std::string* why) {
  return FindCloningKey(
      [&](CK_ATTRIBUTE* t, CK_ULONG n, size_t max,
          std::vector<CK_OBJECT_HANDLE>* got) {
        return FindAll(f, ms, t, n, got, max);
      },
      out, why);
}

CK_RV FindCloningKey(const ObjectFinder& find, CK_OBJECT_HANDLE* out,
                     std::string* why) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE t[] = {
      {CKA_CLASS, &cls, sizeof(cls)},
      {CKA_LABEL, const_cast<char*>(kCloningKeyLabel),
       strlen(kCloningKeyLabel)},
      {CKA_TRUSTED, &yes, sizeof(yes)},
  };
  std::vector<CK_OBJECT_HANDLE> got;
  if (CK_RV rv = find(t, 3, 2, &got); rv != CKR_OK) {
    return rv;
  }
  if (got.size() != 1) {
    *why = got.empty()
               ? "the partition has no cloning-domain key (a trusted AES "
                 "key labelled trustlink-cloning-domain); make the "
                 "partition with ntlsh partition create -cloningdomain FILE"
               : "the partition has two cloning-domain keys; keep one";
    return CKR_KEY_HANDLE_INVALID;
  }
  *out = got[0];
  return CKR_OK;
}

}  // namespace trustlink::ntl::pkcs11::ha
