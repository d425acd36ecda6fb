// The client C ABI's handle structs and helpers, shared by capi/src/client*.cc.
#ifndef TRUSTLINK_CAPI_SRC_CLIENT_HANDLES_H_
#define TRUSTLINK_CAPI_SRC_CLIENT_HANDLES_H_

#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/internal/fork_owner.h"
#include "capi/internal/last_error.h"
#include "ntl/client/client.h"
#include "ntl/client/verify.h"
#include "ntl/internal/mutex.h"
#include "ntl/status.h"
#include "trustlink/client.h"

namespace trustlink::capi::client_internal {
namespace client = ::trustlink::ntl::client;
}  // namespace trustlink::capi::client_internal

// Thread safety: tl_client_settings is a builder (one thread at a time); the
// others are immutable after creation except tl_client, whose Client is
// thread-safe.
struct tl_client_settings : ::trustlink::capi::internal::Handle {
  ::trustlink::ntl::client::ClientSettings settings;
  tl_link_event_cb link_event_cb = nullptr;
  void* link_event_userdata = nullptr;
};

namespace trustlink::capi::client_internal {

// LinkEventQueue keeps the link events of a client without a link-event
// callback, for tl_client_next_link_event. Thread safety: safe from any
// thread.
class LinkEventQueue {
 public:
  // Push adds an event, dropping the oldest past TL_CLIENT_LINK_EVENTS_MAX.
  void Push(const ::trustlink::ntl::client::LinkEvent& event);
  bool Pop(::trustlink::ntl::client::LinkEvent* event);

 private:
  ::trustlink::ntl::internal::Mutex mu_;
  std::deque<::trustlink::ntl::client::LinkEvent> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::capi::client_internal

struct tl_client;
namespace trustlink::capi::client_internal {
size_t EventIndex(const ::trustlink::ntl::client::LinkEvent& e);
void RouteLinkEvents(const tl_client_settings& from,
                     ::trustlink::ntl::client::ClientSettings* settings,
                     tl_client* h);
}  // namespace trustlink::capi::client_internal

struct tl_client : ::trustlink::capi::internal::Handle {
  const ::trustlink::capi::internal::ForkOwner owner;
  std::unique_ptr<::trustlink::ntl::client::Client> client;
  std::shared_ptr<::trustlink::capi::client_internal::LinkEventQueue>
      link_events;
};

struct tl_slot_list : ::trustlink::capi::internal::Handle {
  std::vector<::trustlink::ntl::client::Slot> slots;
};

struct tl_response : ::trustlink::capi::internal::Handle {
  std::string data;
};

struct tl_verify_results : ::trustlink::capi::internal::Handle {
  std::vector<::trustlink::ntl::client::VerifyResult> results;
};

// TL_CLIENT_USABLE(c) returns from the enclosing C function when `c` is NULL
// or belongs to the parent of this fork() child (TL_E_FORKED).
#define TL_CLIENT_USABLE(c)                                              \
  do {                                                                   \
    if ((c) == nullptr) {                                                \
      return TL_ARGUMENT_ERROR(nullptr, "the tl_client handle is NULL"); \
    }                                                                    \
    if ((c)->owner.InForkedChild()) {                                    \
      return ::trustlink::capi::internal::ForkedError(                   \
          __func__, "tl_client", "tl_client_open", (c)->owner.pid());    \
    }                                                                    \
  } while (0)

namespace trustlink::capi::client_internal {

// WithClient runs `f(client)` (an absl::Status) on `c`'s Client for the C
// function `function` (a getter: `c` is const), recording a failure on `c`;
// a NULL handle or one of the parent of this fork() child fails first.
template <typename F>
tl_status WithClient(const char* function, const tl_client* c, F f) {
  if (c == nullptr) {
    return ::trustlink::capi::internal::ArgumentError(
        function, "the tl_client handle is NULL");
  }
  if (c->owner.InForkedChild()) {
    return ::trustlink::capi::internal::ForkedError(
        function, "tl_client", "tl_client_open", c->owner.pid());
  }
  auto* h = const_cast<tl_client*>(c);
  return ::trustlink::capi::internal::Guard(
      &h->last_error, [&]() -> absl::Status { return f(*h->client); });
}

using ::trustlink::capi::internal::NullArgument;

inline absl::Status BadArgument(absl::string_view what) {
  return trustlink::ntl::Error(absl::StatusCode::kInvalidArgument,
                               TL_E_INVALID_ARGUMENT, what);
}

inline absl::Time Deadline(uint32_t timeout_ms) {
  if (timeout_ms == TL_CLIENT_NO_TIMEOUT) {
    return absl::InfiniteFuture();
  }
  return absl::Now() + absl::Milliseconds(timeout_ms);
}

// CopyOut is CopyString (capi/internal/last_error.h) for use inside Guard.
inline absl::Status CopyOut(absl::string_view text, char* buf, size_t buf_len,
                            size_t* out_len) {
  if (out_len == nullptr) {
    return NullArgument("out_len");
  }
  if (buf == nullptr && buf_len != 0) {
    return BadArgument("buf is NULL but buf_len is not 0");
  }
  if (buf_len <= text.size()) {
    *out_len = text.size() + 1;
    return trustlink::ntl::Error(
        absl::StatusCode::kOutOfRange, TL_E_BUFFER_TOO_SMALL,
        absl::StrCat("a buffer of ", text.size() + 1, " bytes is needed"));
  }
  if (!text.empty()) {
    // An empty string_view may have a null data(), which memcpy must not get.
    std::memcpy(buf, text.data(), text.size());
  }
  buf[text.size()] = '\0';
  *out_len = text.size();
  return absl::OkStatus();
}

inline int32_t SlotStateCode(client::SlotState s) {
  switch (s) {
    case client::SlotState::kReady:
      return TL_SLOT_READY;
    case client::SlotState::kServerDown:
      return TL_SLOT_SERVER_DOWN;
    case client::SlotState::kRemoved:
      return TL_SLOT_REMOVED;
  }
  return TL_SLOT_SERVER_DOWN;
}

}  // namespace trustlink::capi::client_internal

#endif  // TRUSTLINK_CAPI_SRC_CLIENT_HANDLES_H_
