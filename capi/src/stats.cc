// Counters through the C ABI (trustlink/stats.h): a snapshot of named values
// from the server's or the client's ntl/stats counters.
#include "trustlink/stats.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "capi/internal/last_error.h"
#include "capi/src/client_handles.h"
#include "capi/src/server_handles.h"
#include "ntl/stats/counter.h"

using trustlink::capi::internal::Guard;

struct tl_stats : trustlink::capi::internal::Handle {
  trustlink::ntl::stats::StatList values;
};

namespace {

// Snapshot runs `take` for a new snapshot and hands it out on success.
template <typename Take>
tl_status Snapshot(trustlink::capi::internal::LastError* error, tl_stats** out,
                   Take&& take) {
  tl_stats* created = nullptr;
  tl_status st = Guard(error, [&]() -> absl::Status {
    auto s = std::make_unique<tl_stats>();
    s->values = take();
    created = s.release();
    return absl::OkStatus();
  });
  if (st == TL_OK) {
    *out = created;
  }
  return st;
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_server_stats(tl_server* server,
                                    tl_stats** out) noexcept {
  TL_SERVER_USABLE(server);
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(&server->last_error, "out is NULL");
  }
  return Snapshot(&server->last_error, out,
                  [&] { return server->server->Stats(); });
}

TL_EXPORT tl_status tl_client_stats(tl_client* client,
                                    tl_stats** out) noexcept {
  TL_CLIENT_USABLE(client);
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(&client->last_error, "out is NULL");
  }
  return Snapshot(&client->last_error, out,
                  [&] { return client->client->Stats(); });
}

TL_EXPORT void tl_stats_free(tl_stats* stats) noexcept { delete stats; }

TL_EXPORT size_t tl_stats_num_values(const tl_stats* stats) noexcept {
  return stats == nullptr ? 0 : stats->values.size();
}

TL_EXPORT tl_status tl_stats_value_at(const tl_stats* stats, size_t index,
                                      const char** out_name,
                                      uint64_t* out_value) noexcept {
  if (stats == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_stats handle is NULL");
  }
  if (out_name == nullptr || out_value == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, out_name == nullptr
                                          ? "out_name is NULL"
                                          : "out_value is NULL");
  }
  if (index >= stats->values.size()) {
    return trustlink::capi::internal::IndexOutOfRange(
        __func__, "index", index, "the tl_stats snapshot", stats->values.size(),
        "value");
  }
  *out_name = stats->values[index].name;
  *out_value = stats->values[index].value;
  return TL_OK;
}

TL_EXPORT tl_status tl_stats_value(const tl_stats* stats, const char* name,
                                   uint64_t* out_value) noexcept {
  if (stats == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_stats handle is NULL");
  }
  if (name == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "name is NULL");
  }
  if (out_value == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_value is NULL");
  }
  if (const trustlink::ntl::stats::Stat* s =
          trustlink::ntl::stats::FindStat(stats->values, name)) {
    *out_value = s->value;
    return TL_OK;
  }
  return TL_ARGUMENT_ERROR(
      nullptr,
      absl::StrCat("this library has no counter named '",
                   std::string(name).substr(0, 64),
                   "'; list the names it has with tl_stats_num_values and "
                   "tl_stats_value_at"),
      TL_E_NOT_FOUND);
}

}  // extern "C"
