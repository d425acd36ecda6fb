#ifndef TRUSTLINK_NTL_PKCS11_HA_FUNCTION_LIST_H_
#define TRUSTLINK_NTL_PKCS11_HA_FUNCTION_LIST_H_

// The CK_FUNCTION_LIST of an HaModule. PKCS#11 entry points carry no context,
// so the list serves the one module installed with InstallHaModule; a
// process serves one group (the group's bridge). Calls are serialised by one
// lock: p11-kit's RPC server makes them one at a time anyway.

#include <p11-kit/pkcs11.h>

#include "ntl/pkcs11/ha/ha_module.h"

namespace trustlink::ntl::pkcs11::ha {

// InstallHaModule makes the function list call `module` (nullptr: none; every
// call then fails with CKR_CRYPTOKI_NOT_INITIALIZED) and returns the list.
CK_FUNCTION_LIST* InstallHaModule(HaModule* module);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_FUNCTION_LIST_H_
