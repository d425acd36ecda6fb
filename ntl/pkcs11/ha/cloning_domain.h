#ifndef TRUSTLINK_NTL_PKCS11_HA_CLONING_DOMAIN_H_
#define TRUSTLINK_NTL_PKCS11_HA_CLONING_DOMAIN_H_

// The cloning domain of an HA group: one AES-256 key, the same on every
// member token, made by the partition SO with CKA_TRUSTED true, so that keys
// with CKA_WRAP_WITH_TRUSTED can be wrapped by it and by no other key. It is
// found by its label.

#include <p11-kit/pkcs11.h>

#include <functional>
#include <string>
#include <vector>

namespace trustlink::ntl::pkcs11::ha {

inline constexpr char kCloningKeyLabel[] = "trustlink-cloning-domain";
// AES key wrap with padding (RFC 5649): wraps keys of any length.
inline constexpr CK_MECHANISM_TYPE kCloningWrapMechanism = CKM_AES_KEY_WRAP_PAD;
static_assert(kCloningWrapMechanism <= 0xffffffffu,
              "p11-kit sends mechanism types in 32 bits");

// FindCloningKey finds the cloning-domain key on the token of session ms.
// CKR_KEY_HANDLE_INVALID with *why when it has none (or more than one).
CK_RV FindCloningKey(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE ms,
                     CK_OBJECT_HANDLE* out, std::string* why);

// ObjectFinder returns at most `max` handles of the objects matching a
// template, through whatever reaches the token (key_transfer.h's stream).
using ObjectFinder =
    std::function<CK_RV(CK_ATTRIBUTE* tmpl, CK_ULONG count, size_t max,
                        std::vector<CK_OBJECT_HANDLE>* out)>;
CK_RV FindCloningKey(const ObjectFinder& find, CK_OBJECT_HANDLE* out,
                     std::string* why);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_CLONING_DOMAIN_H_
