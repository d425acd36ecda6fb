// The C ABI of trustlink/pkcs11_ha.h over ntl/pkcs11/ha.

#include "trustlink/pkcs11_ha.h"

#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "capi/internal/last_error.h"
#include "capi/src/client_handles.h"
#include "capi/src/pkcs11_handles.h"
#include "ntl/pkcs11/ha/group_module.h"
#include "ntl/pkcs11/ha/serve.h"
#include "ntl/status.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::NullArgument;
using trustlink::ntl::Error;
namespace ha = trustlink::ntl::pkcs11::ha;
namespace p11 = trustlink::ntl::pkcs11;

struct tl_p11_ha : trustlink::capi::internal::Handle {
  ha::GroupServeOptions options;
  int log_fd = -1;
};

namespace trustlink::capi::internal {

absl::StatusOr<std::vector<p11::ModuleAssignment>> SetupAssignments(
    const tl_p11_setup& setup) {
  std::vector<p11::ModuleAssignment> all = setup.assignments;
  if (setup.ha_only && !setup.bridge_argv.empty()) {
    for (p11::ModuleAssignment& a : all) {
      a.extra_lines = ha::MemberHidingLines(setup.bridge_argv[0]);
    }
  }
  if (!setup.groups.empty() && setup.habridge_argv.empty()) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 TL_E_FAILED_PRECONDITION,
                 "HA groups were added but no habridge command; call "
                 "tl_p11_setup_add_habridge_arg");
  }
  for (const ha::GroupServeOptions& g : setup.groups) {
    absl::StatusOr<p11::ModuleAssignment> a =
        ha::GroupModule(setup.habridge_argv, g);
    if (!a.ok()) {
      return a.status();
    }
    all.push_back(*std::move(a));
  }
  return all;
}

}  // namespace trustlink::capi::internal

