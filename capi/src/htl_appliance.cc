// The appliance half of trustlink/htl.h over htl::Appliance.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/internal/last_error.h"
#include "htl/appliance.h"
#include "htl/internal/files.h"
#include "htl/ott.h"
#include "ntl/status.h"
#include "trustlink/htl.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::Handle;
using trustlink::capi::internal::NullArgument;
namespace htl = trustlink::htl;
namespace ntl = trustlink::ntl;

struct tl_htl_appliance : Handle {
  std::unique_ptr<htl::Appliance> appliance;
};

struct tl_htl_show_list : Handle {
  std::vector<htl::ClientView> rows;
  std::vector<std::string> details;
};

namespace {

absl::Status NotOpen() {
  return ntl::Error(
      absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
      "the HTL appliance handle is not open; call tl_htl_appliance_open first");
}

int32_t HtlCode(htl::HtlStatus s) {
  switch (s) {
    case htl::HtlStatus::kUp:
      return TL_HTL_STATUS_UP;
    case htl::HtlStatus::kGracePeriod:
      return TL_HTL_STATUS_GRACE_PERIOD;
    case htl::HtlStatus::kDown:
      return TL_HTL_STATUS_DOWN;
    case htl::HtlStatus::kUnknown:
      break;
  }
  return TL_HTL_STATUS_UNKNOWN;
}

int32_t OttCode(htl::OttStatus s) {
  switch (s) {
    case htl::OttStatus::kReady:
      return TL_OTT_STATUS_READY;
    case htl::OttStatus::kInUse:
      return TL_OTT_STATUS_IN_USE;
    case htl::OttStatus::kExpired:
      return TL_OTT_STATUS_EXPIRED;
    case htl::OttStatus::kNoFile:
      break;
  }
  return TL_OTT_STATUS_NO_FILE;
}

// Run guards a call that needs an open appliance.
template <typename F>
tl_status Run(const char* function, tl_htl_appliance* a, F&& f) noexcept {
  if (a == nullptr) {
    return trustlink::capi::internal::ArgumentError(
        function, "the tl_htl_appliance handle is NULL");
  }
  return Guard(&a->last_error, [&]() -> absl::Status {
    if (a->appliance == nullptr) return NotOpen();
    return f(*a->appliance);
  });
}

}  // namespace

TL_DEFINE_LAST_ERROR(tl_htl_appliance)
TL_DEFINE_LAST_ERROR(tl_htl_show_list)

extern "C" TL_EXPORT const char* tl_htl_status_name(int32_t s) noexcept {
  switch (s) {
    case TL_HTL_STATUS_UP:
      return "Up";
    case TL_HTL_STATUS_GRACE_PERIOD:
      return "Grace Period";
    case TL_HTL_STATUS_DOWN:
      return "Down";
    default:
      return "Unknown";
  }
}

extern "C" TL_EXPORT const char* tl_ott_status_name(int32_t s) noexcept {
  switch (s) {
    case TL_OTT_STATUS_READY:
      return "Ready";
    case TL_OTT_STATUS_IN_USE:
      return "In use";
    case TL_OTT_STATUS_EXPIRED:
      return "Expired";
    default:
      return "No file";
  }
}

