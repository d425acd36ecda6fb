// tl_last_error and tl_last_error_status: the calling thread's last failure
// (docs/adr/0005).
#include "capi/internal/last_error.h"
#include "trustlink/base.h"

extern "C" TL_EXPORT tl_status tl_last_error(char* buf, size_t buf_len,
                                             size_t* out_len) noexcept {
  return trustlink::capi::internal::CopyThreadError(buf, buf_len, out_len);
}

extern "C" TL_EXPORT tl_status tl_last_error_status(void) noexcept {
  return trustlink::capi::internal::ThreadErrorStatus();
}