namespace {

absl::StatusOr<ha::GroupServeOptions> GroupFromSettings(
    const trustlink::ntl::client::HaGroupSettings& g) {
  ha::GroupServeOptions o;
  o.label = g.label;
  o.serial = g.serial;
  o.from_config = true;
  // Active members first, then standby ones (the loader's order): the first
  // member up serves, so a standby takes load only when no active one is up.
  for (const auto& m : g.members) {
    if (m.server.empty()) {
      return Error(absl::StatusCode::kFailedPrecondition, TL_E_CONFIG_INVALID,
                   absl::StrCat("HA group '", g.label, "': member with serial ",
                                m.serial,
                                " names no server; the PKCS#11 bridge needs "
                                "SERVER/PARTITION members (vtl hagroup "
                                "removeMember, then addMember -server S "
                                "-partition P)"));
    }
    o.members.push_back({m.server, m.partition});
  }
  return o;
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_p11_setup_add_habridge_arg(tl_p11_setup* setup,
                                                  const char* arg) noexcept {
  return trustlink::capi::internal::AddSetupWord(setup, arg,
                                                 &tl_p11_setup::habridge_argv);
}

TL_EXPORT tl_status tl_p11_setup_add_group(tl_p11_setup* setup,
                                           const char* label,
                                           const char* serial) noexcept {
  if (setup == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_setup handle is NULL");
  }
  return Guard(&setup->last_error, [&]() -> absl::Status {
    if (label == nullptr) {
      return NullArgument("label");
    }
    for (const ha::GroupServeOptions& g : setup->groups) {
      if (g.label == label) {
        return Error(absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
                     absl::StrCat("HA group '", label, "' is added twice"));
      }
    }
    ha::GroupServeOptions g;
    g.label = label;
    g.serial = serial != nullptr ? serial : "";
    setup->groups.push_back(std::move(g));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_setup_add_group_member(
    tl_p11_setup* setup, const char* label, const char* server,
    const char* partition) noexcept {
  if (setup == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_setup handle is NULL");
  }
  return Guard(&setup->last_error, [&]() -> absl::Status {
    if (label == nullptr || server == nullptr || partition == nullptr) {
      return NullArgument(label == nullptr    ? "label"
                          : server == nullptr ? "server"
                                              : "partition");
    }
    for (ha::GroupServeOptions& g : setup->groups) {
      if (g.label == label) {
        g.members.push_back({server, partition});
        return absl::OkStatus();
      }
    }
    return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                 absl::StrCat("HA group '", label,
                              "' was not added; call tl_p11_setup_add_group "
                              "first"));
  });
}

TL_EXPORT tl_status tl_p11_setup_set_ha_only(tl_p11_setup* setup,
                                             int32_t ha_only) noexcept {
  if (setup == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_setup handle is NULL");
  }
  setup->ha_only = ha_only != 0;
  return setup->last_error.Record(absl::OkStatus());
}

TL_EXPORT tl_status tl_p11_setup_add_groups_from_settings(
    tl_p11_setup* setup, const tl_client_settings* settings) noexcept {
  if (setup == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_setup handle is NULL");
  }
  return Guard(&setup->last_error, [&]() -> absl::Status {
    if (settings == nullptr) {
      return NullArgument("settings");
    }
    for (const auto& g : settings->settings.ha_groups) {
      absl::StatusOr<ha::GroupServeOptions> o = GroupFromSettings(g);
      if (!o.ok()) {
        return o.status();
      }
      setup->groups.push_back(*std::move(o));
    }
    if (!settings->settings.ha_groups.empty()) {
      setup->ha_only = settings->settings.ha.ha_only;
    }
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_ha_new(tl_p11_ha** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

TL_EXPORT void tl_p11_ha_free(tl_p11_ha* ha) noexcept { delete ha; }

TL_EXPORT tl_status tl_p11_ha_set_group(tl_p11_ha* ha, const char* label,
                                        const char* serial) noexcept {
  if (ha == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_ha handle is NULL");
  }
  return Guard(&ha->last_error, [&]() -> absl::Status {
    if (label == nullptr) {
      return NullArgument("label");
    }
    ha->options.label = label;
    ha->options.serial = serial != nullptr ? serial : "";
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_ha_add_member(tl_p11_ha* ha, const char* server,
                                         const char* partition) noexcept {
  if (ha == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_ha handle is NULL");
  }
  return Guard(&ha->last_error, [&]() -> absl::Status {
    if (server == nullptr || partition == nullptr) {
      return NullArgument(server == nullptr ? "server" : "partition");
    }
    ha->options.members.push_back({server, partition});
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_ha_load_group(tl_p11_ha* ha,
                                         const tl_client_settings* settings,
                                         const char* label) noexcept {
  if (ha == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_ha handle is NULL");
  }
  return Guard(&ha->last_error, [&]() -> absl::Status {
    if (settings == nullptr || label == nullptr) {
      return NullArgument(settings == nullptr ? "settings" : "label");
    }
    std::vector<std::string> labels;
    for (const auto& g : settings->settings.ha_groups) {
      if (absl::EqualsIgnoreCase(g.label, label)) {
        absl::StatusOr<ha::GroupServeOptions> o = GroupFromSettings(g);
        if (!o.ok()) {
          return o.status();
        }
        // HAConfiguration's AutoReconnectInterval; -retry may override it.
        o->retry_interval = settings->settings.ha.auto_reconnect_interval;
        o->reconnect_attempts = settings->settings.ha.reconnect_attempts;
        o->log = ha->options.log;
        ha->options = *std::move(o);
        return absl::OkStatus();
      }
      labels.push_back(g.label);
    }
    return Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat("HA group '", label,
                     "' is not in trustlink.conf (groups there: ",
                     labels.empty() ? "none" : absl::StrJoin(labels, ", "),
                     "); vtl hagroup listGroups shows them"));
  });
}

TL_EXPORT tl_status tl_p11_ha_set_retry_interval_ms(tl_p11_ha* ha,
                                                    int64_t ms) noexcept {
  if (ha == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_ha handle is NULL");
  }
  return Guard(&ha->last_error, [&]() -> absl::Status {
    if (ms <= 0 || ms > 3600 * 1000) {
      return Error(absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
                   absl::StrCat("retry interval ", ms,
                                " ms is out of range (1 ms to 1 hour)"));
    }
    ha->options.retry_interval = absl::Milliseconds(ms);
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_ha_set_log_fd(tl_p11_ha* ha, int fd) noexcept {
  if (ha == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_ha handle is NULL");
  }
  ha->log_fd = fd;
  return ha->last_error.Record(absl::OkStatus());
}

TL_EXPORT tl_status tl_p11_ha_serve(tl_p11_ha* ha, int in_fd,
                                    int out_fd) noexcept {
  if (ha == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_ha handle is NULL");
  }
  return Guard(&ha->last_error, [&]() -> absl::Status {
    ha::GroupServeOptions o = ha->options;
    const int fd = ha->log_fd;
    if (fd >= 0) {
      o.log = [fd](const std::string& line) {
        std::string l = absl::StrCat("p11 habridge: ", line, "\n");
        (void)!write(fd, l.data(), l.size());
      };
    }
    return ha::ServeGroup(o, in_fd, out_fd);
  });
}

TL_DEFINE_LAST_ERROR(tl_p11_ha)

}  // extern "C"
