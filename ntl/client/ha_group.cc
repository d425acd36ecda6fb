#include "ntl/client/ha_group.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

// A lost member's probes back off from the interval up to this many times it,
// so a long outage costs few probes and a return is still seen within minutes.
constexpr int kMaxProbeFactor = 8;

absl::Status ConfigError(absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, TL_E_CONFIG_INVALID,
               message);
}

// Labels key the virtual slot in slots.conf, whose fields are separated by
// blanks.
bool LabelOk(absl::string_view label) {
  if (label.empty()) {
    return false;
  }
  for (char c : label) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

}  // namespace

const char* HaMemberStateName(HaMemberState state) {
  switch (state) {
    case HaMemberState::kUp:
      return "up";
    case HaMemberState::kDown:
      return "down";
    case HaMemberState::kGivenUp:
      return "given-up";
  }
  return "unknown";
}

const char* HaGroupStateName(HaGroupState state) {
  return state == HaGroupState::kUp ? "up" : "down";
}

absl::Status HaGroups::Validate(const ClientSettings& settings) {
  if (!settings.ha_groups.empty() &&
      settings.ha.auto_reconnect_interval <= absl::ZeroDuration()) {
    return ConfigError(
        "the HA AutoReconnectInterval must be more than 0; set it in seconds "
        "(tl_client_settings_set_ha)");
  }
  for (size_t g = 0; g < settings.ha_groups.size(); ++g) {
    const HaGroupSettings& group = settings.ha_groups[g];
    if (!LabelOk(group.label)) {
      return ConfigError(
          absl::StrCat("HA group ", g, " has the label '", group.label,
                       "'; a label must be non-empty without blanks or control "
                       "characters"));
    }
    for (size_t o = 0; o < g; ++o) {
      if (absl::EqualsIgnoreCase(settings.ha_groups[o].label, group.label)) {
        return ConfigError(absl::StrCat("two HA groups are labelled '",
                                        group.label,
                                        "'; give each group its own label"));
      }
    }
    if (group.members.empty()) {
      return ConfigError(absl::StrCat("HA group '", group.label,
                                      "' has no members; add one "
                                      "(tl_client_settings_add_ha_member)"));
    }
    for (const HaMemberSettings& m : group.members) {
      if (m.serial.empty() && (m.server.empty() || m.partition.empty())) {
        return ConfigError(absl::StrCat(
            "a member of HA group '", group.label,
            "' names neither a server and partition nor a serial number"));
      }
      if (m.server.empty()) {
        continue;
      }
      bool known = false;
      for (const ServerSettings& s : settings.servers) {
        known = known || absl::EqualsIgnoreCase(s.name, m.server);
      }
      if (!known) {
        return ConfigError(absl::StrCat(
            "HA group '", group.label, "' has a member on server '", m.server,
            "', which is not configured; add the server first "
            "(tl_client_settings_add_server, vtl addServer)"));
      }
    }
  }
  return absl::OkStatus();
}

HaGroups::HaGroups(const ClientSettings& settings) : ha_(settings.ha) {
  for (const HaGroupSettings& gs : settings.ha_groups) {
    Group g;
    g.settings = gs;
    for (const HaMemberSettings& ms : gs.members) {
      Member m;
      m.settings = ms;
      m.view.partition = ms.partition;
      m.last_failure = "not seen yet";
      for (size_t i = 0; i < settings.servers.size(); ++i) {
        if (absl::EqualsIgnoreCase(settings.servers[i].name, ms.server)) {
          m.view.server = i;
        }
      }
      g.members.push_back(std::move(m));
    }
    groups_.push_back(std::move(g));
  }
  cursor_.assign(groups_.size(), 0);
}

const std::string& HaGroups::label(size_t group) const {
  return groups_[group].settings.label;
}

int HaGroups::GroupForSlot(int slot) const {
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (groups_[g].slot >= 0 && groups_[g].slot == slot) {
      return static_cast<int>(g);
    }
  }
  return -1;
}

