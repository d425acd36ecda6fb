#ifndef TRUSTLINK_NTL_PKCS11_HA_KEY_TEMPLATE_H_
#define TRUSTLINK_NTL_PKCS11_HA_KEY_TEMPLATE_H_

// The rules for a private or secret key made in an HA group: it must be
// copyable to the other members under the cloning-domain key, and the
// application's attributes are never weakened to make it so.

#include <p11-kit/pkcs11.h>

#include <string>
#include <vector>

namespace trustlink::ntl::pkcs11::ha {

const CK_ATTRIBUTE* FindAttr(const CK_ATTRIBUTE* t, CK_ULONG n,
                             CK_ATTRIBUTE_TYPE type);

// IsWrapped: objects of class c (private and secret keys) go from member to
// member wrapped under the cloning-domain key, over the members' key-transfer
// streams; every other object is copied by its attributes.
bool IsWrapped(CK_OBJECT_CLASS c);

// KeyTemplate is the application's template for a private or secret key in a
// group: unchanged, plus CKA_WRAP_WITH_TRUSTED (only the cloning-domain key
// may wrap it) and CKA_EXTRACTABLE true when the application left them out,
// plus `id` as CKA_ID when it gave none. A key made non-extractable is
// refused (false, *refusal says why and what to do). `out` points into `t`
// and `id`, which must outlive it.
bool KeyTemplate(const CK_ATTRIBUTE* t, CK_ULONG n, const std::string& id,
                 std::vector<CK_ATTRIBUTE>* out, std::string* refusal);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_KEY_TEMPLATE_H_
