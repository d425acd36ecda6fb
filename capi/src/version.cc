// tl_version_number, tl_version_string and tl_error_message_max.
#include "trustlink/base.h"

extern "C" {

TL_EXPORT uint32_t tl_version_number(void) noexcept {
  return TL_VERSION_NUMBER;
}

TL_EXPORT const char* tl_version_string(void) noexcept {
  return TL_VERSION_STRING;
}

TL_EXPORT size_t tl_error_message_max(void) noexcept {
  return TL_ERROR_MESSAGE_MAX;
}

}  // extern "C"