int HaGroups::GroupOfMember(const std::string& server,
                            const std::string& partition,
                            const std::string& serial) const {
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (const Member& m : groups_[g].members) {
      const HaMemberSettings& s = m.settings;
      const bool by_name = !s.server.empty() &&
                           absl::EqualsIgnoreCase(s.server, server) &&
                           s.partition == partition;
      const bool by_serial = !s.serial.empty() && s.serial == serial;
      if (by_name || by_serial) {
        return static_cast<int>(g);
      }
    }
  }
  return -1;
}

absl::Duration HaGroups::ProbeDelay(int probes) const {
  absl::Duration d = ha_.auto_reconnect_interval;
  for (int i = 0;
       i < probes && d < kMaxProbeFactor * ha_.auto_reconnect_interval; ++i) {
    d *= 2;
  }
  return std::min(d, kMaxProbeFactor * ha_.auto_reconnect_interval);
}

void HaGroups::MemberDown(size_t g, size_t m, const absl::Status& why,
                          absl::Time now, std::vector<LinkEvent>* events) {
  Member& mb = groups_[g].members[m];
  mb.state = HaMemberState::kDown;
  mb.lost = true;
  mb.probes = 0;
  mb.next_probe = now + ProbeDelay(0);
  mb.last_failure = std::string(why.message());
  events->push_back(LinkEvent{LinkEvent::Kind::kHaMemberDown, mb.view.server,
                              FreshStatus(why), g, m});
}

void HaGroups::Probe(size_t g, size_t m, absl::Time now,
                     std::vector<LinkEvent>* events) {
  Member& mb = groups_[g].members[m];
  if (mb.view.ready) {
    mb.state = HaMemberState::kUp;
    mb.probes = 0;
    mb.next_probe = absl::InfiniteFuture();
    // Catch-up of replications a member missed (the PKCS#11 bridge's) goes
    // here, before the member takes load again.
    events->push_back(LinkEvent{LinkEvent::Kind::kHaMemberUp, mb.view.server,
                                absl::OkStatus(), g, m});
    return;
  }
  ++mb.probes;
  if (ha_.reconnect_attempts >= 0 && mb.probes >= ha_.reconnect_attempts) {
    mb.state = HaMemberState::kGivenUp;
    mb.next_probe = absl::InfiniteFuture();
    mb.last_failure = absl::StrCat(
        mb.view.why.message(), "; given up after ", mb.probes,
        " failed probes (HA reconnAtt); it takes load again after the client "
        "is opened again");
    return;
  }
  mb.next_probe = now + ProbeDelay(mb.probes);
}

void HaGroups::Refresh(const MemberLookup& lookup, absl::Time now,
                       std::vector<LinkEvent>* events) {
  for (size_t g = 0; g < groups_.size(); ++g) {
    Group& group = groups_[g];
    bool any_up = false;
    for (size_t m = 0; m < group.members.size(); ++m) {
      Member& mb = group.members[m];
      MemberView view = lookup(mb.settings);
      if (!view.found) {
        view.server = mb.view.server;
        view.partition = mb.view.partition;
      }
      mb.view = std::move(view);
      if (mb.state == HaMemberState::kUp && !mb.view.ready) {
        MemberDown(g, m, mb.view.why, now, events);
      } else if (mb.state == HaMemberState::kDown && !mb.lost) {
        // Never up yet: it joins as soon as it is seen.
        if (mb.view.ready) {
          mb.state = HaMemberState::kUp;
          mb.last_failure.clear();
          events->push_back(LinkEvent{LinkEvent::Kind::kHaMemberUp,
                                      mb.view.server, absl::OkStatus(), g, m});
        } else {
          mb.last_failure = std::string(mb.view.why.message());
        }
      } else if (mb.state == HaMemberState::kDown && now >= mb.next_probe) {
        Probe(g, m, now, events);
      }
      any_up = any_up || mb.state == HaMemberState::kUp;
    }
    const HaGroupState state = any_up ? HaGroupState::kUp : HaGroupState::kDown;
    if (state != group.state) {
      group.state = state;
      if (state == HaGroupState::kUp) {
        events->push_back(
            LinkEvent{LinkEvent::Kind::kHaGroupUp, 0, absl::OkStatus(), g, 0});
      } else {
        events->push_back(
            LinkEvent{LinkEvent::Kind::kHaGroupDown, 0, NoMember(g), g, 0});
      }
    }
  }
}

