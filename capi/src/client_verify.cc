// tl_client_verify and its results (trustlink/client.h).
#include <utility>

#include "capi/src/client_handles.h"

using trustlink::capi::internal::Guard;
namespace client = trustlink::ntl::client;
using namespace trustlink::capi::client_internal;  // NOLINT: the helpers of
                                                   // this ABI part

// ---- Verify
// -------------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status
tl_client_verify(const tl_client_settings* settings, uint32_t timeout_ms,
                 tl_verify_results** out) noexcept {
  if (settings == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  // Like tl_client_open: the shared, const settings are not written to.
  return trustlink::capi::internal::GuardThreadOnly([&]() -> absl::Status {
    absl::StatusOr<std::vector<client::VerifyResult>> r = client::Verify(
        settings->settings, timeout_ms == TL_CLIENT_NO_TIMEOUT
                                ? absl::Hours(24)
                                : absl::Milliseconds(timeout_ms));
    if (!r.ok()) {
      return r.status();
    }
    auto* results = new tl_verify_results();
    results->results = *std::move(r);
    *out = results;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT void tl_verify_results_free(
    tl_verify_results* results) noexcept {
  delete results;
}

extern "C" TL_EXPORT size_t
tl_verify_results_count(const tl_verify_results* r) noexcept {
  return r == nullptr ? 0 : r->results.size();
}

extern "C" TL_EXPORT size_t
tl_verify_results_num_failed(const tl_verify_results* r) noexcept {
  size_t n = 0;
  if (r != nullptr) {
    for (const auto& e : r->results) {
      n += e.code != TL_OK ? 1 : 0;
    }
  }
  return n;
}

extern "C" TL_EXPORT tl_status tl_verify_results_get(
    const tl_verify_results* r, size_t index, tl_status* out_outcome,
    uint16_t* out_port, size_t* out_num_slots) noexcept {
  if (r == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_verify_results handle is NULL");
  }
  if (out_outcome == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_outcome is NULL");
  }
  if (out_port == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_port is NULL");
  }
  if (out_num_slots == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_num_slots is NULL");
  }
  if (index >= r->results.size()) {
    return trustlink::capi::internal::IndexOutOfRange(
        __func__, "index", index, "the tl_verify_results", r->results.size(),
        "result");
  }
  *out_outcome = r->results[index].code;
  *out_port = r->results[index].port;
  *out_num_slots = r->results[index].slots.size();
  return TL_OK;
}

#define TL_VERIFY_STRING(name, field)                        \
  extern "C" TL_EXPORT const char* tl_verify_results_##name( \
      const tl_verify_results* r, size_t index) noexcept {   \
    if (r == nullptr || index >= r->results.size()) {        \
      return nullptr;                                        \
    }                                                        \
    return r->results[index].field.c_str();                  \
  }
TL_VERIFY_STRING(server, server)
TL_VERIFY_STRING(host, host)
TL_VERIFY_STRING(message, message)
#undef TL_VERIFY_STRING

#define TL_VERIFY_SLOT_STRING(field)                                    \
  extern "C" TL_EXPORT const char* tl_verify_results_slot_##field(      \
      const tl_verify_results* r, size_t index, size_t slot) noexcept { \
    if (r == nullptr || index >= r->results.size() ||                   \
        slot >= r->results[index].slots.size()) {                       \
      return nullptr;                                                   \
    }                                                                   \
    return r->results[index].slots[slot].field.c_str();                 \
  }
TL_VERIFY_SLOT_STRING(partition)
TL_VERIFY_SLOT_STRING(label)
TL_VERIFY_SLOT_STRING(serial)
#undef TL_VERIFY_SLOT_STRING
