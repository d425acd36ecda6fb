#ifndef TRUSTLINK_NTL_PKCS11_HA_WIPE_H_
#define TRUSTLINK_NTL_PKCS11_HA_WIPE_H_

// ZeroString: the one way the HA code forgets a secret it held in a string
// (the user PIN, a C_Login message on its way to a member's stream).

#include <string>

namespace trustlink::ntl::pkcs11::ha {

// ZeroString overwrites s's bytes through a volatile pointer, so the compiler
// cannot drop the stores as dead, and then clears s.
void ZeroString(std::string* s);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_WIPE_H_
