#include "capi/internal/last_error.h"

#include <cstring>

namespace trustlink::capi::internal {
namespace {

// Truncate cuts `message` to fit TL_ERROR_MESSAGE_MAX with its NUL, never
// inside a UTF-8 sequence, so bindings that decode the message as UTF-8 do not
// fail on a cut character.
absl::string_view Truncate(absl::string_view message) {
  constexpr size_t kMax = TL_ERROR_MESSAGE_MAX - 1;
  if (message.size() <= kMax) {
    return message;
  }
  size_t end = kMax;
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xC0) == 0x80) {
    --end;
  }
  return message.substr(0, end);
}

}  // namespace

tl_status LastError::Record(const absl::Status& status) {
  ntl::internal::MutexLock lock(&mu_);
  message_ = std::string(Truncate(status.message()));
  return ntl::ToTlStatus(status);
}

tl_status LastError::Set(tl_status code, absl::string_view message) {
  ntl::internal::MutexLock lock(&mu_);
  message_ = std::string(Truncate(message));
  return code;
}

tl_status LastError::CopyTo(char* buf, size_t buf_len, size_t* out_len) const {
  if (buf == nullptr || out_len == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  ntl::internal::MutexLock lock(&mu_);
  if (buf_len <= message_.size()) {
    return TL_E_BUFFER_TOO_SMALL;
  }
  std::memcpy(buf, message_.data(), message_.size());
  buf[message_.size()] = '\0';
  *out_len = message_.size();
  return TL_OK;
}

tl_status CopyLastError(const Handle* handle, char* buf, size_t buf_len,
                        size_t* out_len) noexcept {
  if (handle == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return handle->last_error.CopyTo(buf, buf_len, out_len);
}

}  // namespace trustlink::capi::internal
