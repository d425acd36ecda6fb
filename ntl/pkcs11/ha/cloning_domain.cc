#include "ntl/pkcs11/ha/cloning_domain.h"

#include <cstring>

namespace trustlink::ntl::pkcs11::ha {

CK_RV FindCloningKey(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE ms,
                     CK_OBJECT_HANDLE* out, std::string* why) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE t[] = {
      {CKA_CLASS, &cls, sizeof(cls)},
      {CKA_LABEL, const_cast<char*>(kCloningKeyLabel),
       strlen(kCloningKeyLabel)},
      {CKA_TRUSTED, &yes, sizeof(yes)},
  };
  CK_RV rv = f->C_FindObjectsInit(ms, t, 3);
  if (rv != CKR_OK) {
    return rv;
  }
  CK_OBJECT_HANDLE got[2];
  CK_ULONG n = 0;
  rv = f->C_FindObjects(ms, got, 2, &n);
  CK_RV fin = f->C_FindObjectsFinal(ms);
  if (rv != CKR_OK || fin != CKR_OK) {
    return rv != CKR_OK ? rv : fin;
  }
  if (n != 1) {
    *why = n == 0 ? "the partition has no cloning-domain key (a trusted AES "
                    "key labelled trustlink-cloning-domain); make the "
                    "partition with ntlsh partition create -cloningdomain FILE"
                  : "the partition has two cloning-domain keys; keep one";
    return CKR_KEY_HANDLE_INVALID;
  }
  *out = got[0];
  return CKR_OK;
}

}  // namespace trustlink::ntl::pkcs11::ha
