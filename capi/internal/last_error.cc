#include "capi/internal/last_error.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace trustlink::capi::internal {
namespace {

// The calling thread's last failure. Plain arrays rather than std::string: a
// thread_local with a destructor would pin the library in memory after
// dlclose for as long as any thread that used it lives.
struct ThreadError {
  tl_status code;
  size_t len;
  char message[TL_ERROR_MESSAGE_MAX];
};
thread_local ThreadError t_error;

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

void KeepThreadError(tl_status code, absl::string_view message) {
  const absl::string_view cut = Truncate(message);
  t_error.code = code;
  t_error.len = cut.size();
  std::memcpy(t_error.message, cut.data(), cut.size());
  t_error.message[cut.size()] = '\0';
}

}  // namespace

tl_status RecordThreadError(const absl::Status& status) noexcept {
  const tl_status code = ntl::ToTlStatus(status);
  if (code != TL_OK) {
    KeepThreadError(code, status.message());
  }
  return code;
}

tl_status SetThreadError(tl_status code, absl::string_view message) noexcept {
  if (code != TL_OK) {
    KeepThreadError(code, message);
  }
  return code;
}

tl_status CopyThreadError(char* buf, size_t buf_len, size_t* out_len) noexcept {
  if (out_len == nullptr || (buf == nullptr && buf_len != 0)) {
    return TL_E_INVALID_ARGUMENT;
  }
  if (buf_len <= t_error.len) {
    *out_len = t_error.len + 1;
    return TL_E_BUFFER_TOO_SMALL;
  }
  std::memcpy(buf, t_error.message, t_error.len);
  buf[t_error.len] = '\0';
  *out_len = t_error.len;
  return TL_OK;
}

tl_status ThreadErrorStatus() noexcept { return t_error.code; }

tl_status ArgumentError(LastError* handle_error, const char* function,
                        absl::string_view what, tl_status code) noexcept {
  try {
    const std::string message = absl::StrCat(function, ": ", what);
    SetThreadError(code, message);
    if (handle_error != nullptr) {
      handle_error->Set(code, message);
    }
  } catch (...) {
    SetThreadError(code, what);
  }
  return code;
}

tl_status ArgumentError(const char* function, absl::string_view what,
                        tl_status code) noexcept {
  return ArgumentError(nullptr, function, what, code);
}

absl::Status NullArgument(absl::string_view what) {
  return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                    absl::StrCat(what, " is NULL"));
}

tl_status CopyString(const char* function, absl::string_view text, char* buf,
                     size_t buf_len, size_t* out_len) noexcept {
  if (out_len == nullptr) {
    return ArgumentError(function, "out_len is NULL");
  }
  if (buf == nullptr && buf_len != 0) {
    return ArgumentError(function, "buf is NULL but buf_len is not 0");
  }
  if (buf_len <= text.size()) {
    *out_len = text.size() + 1;
    try {
      return SetThreadError(
          TL_E_BUFFER_TOO_SMALL,
          absl::StrCat(function, ": a buffer of ", text.size() + 1,
                       " bytes is needed, ", buf_len, " were given"));
    } catch (...) {
      return SetThreadError(TL_E_BUFFER_TOO_SMALL, "buffer too small");
    }
  }
  if (!text.empty()) {
    // An empty string_view may have a null data(), which memcpy must not get.
    std::memcpy(buf, text.data(), text.size());
  }
  buf[text.size()] = '\0';
  *out_len = text.size();
  return TL_OK;
}

std::string OutOfRangeMessage(absl::string_view index_name, size_t index,
                              absl::string_view holder, size_t count,
                              absl::string_view noun) {
  const char* plural = count == 1 ? "" : absl::EndsWith(noun, "s") ? "es" : "s";
  return absl::StrCat(index_name, " ", index, " is out of range: ", holder,
                      " has ", count, " ", noun, plural);
}

tl_status IndexOutOfRange(const char* function, absl::string_view index_name,
                          size_t index, absl::string_view holder, size_t count,
                          absl::string_view noun, tl_status code) noexcept {
  try {
    return ArgumentError(
        function, OutOfRangeMessage(index_name, index, holder, count, noun),
        code);
  } catch (...) {
    return ArgumentError(function, "index is out of range", code);
  }
}

absl::Status OutOfRangeError(absl::string_view index_name, size_t index,
                             absl::string_view holder, size_t count,
                             absl::string_view noun) {
  return ntl::Error(absl::StatusCode::kOutOfRange, TL_E_OUT_OF_RANGE,
                    OutOfRangeMessage(index_name, index, holder, count, noun));
}

tl_status StringAt(const char* function, const std::vector<std::string>* items,
                   const char* handle_type, absl::string_view noun,
                   size_t index, const char** out) noexcept {
  if (items == nullptr) {
    try {
      return ArgumentError(
          function, absl::StrCat("the ", handle_type, " handle is NULL"));
    } catch (...) {
      return ArgumentError(function, "the handle is NULL");
    }
  }
  if (out == nullptr) {
    return ArgumentError(function, "out is NULL");
  }
  if (index >= items->size()) {
    try {
      return IndexOutOfRange(function, "index", index,
                             absl::StrCat("the ", handle_type), items->size(),
                             noun);
    } catch (...) {
      return ArgumentError(function, "index is out of range",
                           TL_E_OUT_OF_RANGE);
    }
  }
  *out = (*items)[index].c_str();
  return TL_OK;
}

tl_status LastError::Record(const absl::Status& status) {
  RecordThreadError(status);
  ntl::internal::MutexLock lock(&mu_);
  message_ = std::string(Truncate(status.message()));
  return ntl::ToTlStatus(status);
}

tl_status LastError::Set(tl_status code, absl::string_view message) {
  SetThreadError(code, message);
  ntl::internal::MutexLock lock(&mu_);
  message_ = std::string(Truncate(message));
  return code;
}

tl_status LastError::CopyTo(char* buf, size_t buf_len, size_t* out_len) const {
  // Reading an error never records one: it would replace what it reads.
  if (out_len == nullptr || (buf == nullptr && buf_len != 0)) {
    return TL_E_INVALID_ARGUMENT;
  }
  ntl::internal::MutexLock lock(&mu_);
  if (buf_len <= message_.size()) {
    *out_len = message_.size() + 1;
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
