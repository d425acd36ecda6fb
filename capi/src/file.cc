// The C ABI of trustlink/file.h over //ntl/internal:bounded_read.
#include "trustlink/file.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "ntl/internal/bounded_read.h"
#include "ntl/status.h"

namespace ntl = trustlink::ntl;

namespace {

void CopyMessage(absl::string_view text, char* msg, size_t msg_len) {
  if (msg == nullptr || msg_len == 0) return;
  size_t n = std::min(text.size(), msg_len - 1);
  std::memcpy(msg, text.data(), n);
  msg[n] = '\0';
}

}  // namespace

extern "C" {

TL_EXPORT size_t tl_max_pem_file_len(void) noexcept {
  return TL_MAX_PEM_FILE_LEN;
}

TL_EXPORT tl_status tl_file_read(const char* path, int32_t flags, char* buf,
                                 size_t buf_len, size_t* out_len, char* msg,
                                 size_t msg_len) noexcept {
  if (path == nullptr || (buf == nullptr && buf_len > 0) ||
      out_len == nullptr ||
      (flags & ~(TL_FILE_NOFOLLOW | TL_FILE_PRIVATE_KEY)) != 0) {
    CopyMessage(
        "tl_file_read: path, buf and out_len must not be NULL, and "
        "flags must be 0, TL_FILE_NOFOLLOW or TL_FILE_PRIVATE_KEY",
        msg, msg_len);
    return TL_E_INVALID_ARGUMENT;
  }
  try {
    absl::StatusOr<std::string> contents = ntl::internal::ReadBoundedFile(
        path, buf_len, (flags & TL_FILE_NOFOLLOW) != 0,
        (flags & TL_FILE_PRIVATE_KEY) != 0);
    if (!contents.ok()) {
      CopyMessage(contents.status().message(), msg, msg_len);
      return ntl::ToTlStatus(contents.status());
    }
    if (!contents->empty())
      std::memcpy(buf, contents->data(), contents->size());
    *out_len = contents->size();
    return TL_OK;
  } catch (...) {
    CopyMessage("out of memory", msg, msg_len);
    return TL_E_NO_MEMORY;
  }
}

}  // extern "C"
