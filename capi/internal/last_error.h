#ifndef TRUSTLINK_CAPI_INTERNAL_LAST_ERROR_H_
#define TRUSTLINK_CAPI_INTERNAL_LAST_ERROR_H_

// The error channels of trustlink.h, written once (docs/adr/0005):
// - the calling thread's last failure, read by tl_last_error: every failure
//   recorded here, by Guard or by the helpers below, lands there too, so a
//   failing call's message is that call's whatever other threads do;
// - the per-handle last error (tl_T_last_error): every handle struct derives
//   from Handle, and its getter comes from TL_DEFINE_LAST_ERROR(T).
// Calls on a handle go through Guard, which records the outcome and keeps C++
// exceptions (only std::bad_alloc can occur) from crossing the C boundary.

#include <cstddef>
#include <new>
#include <string>
#include <vector>

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

// RecordThreadError keeps a failed `status` as the calling thread's last error
// (OK leaves it alone) and returns its public code.
tl_status RecordThreadError(const absl::Status& status) noexcept;
// SetThreadError keeps `message` as the calling thread's last error when
// `code` is not TL_OK, and returns `code`.
tl_status SetThreadError(tl_status code, absl::string_view message) noexcept;
// CopyThreadError implements tl_last_error.
tl_status CopyThreadError(char* buf, size_t buf_len, size_t* out_len) noexcept;
tl_status ThreadErrorStatus() noexcept;

// ArgumentError reports a bad argument found in the C layer: "`function`:
// `what`" becomes the thread's last error and, when `handle_error` is not
// NULL, the handle's too. Returns `code` (TL_E_INVALID_ARGUMENT by default).
tl_status ArgumentError(LastError* handle_error, const char* function,
                        absl::string_view what,
                        tl_status code = TL_E_INVALID_ARGUMENT) noexcept;
tl_status ArgumentError(const char* function, absl::string_view what,
                        tl_status code = TL_E_INVALID_ARGUMENT) noexcept;

// NullArgument is the status for a NULL pointer argument `what` ("name",
// "out"), for use inside Guard; outside it, TL_ARGUMENT_ERROR also names the
// function.
absl::Status NullArgument(absl::string_view what);

// CopyString is the one getter convention for strings copied into a caller's
// buffer: the text and a NUL into buf, its length (without the NUL) into
// *out_len. When buf_len is too small (buf may then be NULL with buf_len 0)
// nothing is written to buf, *out_len gets the buffer size needed (NUL
// included), and the result is TL_E_BUFFER_TOO_SMALL with a message.
// `function` names the caller in messages.
tl_status CopyString(const char* function, absl::string_view text, char* buf,
                     size_t buf_len, size_t* out_len) noexcept;

// OutOfRangeMessage is the one wording for an index past the end of a list a
// handle holds: "`index_name` 7 is out of range: `holder` has 3 `noun`s", as
// "index 7 is out of range: the tl_server_status has 3 clients". `noun` is
// singular ("client", "HA group", "address"); the plural is made from it.
std::string OutOfRangeMessage(absl::string_view index_name, size_t index,
                              absl::string_view holder, size_t count,
                              absl::string_view noun);

// IndexOutOfRange reports that message as an argument error naming
// `function` and returns `code` (TL_E_OUT_OF_RANGE unless the function's
// documentation promised another).
tl_status IndexOutOfRange(const char* function, absl::string_view index_name,
                          size_t index, absl::string_view holder, size_t count,
                          absl::string_view noun,
                          tl_status code = TL_E_OUT_OF_RANGE) noexcept;

// OutOfRangeError is that message as a status (TL_E_OUT_OF_RANGE), for a
// check inside Guard, which names nothing more.
absl::Status OutOfRangeError(absl::string_view index_name, size_t index,
                             absl::string_view holder, size_t count,
                             absl::string_view noun);

// StringAt is the one getter convention for the `index`th string of a list a
// handle of type `handle_type` ("tl_string_list") holds (tl_string_list_get,
// tl_cert_result_warning, ...): *out borrows it, valid while the handle lives.
// `items` is NULL when the handle is. A NULL handle or `out`, or an `index`
// past the end (TL_E_OUT_OF_RANGE, naming the index and how many `noun`s there
// are), is an argument error naming `function`, and *out is left alone.
tl_status StringAt(const char* function, const std::vector<std::string>* items,
                   const char* handle_type, absl::string_view noun,
                   size_t index, const char** out) noexcept;

// NewHandle is the body of every argument-free tl_T_new: a value-initialised
// T into *out, written only on success. A NULL out is an argument error naming
// `function` (pass __func__); a failed allocation is TL_E_NO_MEMORY, recorded
// as Guard records one, so no older message is left to be read as this one's.
template <typename T>
tl_status NewHandle(const char* function, T** out) noexcept {
  if (out == nullptr) {
    return ArgumentError(function, "out is NULL");
  }
  T* handle = new (std::nothrow) T();
  if (handle == nullptr) {
    return SetThreadError(TL_E_NO_MEMORY, "out of memory");
  }
  *out = handle;
  return TL_OK;
}

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

// GuardThreadOnly runs `call` like Guard for a call that has no handle of its
// own to keep the message on (or must not write to one, like tl_client_open
// on its shared settings): the outcome goes to the thread's last error only.
template <typename Call>
tl_status GuardThreadOnly(Call&& call) noexcept {
  try {
    return RecordThreadError(call());
  } catch (const std::bad_alloc&) {
    return SetThreadError(TL_E_NO_MEMORY, "out of memory");
  } catch (...) {
    return SetThreadError(TL_E_INTERNAL,
                          "internal error: unexpected exception");
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

// TL_ARGUMENT_ERROR(handle_error, what[, code]) is ArgumentError for the
// enclosing C function, which it names in the message.
#define TL_ARGUMENT_ERROR(handle_error, ...)                         \
  ::trustlink::capi::internal::ArgumentError(handle_error, __func__, \
                                             __VA_ARGS__)

#endif  // TRUSTLINK_CAPI_INTERNAL_LAST_ERROR_H_
