#ifndef TRUSTLINK_CAPI_INTERNAL_LAST_ERROR_H_
#define TRUSTLINK_CAPI_INTERNAL_LAST_ERROR_H_

// The per-handle last-error pattern of trustlink.h, written once. Every handle
// struct derives from Handle, and its tl_T_last_error function comes from
// TL_DEFINE_LAST_ERROR(T). Calls on a handle go through Guard, which records
// the outcome and keeps C++ exceptions (only std::bad_alloc can occur) from
// crossing the C boundary.

#include <cstddef>
#include <new>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ntl/internal/mutex.h"
#include "ntl/status.h"
#include "trustlink/base.h"

namespace trustlink::capi::internal {

// LastError holds the message of a handle's most recent call.
// Thread safety: safe to use from many threads; the message is that of
// whichever call finished last.
class LastError {
 public:
  // Record keeps `status`'s message (or clears it on OK) and returns its public
  // code.
  tl_status Record(const absl::Status& status);
  // Set keeps `message` for a failure found in the C layer itself (a NULL
  // argument, say).
  tl_status Set(tl_status code, absl::string_view message);
  // CopyTo implements tl_T_last_error.
  tl_status CopyTo(char* buf, size_t buf_len, size_t* out_len) const;

 private:
  mutable ntl::internal::Mutex mu_;
  std::string message_ ABSL_GUARDED_BY(mu_);
};

// Handle is the base of every opaque handle struct.
struct Handle {
  LastError last_error;
};

// Guard runs `call` (returning absl::Status) and records its outcome on
// `error`.
template <typename Call>
tl_status Guard(LastError* error, Call&& call) noexcept {
  try {
    return error->Record(call());
  } catch (const std::bad_alloc&) {
    return error->Set(TL_E_NO_MEMORY, "out of memory");
  } catch (...) {
    return error->Set(TL_E_INTERNAL, "internal error: unexpected exception");
  }
}

// CopyLastError implements tl_T_last_error for a possibly NULL handle.
tl_status CopyLastError(const Handle* handle, char* buf, size_t buf_len,
                        size_t* out_len) noexcept;

}  // namespace trustlink::capi::internal

// TL_DEFINE_LAST_ERROR(tl_T) defines tl_T_last_error for a handle struct
// deriving from Handle.
#define TL_DEFINE_LAST_ERROR(T)                                               \
  extern "C" TL_EXPORT tl_status T##_last_error(                              \
      const T* handle, char* buf, size_t buf_len, size_t* out_len) noexcept { \
    return ::trustlink::capi::internal::CopyLastError(handle, buf, buf_len,   \
                                                      out_len);               \
  }

#endif  // TRUSTLINK_CAPI_INTERNAL_LAST_ERROR_H_