absl::Time HaGroups::NextProbe() const {
  absl::Time next = absl::InfiniteFuture();
  for (const Group& g : groups_) {
    for (const Member& m : g.members) {
      if (m.state == HaMemberState::kDown && m.lost) {
        next = std::min(next, m.next_probe);
      }
    }
  }
  return next;
}

int HaGroups::Pick(size_t group, const std::set<size_t>& exclude) {
  const Group& g = groups_[group];
  const size_t n = g.members.size();
  for (bool standby : {false, true}) {
    int best = -1;
    // Ties go round the members, so sequential calls spread too.
    for (size_t k = 0; k < n; ++k) {
      const size_t m = (cursor_[group] + k) % n;
      const Member& mb = g.members[m];
      if (mb.state != HaMemberState::kUp || mb.settings.standby != standby ||
          exclude.count(m) != 0) {
        continue;
      }
      if (best < 0 || mb.in_flight < g.members[best].in_flight) {
        best = static_cast<int>(m);
      }
    }
    if (best >= 0) {
      cursor_[group] = (static_cast<size_t>(best) + 1) % n;
      return best;
    }
  }
  return -1;
}

size_t HaGroups::server(size_t group, size_t member) const {
  return groups_[group].members[member].view.server;
}

const std::string& HaGroups::partition(size_t group, size_t member) const {
  return groups_[group].members[member].view.partition;
}

void HaGroups::CallStarted(size_t group, size_t member) {
  ++groups_[group].members[member].in_flight;
}

void HaGroups::CallEnded(size_t group, size_t member) {
  Member& m = groups_[group].members[member];
  if (m.in_flight > 0) {
    --m.in_flight;
  }
}

void HaGroups::NoteFailure(size_t group, size_t member,
                           const absl::Status& why) {
  groups_[group].members[member].last_failure = std::string(why.message());
}

absl::Status HaGroups::NoMember(size_t group) const {
  const Group& g = groups_[group];
  std::string members;
  for (const Member& m : g.members) {
    absl::StrAppend(
        &members, members.empty() ? "" : "; ", "'",
        m.view.partition.empty() ? m.settings.serial : m.view.partition,
        "' on '", m.settings.server, "' is ", HaMemberStateName(m.state), ": ",
        m.last_failure);
  }
  return Error(absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
               absl::StrCat("no member of HA group '", g.settings.label,
                            "' can take the call (", members,
                            "); lost members are probed every ",
                            absl::FormatDuration(ha_.auto_reconnect_interval),
                            " or more; tl_client_ha_member_state shows them"));
}

std::vector<HaGroupStatus> HaGroups::Status(
    const std::vector<std::string>& server_names) const {
  std::vector<HaGroupStatus> out;
  for (const Group& g : groups_) {
    HaGroupStatus gs;
    gs.label = g.settings.label;
    gs.serial = g.settings.serial;
    gs.slot = g.slot;
    gs.state = g.state;
    for (const Member& m : g.members) {
      HaMemberStatus ms;
      ms.server = m.view.server < server_names.size()
                      ? server_names[m.view.server]
                      : m.settings.server;
      ms.partition =
          m.view.partition.empty() ? m.settings.serial : m.view.partition;
      ms.standby = m.settings.standby;
      ms.state = m.state;
      ms.in_flight = m.in_flight;
      ms.last_failure = m.last_failure;
      gs.members.push_back(std::move(ms));
    }
    out.push_back(std::move(gs));
  }
  return out;
}

}  // namespace trustlink::ntl::client
