// HA groups through the C ABI (trustlink/ha.h): defining them on the settings
// and reading their state from an open client.
#include <string>
#include <utility>
#include <vector>

#include "capi/src/client_handles.h"
#include "trustlink/ha.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::OutOfRangeError;
namespace client = trustlink::ntl::client;
using namespace trustlink::capi::client_internal;  // NOLINT: the helpers of
                                                   // this ABI part

static_assert(static_cast<int>(client::LinkEvent::Kind::kHaMemberDown) ==
                  TL_LINK_EVENT_HA_MEMBER_DOWN &&
              static_cast<int>(client::LinkEvent::Kind::kHaMemberUp) ==
                  TL_LINK_EVENT_HA_MEMBER_UP &&
              static_cast<int>(client::LinkEvent::Kind::kHaGroupDown) ==
                  TL_LINK_EVENT_HA_GROUP_DOWN &&
              static_cast<int>(client::LinkEvent::Kind::kHaGroupUp) ==
                  TL_LINK_EVENT_HA_GROUP_UP);
static_assert(static_cast<int>(client::HaMemberState::kUp) == TL_HA_MEMBER_UP &&
              static_cast<int>(client::HaMemberState::kDown) ==
                  TL_HA_MEMBER_DOWN &&
              static_cast<int>(client::HaMemberState::kGivenUp) ==
                  TL_HA_MEMBER_GIVEN_UP &&
              static_cast<int>(client::HaGroupState::kUp) == TL_HA_GROUP_UP &&
              static_cast<int>(client::HaGroupState::kDown) ==
                  TL_HA_GROUP_DOWN);

namespace {

#define TL_SETTINGS_USABLE(s)                                            \
  do {                                                                   \
    if ((s) == nullptr) {                                                \
      return TL_ARGUMENT_ERROR(nullptr,                                  \
                               "the tl_client_settings handle is NULL"); \
    }                                                                    \
  } while (0)

// WithGroup runs `f` on group `group`'s status, recording failures on `c`.
template <typename F>
tl_status WithGroup(const char* function, const tl_client* c, size_t group,
                    F f) {
  return WithClient(function, c, [&](client::Client& cl) -> absl::Status {
    std::vector<client::HaGroupStatus> groups = cl.HaStatus();
    if (group >= groups.size()) {
      return OutOfRangeError("HA group index", group, "the client",
                             groups.size(), "HA group");
    }
    return f(groups[group]);
  });
}

// WithMember runs `f` on member `member` of group `group`.
template <typename F>
tl_status WithMember(const char* function, const tl_client* c, size_t group,
                     size_t member, F f) {
  return WithGroup(
      function, c, group, [&](const client::HaGroupStatus& g) -> absl::Status {
        if (member >= g.members.size()) {
          return OutOfRangeError("member index", member,
                                 absl::StrCat("HA group '", g.label, "'"),
                                 g.members.size(), "member");
        }
        return f(g.members[member]);
      });
}

}  // namespace