extern "C" TL_EXPORT tl_status
tl_htl_appliance_new(tl_htl_appliance** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

extern "C" TL_EXPORT void tl_htl_appliance_free(tl_htl_appliance* a) noexcept {
  delete a;
}

extern "C" TL_EXPORT tl_status tl_htl_appliance_open(tl_htl_appliance* a,
                                                     const char* root,
                                                     int32_t flags) noexcept {
  if (a == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_htl_appliance handle is NULL");
  }
  return Guard(&a->last_error, [&]() -> absl::Status {
    if (root == nullptr) return NullArgument("root");
    if (a->appliance != nullptr) {
      return ntl::Error(absl::StatusCode::kFailedPrecondition,
                        TL_E_FAILED_PRECONDITION,
                        "the HTL appliance handle is already open");
    }
    htl::Appliance::Options o;
    o.root = root;
    o.daemon = (flags & TL_HTL_OPEN_DAEMON) != 0;
    absl::StatusOr<std::unique_ptr<htl::Appliance>> opened =
        htl::Appliance::Open(o);
    if (!opened.ok()) return opened.status();
    a->appliance = *std::move(opened);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_htl_generate_ott(
    tl_htl_appliance* a, const char* client, int64_t expiry_seconds,
    const char* out_dir, const char* file_name) noexcept {
  return Run(__func__, a, [&](htl::Appliance& app) -> absl::Status {
    if (client == nullptr) return NullArgument("client");
    if (out_dir == nullptr) return NullArgument("out_dir");
    if (file_name == nullptr) return NullArgument("file_name");
    if (expiry_seconds < 0) {
      return ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
          "OTT expiry must be positive (0 keeps the client's setting)");
    }
    absl::StatusOr<std::string> name = htl::TokenFileName(file_name);
    if (!name.ok()) return name.status();
    // Check the destination before the token exists, so a bad directory voids
    // nothing.
    absl::StatusOr<htl::internal::Dir> dir =
        htl::internal::Dir::Open(out_dir, false);
    if (!dir.ok()) return dir.status();
    absl::optional<absl::Duration> expiry;
    if (expiry_seconds > 0) expiry = absl::Seconds(expiry_seconds);
    absl::StatusOr<std::string> token = app.GenerateOtt(client, expiry);
    if (!token.ok()) return token.status();
    return dir->WriteFileAtomic(*name, htl::FormatTokenFile(*token, file_name),
                                0600);
  });
}

extern "C" TL_EXPORT tl_status tl_htl_set_client_ott_expiry(
    tl_htl_appliance* a, const char* client, int64_t expiry_seconds) noexcept {
  return Run(__func__, a, [&](htl::Appliance& app) -> absl::Status {
    if (client == nullptr) return NullArgument("client");
    absl::optional<absl::Duration> expiry;
    if (expiry_seconds >= 0) expiry = absl::Seconds(expiry_seconds);
    return app.SetClientOttExpiry(client, expiry);
  });
}

extern "C" TL_EXPORT tl_status tl_htl_clear(tl_htl_appliance* a,
                                            const char* client) noexcept {
  return Run(__func__, a, [&](htl::Appliance& app) -> absl::Status {
    if (client == nullptr) return NullArgument("client");
    return app.Clear(client);
  });
}

extern "C" TL_EXPORT tl_status
tl_htl_set_grace_period(tl_htl_appliance* a, int64_t seconds) noexcept {
  return Run(__func__, a, [&](htl::Appliance& app) {
    return app.SetGracePeriod(absl::Seconds(seconds));
  });
}

extern "C" TL_EXPORT tl_status
tl_htl_set_default_ott_expiry(tl_htl_appliance* a, int64_t seconds) noexcept {
  return Run(__func__, a, [&](htl::Appliance& app) {
    return app.SetDefaultOttExpiry(absl::Seconds(seconds));
  });
}

extern "C" TL_EXPORT tl_status
tl_htl_set_heartbeat_interval(tl_htl_appliance* a, int64_t seconds) noexcept {
  return Run(__func__, a, [&](htl::Appliance& app) {
    return app.SetHeartbeatInterval(absl::Seconds(seconds));
  });
}

extern "C" TL_EXPORT tl_status
tl_htl_get_settings(tl_htl_appliance* a, int64_t* out_grace,
                    int64_t* out_expiry, int64_t* out_heartbeat) noexcept {
  return Run(__func__, a, [&](htl::Appliance& app) -> absl::Status {
    if (out_grace == nullptr || out_expiry == nullptr ||
        out_heartbeat == nullptr) {
      return NullArgument("an output pointer");
    }
    absl::StatusOr<htl::HtlSettings> s = app.Settings();
    if (!s.ok()) return s.status();
    *out_grace = absl::ToInt64Seconds(s->grace_period);
    *out_expiry = absl::ToInt64Seconds(s->default_ott_expiry);
    *out_heartbeat = absl::ToInt64Seconds(s->heartbeat_interval);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_htl_show(tl_htl_appliance* a,
                                           const char* client,
                                           tl_htl_show_list** out) noexcept {
  return Run(__func__, a, [&](htl::Appliance& app) -> absl::Status {
    if (out == nullptr) return NullArgument("out");
    auto list = std::make_unique<tl_htl_show_list>();
    if (client != nullptr) {
      absl::StatusOr<htl::ClientView> v = app.Show(client);
      if (!v.ok()) return v.status();
      list->rows.push_back(*std::move(v));
    } else {
      absl::StatusOr<std::vector<htl::ClientView>> all = app.ShowAll();
      if (!all.ok()) return all.status();
      list->rows = *std::move(all);
    }
    for (const htl::ClientView& v : list->rows) {
      std::string d;
      if (v.htl == htl::HtlStatus::kDown) {
        d = absl::StrCat(
            "down: ", v.down_reason.empty() ? "no HTL link" : v.down_reason,
            "; a new OTT is needed");
      } else if (v.htl == htl::HtlStatus::kGracePeriod) {
        d = absl::StrCat("grace period ends ",
                         absl::FormatTime(v.grace_ends_at));
      }
      list->details.push_back(std::move(d));
    }
    *out = list.release();
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT void tl_htl_show_list_free(
    tl_htl_show_list* list) noexcept {
  delete list;
}

extern "C" TL_EXPORT size_t
tl_htl_show_list_count(const tl_htl_show_list* list) noexcept {
  return list == nullptr ? 0 : list->rows.size();
}

extern "C" TL_EXPORT const char* tl_htl_show_list_client(
    const tl_htl_show_list* list, size_t i) noexcept {
  if (list == nullptr || i >= list->rows.size()) return nullptr;
  return list->rows[i].client.c_str();
}

extern "C" TL_EXPORT const char* tl_htl_show_list_detail(
    const tl_htl_show_list* list, size_t i) noexcept {
  if (list == nullptr || i >= list->details.size()) return nullptr;
  return list->details[i].c_str();
}

extern "C" TL_EXPORT tl_status tl_htl_show_list_row(
    const tl_htl_show_list* list, size_t i, int32_t* out_htl, int32_t* out_ott,
    int64_t* out_expiry, int32_t* out_is_default) noexcept {
  if (list == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_htl_show_list handle is NULL");
  }
  if (out_htl == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_htl is NULL");
  }
  if (out_ott == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_ott is NULL");
  }
  if (out_expiry == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_expiry is NULL");
  }
  if (out_is_default == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_is_default is NULL");
  }
  if (i >= list->rows.size()) {
    return trustlink::capi::internal::IndexOutOfRange(
        __func__, "index", i, "the tl_htl_show_list", list->rows.size(), "row");
  }
  const htl::ClientView& v = list->rows[i];
  *out_htl = HtlCode(v.htl);
  *out_ott = OttCode(v.ott);
  *out_expiry = v.ott_expiry_seconds;
  *out_is_default = v.ott_expiry_is_default ? 1 : 0;
  return TL_OK;
}
