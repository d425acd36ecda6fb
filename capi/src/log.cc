// trustlink/log.h: tl_set_log_callback and the tl_log_event getters.
#include "trustlink/log.h"

#include <memory>

#include "capi/internal/last_error.h"
#include "capi/internal/log_event.h"
#include "capi/src/log_hook.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/server.h"

namespace trustlink::capi::internal {
namespace {

struct Sink {
  tl_log_cb cb;
  void* userdata;
  int32_t min_level;
  int running = 0;  // calls under way, guarded by Hook::mu
};

// The hook is leaked on purpose: servers may log from their threads while the
// process exits, after static destructors would have run.
struct Hook {
  ntl::internal::Mutex mu;
  ntl::internal::CondVar idle;  // a sink's `running` dropped to 0
  std::shared_ptr<Sink> sink ABSL_GUARDED_BY(mu);
};

Hook& TheHook() {
  static Hook* hook = new Hook();
  return *hook;
}

// How many callbacks the calling thread is inside, so that
// tl_set_log_callback called from one does not wait for itself.
thread_local int t_in_callback = 0;

}  // namespace

void LogLine(absl::string_view source, absl::string_view line) noexcept {
  Hook& hook = TheHook();
  std::shared_ptr<Sink> sink;
  {
    ntl::internal::MutexLock lock(&hook.mu);
    sink = hook.sink;
    if (sink != nullptr) {
      ++sink->running;
    }
  }
  if (sink == nullptr) {
    ntl::server::LogToStderr(line);
    return;
  }
  try {
    const tl_log_event event = ParseLogLine(source, line);
    if (event.level >= sink->min_level) {
      ++t_in_callback;
      sink->cb(sink->userdata, &event);
      --t_in_callback;
    }
  } catch (...) {
    // Out of memory while building the event: the line is lost, the server
    // goes on.
  }
  ntl::internal::MutexLock lock(&hook.mu);
  if (--sink->running == 0) {
    hook.idle.SignalAll();
  }
}

}  // namespace trustlink::capi::internal

namespace {

using trustlink::capi::internal::ArgumentError;

tl_status Borrow(const char* function, const tl_log_event* e,
                 const std::string tl_log_event::*field, const char** out) {
  if (e == nullptr) {
    return ArgumentError(function, "the tl_log_event is NULL");
  }
  if (out == nullptr) {
    return ArgumentError(function, "out is NULL");
  }
  *out = (e->*field).c_str();
  return TL_OK;
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_set_log_callback(tl_log_cb cb, void* userdata,
                                        int32_t min_level) noexcept {
  using trustlink::capi::internal::Sink;
  if (min_level < TL_LOG_DEBUG || min_level > TL_LOG_ALERT) {
    return TL_ARGUMENT_ERROR(
        nullptr, "min_level must be TL_LOG_DEBUG..TL_LOG_ALERT (0..4)");
  }
  std::shared_ptr<Sink> fresh;
  if (cb != nullptr) {
    try {
      fresh = std::make_shared<Sink>(Sink{cb, userdata, min_level, 0});
    } catch (...) {
      return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                       "out of memory");
    }
  }
  auto& hook = trustlink::capi::internal::TheHook();
  trustlink::ntl::internal::MutexLock lock(&hook.mu);
  std::shared_ptr<Sink> old = std::move(hook.sink);
  hook.sink = std::move(fresh);
  // A call from inside a callback waits for the others, not for itself.
  if (old != nullptr) {
    while (old->running > trustlink::capi::internal::t_in_callback) {
      hook.idle.Wait(&hook.mu);
    }
  }
  return TL_OK;
}

TL_EXPORT int32_t tl_log_event_level(const tl_log_event* event) noexcept {
  return event == nullptr ? TL_LOG_INFO : event->level;
}

TL_EXPORT tl_status tl_log_event_source(const tl_log_event* event,
                                        const char** out) noexcept {
  return Borrow(__func__, event, &tl_log_event::source, out);
}

TL_EXPORT tl_status tl_log_event_kind(const tl_log_event* event,
                                      const char** out) noexcept {
  return Borrow(__func__, event, &tl_log_event::kind, out);
}

TL_EXPORT tl_status tl_log_event_line(const tl_log_event* event,
                                      const char** out) noexcept {
  return Borrow(__func__, event, &tl_log_event::line, out);
}

TL_EXPORT tl_status tl_log_event_client(const tl_log_event* event,
                                        const char** out) noexcept {
  if (event != nullptr && event->client.empty()) {
    return TL_ARGUMENT_ERROR(nullptr, "the event names no client",
                             TL_E_NOT_FOUND);
  }
  return Borrow(__func__, event, &tl_log_event::client, out);
}

TL_EXPORT size_t
tl_log_event_num_addresses(const tl_log_event* event) noexcept {
  return event == nullptr ? 0 : event->addresses.size();
}

TL_EXPORT tl_status tl_log_event_address(const tl_log_event* event,
                                         size_t index,
                                         const char** out) noexcept {
  return trustlink::capi::internal::StringAt(
      __func__, event ? &event->addresses : nullptr, "tl_log_event", "address",
      index, out);
}

TL_EXPORT tl_status tl_log_event_field(const tl_log_event* event,
                                       const char* key,
                                       const char** out) noexcept {
  if (event == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_log_event is NULL");
  }
  if (key == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "key is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  for (const auto& [k, v] : event->fields) {
    if (k == key) {
      *out = v.c_str();
      return TL_OK;
    }
  }
  return TL_ARGUMENT_ERROR(nullptr, "the event has no such field",
                           TL_E_NOT_FOUND);
}

TL_EXPORT size_t tl_log_event_num_fields(const tl_log_event* event) noexcept {
  return event == nullptr ? 0 : event->fields.size();
}

TL_EXPORT tl_status tl_log_event_field_at(const tl_log_event* event,
                                          size_t index, const char** out_key,
                                          const char** out_value) noexcept {
  if (event == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_log_event is NULL");
  }
  if (out_key == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_key is NULL");
  }
  if (out_value == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_value is NULL");
  }
  if (index >= event->fields.size()) {
    return trustlink::capi::internal::IndexOutOfRange(
        __func__, "index", index, "the tl_log_event", event->fields.size(),
        "field");
  }
  *out_key = event->fields[index].first.c_str();
  *out_value = event->fields[index].second.c_str();
  return TL_OK;
}

}  // extern "C"