extern "C" TL_EXPORT tl_status tl_client_settings_add_ha_group(
    tl_client_settings* s, const char* label, const char* serial) noexcept {
  TL_SETTINGS_USABLE(s);
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (label == nullptr) {
      return NullArgument("label");
    }
    for (const client::HaGroupSettings& g : s->settings.ha_groups) {
      if (g.label == label) {
        return trustlink::ntl::Error(
            absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
            absl::StrCat("an HA group labelled '", label,
                         "' is already defined; give each group its own "
                         "label"));
      }
    }
    client::HaGroupSettings g;
    g.label = label;
    g.serial = serial != nullptr ? serial : "";
    s->settings.ha_groups.push_back(std::move(g));
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_add_ha_member(
    tl_client_settings* s, const char* group_label, const char* server,
    const char* partition, int32_t standby) noexcept {
  TL_SETTINGS_USABLE(s);
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (group_label == nullptr || server == nullptr || partition == nullptr) {
      return NullArgument("group_label, server and partition");
    }
    if (standby != 0 && standby != 1) {
      return BadArgument("standby must be 0 (active) or 1 (standby)");
    }
    if (*server == '\0' || *partition == '\0') {
      return BadArgument("an HA member needs a server and a partition name");
    }
    for (client::HaGroupSettings& g : s->settings.ha_groups) {
      if (g.label != group_label) {
        continue;
      }
      for (const client::HaMemberSettings& m : g.members) {
        if (m.server == server && m.partition == partition) {
          return trustlink::ntl::Error(
              absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
              absl::StrCat("partition '", partition, "' on server '", server,
                           "' is already a member of HA group '", group_label,
                           "'"));
        }
      }
      client::HaMemberSettings m;
      m.server = server;
      m.partition = partition;
      m.standby = standby == 1;
      g.members.push_back(std::move(m));
      return absl::OkStatus();
    }
    return trustlink::ntl::Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat("no HA group is labelled '", group_label,
                     "'; add it first (tl_client_settings_add_ha_group)"));
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_ha(
    tl_client_settings* s, int32_t ha_only, uint32_t auto_reconnect_interval_ms,
    int32_t reconnect_attempts) noexcept {
  TL_SETTINGS_USABLE(s);
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (ha_only != 0 && ha_only != 1) {
      return BadArgument("ha_only must be 0 or 1");
    }
    if (auto_reconnect_interval_ms == 0) {
      return BadArgument(
          "the HA auto-reconnect interval must be non-zero (milliseconds)");
    }
    if (reconnect_attempts < -1) {
      return BadArgument(
          "reconnect_attempts must be -1 (never give up) or a count");
    }
    s->settings.ha.ha_only = ha_only == 1;
    s->settings.ha.auto_reconnect_interval =
        absl::Milliseconds(auto_reconnect_interval_ms);
    s->settings.ha.reconnect_attempts = reconnect_attempts;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status
tl_client_ha_group_count(const tl_client* c, size_t* out_count) noexcept {
  TL_CLIENT_USABLE(c);
  if (out_count == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_count is NULL");
  }
  *out_count = c->client->HaStatus().size();
  return TL_OK;
}

extern "C" TL_EXPORT tl_status
tl_client_ha_group_state(const tl_client* c, size_t group, int32_t* out_slot,
                         int32_t* out_state, size_t* out_num_members) noexcept {
  if (out_slot == nullptr || out_state == nullptr ||
      out_num_members == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "out_slot, out_state and out_num_members are "
                             "needed");
  }
  return WithGroup(__func__, c, group,
                   [&](const client::HaGroupStatus& g) -> absl::Status {
                     *out_slot = g.slot;
                     *out_state = static_cast<int32_t>(g.state);
                     *out_num_members = g.members.size();
                     return absl::OkStatus();
                   });
}

extern "C" TL_EXPORT tl_status
tl_client_ha_group_label(const tl_client* c, size_t group, char* buf,
                         size_t buf_len, size_t* out_len) noexcept {
  return WithGroup(__func__, c, group, [&](const client::HaGroupStatus& g) {
    return CopyOut(g.label, buf, buf_len, out_len);
  });
}

extern "C" TL_EXPORT tl_status tl_client_ha_member_state(
    const tl_client* c, size_t group, size_t member, int32_t* out_state,
    int32_t* out_standby, uint64_t* out_in_flight) noexcept {
  if (out_state == nullptr || out_standby == nullptr ||
      out_in_flight == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "out_state, out_standby and out_in_flight are "
                             "needed");
  }
  return WithMember(__func__, c, group, member,
                    [&](const client::HaMemberStatus& m) -> absl::Status {
                      *out_state = static_cast<int32_t>(m.state);
                      *out_standby = m.standby ? 1 : 0;
                      *out_in_flight = m.in_flight;
                      return absl::OkStatus();
                    });
}

#define TL_HA_MEMBER_STRING(name, field)                                \
  extern "C" TL_EXPORT tl_status tl_client_ha_member_##name(            \
      const tl_client* c, size_t group, size_t member, char* buf,       \
      size_t buf_len, size_t* out_len) noexcept {                       \
    return WithMember(__func__, c, group, member,                       \
                      [&](const client::HaMemberStatus& m) {            \
                        return CopyOut(m.field, buf, buf_len, out_len); \
                      });                                               \
  }
TL_HA_MEMBER_STRING(server, server)
TL_HA_MEMBER_STRING(partition, partition)
TL_HA_MEMBER_STRING(error, last_failure)
#undef TL_HA_MEMBER_STRING
