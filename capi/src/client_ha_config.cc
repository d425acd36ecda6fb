// The C ABI of trustlink/client_ha_config.h over //ntl:config_client
// (config_ha.h) and ClientRoot::UpdateConfig.
#include "trustlink/client_ha_config.h"

#include <functional>
#include <string>
#include <vector>

#include "capi/internal/last_error.h"
#include "capi/src/client_root_handle.h"
#include "ntl/config_ha.h"
#include "ntl/status.h"

using trustlink::capi::client_root_internal::NotOpen;
using trustlink::capi::client_root_internal::NullArgument;
using trustlink::capi::internal::Guard;
using trustlink::capi::internal::Handle;
namespace ntl = trustlink::ntl;

struct tl_ha_group_list : Handle {
  std::vector<ntl::HaGroupConfig> groups;
  ntl::HaOptions options;
};

namespace {

// Edit runs `edit` on trustlink.conf under the root's lock (UpdateConfig),
// with the root's error handling. A template, so that the std::function is
// made inside Guard, where an allocation failure is caught.
template <typename F>
tl_status Edit(tl_client_root* root, const char* function, const F& edit) {
  if (root == nullptr) {
    return trustlink::capi::internal::ArgumentError(
        function, "the tl_client_root handle is NULL");
  }
  return Guard(&root->last_error, [&]() -> absl::Status {
    if (!root->root) return NotOpen();
    return root->root->UpdateConfig(
        std::function<absl::Status(ntl::ClientConfig*)>(edit));
  });
}

// Member builds the member of server/partition (server NULL: partition is a
// serial number).
absl::StatusOr<ntl::HaMemberConfig> Member(const ntl::ClientConfig& config,
                                           const char* server,
                                           const char* partition,
                                           bool standby) {
  if (partition == nullptr) return NullArgument("partition");
  if (server == nullptr) {
    return ntl::MakeHaMember(config, "", "", partition, standby);
  }
  return ntl::MakeHaMember(config, server, partition, "", standby);
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_client_root_ha_create_group(
    tl_client_root* root, const char* label, const char* server,
    const char* partition) noexcept {
  return Edit(root, __func__, [&](ntl::ClientConfig* config) -> absl::Status {
    if (label == nullptr) return NullArgument("label");
    absl::StatusOr<ntl::HaMemberConfig> first =
        Member(*config, server, partition, false);
    if (!first.ok()) return first.status();
    return ntl::CreateHaGroup(config, label, "", *first).status();
  });
}

TL_EXPORT tl_status tl_client_root_ha_add_member(tl_client_root* root,
                                                 const char* label,
                                                 const char* server,
                                                 const char* partition,
                                                 int32_t standby) noexcept {
  return Edit(root, __func__, [&](ntl::ClientConfig* config) -> absl::Status {
    if (label == nullptr) return NullArgument("label");
    absl::StatusOr<ntl::HaMemberConfig> member =
        Member(*config, server, partition, standby != 0);
    if (!member.ok()) return member.status();
    return ntl::AddHaMember(config, label, *member);
  });
}

TL_EXPORT tl_status tl_client_root_ha_remove_member(
    tl_client_root* root, const char* label, const char* server,
    const char* partition) noexcept {
  return Edit(root, __func__, [&](ntl::ClientConfig* config) -> absl::Status {
    if (label == nullptr) return NullArgument("label");
    // The group is looked up first so that "no such group" wins over a
    // member whose server has since left the config.
    absl::StatusOr<ntl::HaGroupConfig> group = ntl::FindHaGroup(*config, label);
    if (!group.ok()) return group.status();
    absl::StatusOr<ntl::HaMemberConfig> member =
        Member(*config, server, partition, false);
    if (!member.ok()) return member.status();
    return ntl::RemoveHaMember(config, label, *member);
  });
}

TL_EXPORT tl_status tl_client_root_ha_delete_group(tl_client_root* root,
                                                   const char* label) noexcept {
  return Edit(root, __func__, [&](ntl::ClientConfig* config) -> absl::Status {
    if (label == nullptr) return NullArgument("label");
    return ntl::DeleteHaGroup(config, label);
  });
}

TL_EXPORT tl_status tl_client_root_ha_set_ha_only(tl_client_root* root,
                                                  int32_t ha_only) noexcept {
  return Edit(root, __func__, [&](ntl::ClientConfig* config) -> absl::Status {
    ntl::SetHaOnly(config, ha_only != 0);
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_client_root_ha_set_reconnect_interval(
    tl_client_root* root, int32_t seconds) noexcept {
  return Edit(root, __func__, [&](ntl::ClientConfig* config) {
    return ntl::SetHaReconnectInterval(config, seconds);
  });
}

TL_EXPORT tl_status tl_client_root_ha_set_reconnect_attempts(
    tl_client_root* root, int32_t attempts) noexcept {
  return Edit(root, __func__, [&](ntl::ClientConfig* config) {
    return ntl::SetHaReconnectAttempts(config, attempts);
  });
}

TL_EXPORT tl_status tl_client_root_ha_list_groups(
    tl_client_root* root, tl_ha_group_list** out) noexcept {
  if (root == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_root handle is NULL");
  }
  return Guard(&root->last_error, [&]() -> absl::Status {
    if (!root->root) return NotOpen();
    if (out == nullptr) return NullArgument("out");
    absl::StatusOr<ntl::ClientConfig> config = root->root->LoadConfig();
    if (!config.ok()) return config.status();
    absl::StatusOr<std::vector<ntl::HaGroupConfig>> groups =
        ntl::HaGroups(*config);
    if (!groups.ok()) return groups.status();
    auto* list = new tl_ha_group_list();
    list->groups = *std::move(groups);
    list->options = ntl::GetHaOptions(*config);
    *out = list;
    return absl::OkStatus();
  });
}

TL_EXPORT void tl_ha_group_list_free(tl_ha_group_list* list) noexcept {
  delete list;
}

TL_EXPORT size_t tl_ha_group_list_count(const tl_ha_group_list* list) noexcept {
  return list == nullptr ? 0 : list->groups.size();
}

}  // extern "C"

namespace {

// GroupAt checks the list, the index and one out-pointer, for the getters.
tl_status GroupAt(const char* function, const tl_ha_group_list* list,
                  size_t index, const void* out,
                  const ntl::HaGroupConfig** group) {
  using trustlink::capi::internal::ArgumentError;
  if (list == nullptr) {
    return ArgumentError(function, "the tl_ha_group_list handle is NULL");
  }
  if (out == nullptr) return ArgumentError(function, "out is NULL");
  if (index >= list->groups.size()) {
    return trustlink::capi::internal::IndexOutOfRange(
        function, "index", index, "the tl_ha_group_list", list->groups.size(),
        "HA group");
  }
  *group = &list->groups[index];
  return TL_OK;
}

// GroupString implements the string getters of one group.
tl_status GroupString(const char* function, const tl_ha_group_list* list,
                      size_t index,
                      const std::string ntl::HaGroupConfig::*field,
                      const char** out) {
  const ntl::HaGroupConfig* group = nullptr;
  tl_status s = GroupAt(function, list, index, out, &group);
  if (s != TL_OK) return s;
  *out = (group->*field).c_str();
  return TL_OK;
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_ha_group_list_label(const tl_ha_group_list* list,
                                           size_t index,
                                           const char** out) noexcept {
  return GroupString(__func__, list, index, &ntl::HaGroupConfig::label, out);
}

TL_EXPORT tl_status tl_ha_group_list_serial(const tl_ha_group_list* list,
                                            size_t index,
                                            const char** out) noexcept {
  return GroupString(__func__, list, index, &ntl::HaGroupConfig::serial, out);
}

TL_EXPORT tl_status tl_ha_group_list_member_count(const tl_ha_group_list* list,
                                                  size_t index,
                                                  size_t* out) noexcept {
  const ntl::HaGroupConfig* group = nullptr;
  tl_status s = GroupAt(__func__, list, index, out, &group);
  if (s != TL_OK) return s;
  *out = group->members.size();
  return TL_OK;
}

TL_EXPORT tl_status tl_ha_group_list_member(const tl_ha_group_list* list,
                                            size_t index, size_t member,
                                            const char** out_server,
                                            const char** out_partition,
                                            const char** out_serial,
                                            int32_t* out_standby) noexcept {
  using trustlink::capi::internal::ArgumentError;
  const ntl::HaGroupConfig* group = nullptr;
  tl_status s = GroupAt(__func__, list, index, out_server, &group);
  if (s != TL_OK) return s;
  if (out_partition == nullptr || out_serial == nullptr ||
      out_standby == nullptr) {
    return ArgumentError(__func__,
                         "out_partition, out_serial and out_standby must not "
                         "be NULL");
  }
  if (member >= group->members.size()) {
    return trustlink::capi::internal::IndexOutOfRange(
        __func__, "member", member,
        absl::StrCat("HA group '", group->label, "'"), group->members.size(),
        "member");
  }
  const ntl::HaMemberConfig& m = group->members[member];
  *out_server = m.server.c_str();
  *out_partition = m.partition.c_str();
  *out_serial = m.serial.c_str();
  *out_standby = m.standby ? 1 : 0;
  return TL_OK;
}

TL_EXPORT tl_status
tl_ha_group_list_options(const tl_ha_group_list* list, int32_t* out_ha_only,
                         int32_t* out_auto_reconnect_interval_s,
                         int32_t* out_reconnect_attempts) noexcept {
  if (list == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_ha_group_list handle is NULL");
  }
  if (out_ha_only == nullptr || out_auto_reconnect_interval_s == nullptr ||
      out_reconnect_attempts == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "an out-pointer is NULL");
  }
  *out_ha_only = list->options.ha_only ? 1 : 0;
  *out_auto_reconnect_interval_s =
      list->options.auto_reconnect_interval_seconds;
  *out_reconnect_attempts = list->options.reconnect_attempts;
  return TL_OK;
}

}  // extern "C"
