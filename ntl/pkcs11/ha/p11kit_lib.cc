#include "ntl/pkcs11/ha/p11kit_lib.h"

#include <dlfcn.h>
#include <stdio.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

template <typename T>
bool Resolve(void* handle, const char* name, T* out) {
  *out = reinterpret_cast<T>(dlsym(handle, name));
  return *out != nullptr;
}

absl::StatusOr<const P11KitLib*> Open() {
  void* h = dlopen("libp11-kit.so.0", RTLD_NOW | RTLD_GLOBAL);
  if (h == nullptr) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 TL_E_FAILED_PRECONDITION,
                 absl::StrCat("cannot load libp11-kit.so.0 (", dlerror(),
                              "); install the libp11-kit0 package"));
  }
  static P11KitLib lib;
  bool ok = Resolve(h, "p11_kit_modules_load", &lib.modules_load) &&
            Resolve(h, "p11_kit_modules_release", &lib.modules_release) &&
            Resolve(h, "p11_kit_module_for_name", &lib.module_for_name) &&
            Resolve(h, "p11_kit_module_initialize", &lib.module_initialize) &&
            Resolve(h, "p11_kit_module_finalize", &lib.module_finalize) &&
            Resolve(h, "p11_kit_config_option", &lib.config_option) &&
            Resolve(h, "p11_kit_remote_serve_module", &lib.remote_serve_module);
  if (!ok) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 TL_E_FAILED_PRECONDITION,
                 "libp11-kit.so.0 lacks p11_kit_remote_serve_module or the "
                 "module functions; p11-kit 0.23.14 or later is needed");
  }
  return &lib;
}

}  // namespace

absl::StatusOr<const P11KitLib*> LoadP11Kit() {
  static std::once_flag once;
  static absl::StatusOr<const P11KitLib*>* result;
  std::call_once(once,
                 [] { result = new absl::StatusOr<const P11KitLib*>(Open()); });
  return *result;
}

const char* RvName(CK_RV rv) {
  switch (rv) {
#define TL_RV(x) \
  case x:        \
    return #x;
    TL_RV(CKR_OK)
    TL_RV(CKR_GENERAL_ERROR)
    TL_RV(CKR_HOST_MEMORY)
    TL_RV(CKR_ARGUMENTS_BAD)
    TL_RV(CKR_DEVICE_ERROR)
    TL_RV(CKR_DEVICE_REMOVED)
    TL_RV(CKR_TOKEN_NOT_PRESENT)
    TL_RV(CKR_TOKEN_NOT_RECOGNIZED)
    TL_RV(CKR_SESSION_HANDLE_INVALID)
    TL_RV(CKR_OBJECT_HANDLE_INVALID)
    TL_RV(CKR_KEY_HANDLE_INVALID)
    TL_RV(CKR_PIN_INCORRECT)
    TL_RV(CKR_USER_NOT_LOGGED_IN)
    TL_RV(CKR_USER_ALREADY_LOGGED_IN)
    TL_RV(CKR_CRYPTOKI_NOT_INITIALIZED)
    TL_RV(CKR_CRYPTOKI_ALREADY_INITIALIZED)
    TL_RV(CKR_OPERATION_NOT_INITIALIZED)
    TL_RV(CKR_OPERATION_ACTIVE)
    TL_RV(CKR_KEY_UNEXTRACTABLE)
    TL_RV(CKR_KEY_NOT_WRAPPABLE)
    TL_RV(CKR_TEMPLATE_INCONSISTENT)
    TL_RV(CKR_FUNCTION_NOT_SUPPORTED)
#undef TL_RV
    default: {
      static thread_local char buf[32];
      snprintf(buf, sizeof(buf), "0x%lx", static_cast<unsigned long>(rv));
      return buf;
    }
  }
}

}  // namespace trustlink::ntl::pkcs11::ha
