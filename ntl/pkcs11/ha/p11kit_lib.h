#ifndef TRUSTLINK_NTL_PKCS11_HA_P11KIT_LIB_H_
#define TRUSTLINK_NTL_PKCS11_HA_P11KIT_LIB_H_

// The few libp11-kit functions an HA group's bridge needs: loading the member
// modules from p11-kit's module configs and serving the virtual module on a
// pair of file descriptors. libp11-kit.so.0 is opened with dlopen when a group
// is served, so libtrustlink.so.1 gains no NEEDED entry (ADR 0003) and
// programs that never serve a group never load it.

#include <p11-kit/pkcs11.h>

#include "absl/status/statusor.h"

namespace trustlink::ntl::pkcs11::ha {

struct P11KitLib {
  CK_FUNCTION_LIST** (*modules_load)(const char* reserved, int flags);
  void (*modules_release)(CK_FUNCTION_LIST** modules);
  CK_FUNCTION_LIST* (*module_for_name)(CK_FUNCTION_LIST** modules,
                                       const char* name);
  CK_RV (*module_initialize)(CK_FUNCTION_LIST* module);
  CK_RV (*module_finalize)(CK_FUNCTION_LIST* module);
  char* (*config_option)(CK_FUNCTION_LIST* module, const char* option);
  int (*remote_serve_module)(CK_FUNCTION_LIST* module, int in_fd, int out_fd);
};

// LoadP11Kit opens libp11-kit.so.0 once per process (never closed: p11-kit
// keeps threads and state) and resolves the functions above.
absl::StatusOr<const P11KitLib*> LoadP11Kit();

// RvName returns the PKCS#11 name of rv ("CKR_DEVICE_ERROR"), or its number in
// hex.
const char* RvName(CK_RV rv);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_P11KIT_LIB_H_
