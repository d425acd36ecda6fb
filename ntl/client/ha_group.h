#ifndef TRUSTLINK_NTL_CLIENT_HA_GROUP_H_
#define TRUSTLINK_NTL_CLIENT_HA_GROUP_H_

// HaGroups: the state of a Client's HA groups (docs/ha.md). Each group is one
// virtual slot over member partitions on several servers. A member takes load
// while its server's link is up and its server lists its partition; a lost
// member is let back only by a probe, on a backoff that starts at
// HaSettings::auto_reconnect_interval, and is given up on after
// HaSettings::reconnect_attempts failed probes. The link's own reconnect
// (Connection) brings the link back; the probe decides when the member takes
// load again.

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ntl/client/settings.h"

namespace trustlink::ntl::client {

enum class HaMemberState {
  kUp = 0,       // takes load
  kDown = 1,     // lost (or not yet seen); probed until it returns
  kGivenUp = 2,  // lost, and reconnect_attempts probes failed
};
enum class HaGroupState {
  kUp = 0,    // at least one member is up
  kDown = 1,  // calls fail until a member returns
};

const char* HaMemberStateName(HaMemberState state);
const char* HaGroupStateName(HaGroupState state);

struct HaMemberStatus {
  std::string server;
  std::string partition;  // as found (a serial-only member's, once listed)
  bool standby = false;
  HaMemberState state = HaMemberState::kDown;
  uint64_t in_flight = 0;
  std::string last_failure;  // "" when it never failed
};

struct HaGroupStatus {
  std::string label;
  std::string serial;
  int slot = -1;  // -1 until numbered (the first attempt to every server)
  HaGroupState state = HaGroupState::kDown;
  std::vector<HaMemberStatus> members;
};

// MemberView is what the Client sees of one member's partition now.
struct MemberView {
  bool found = false;  // a configured server lists (or listed) it
  size_t server = 0;   // index in ClientSettings::servers
  std::string partition;
  bool ready = false;  // link up and partition listed
  absl::Status why;    // why not ready
};
using MemberLookup = std::function<MemberView(const HaMemberSettings&)>;

// Thread safety: not thread-safe; the Client calls it with its mutex held.
class HaGroups {
 public:
  explicit HaGroups(const ClientSettings& settings);

  // Validate checks settings.ha_groups against settings.servers; the error
  // names the group or member and the fix.
  static absl::Status Validate(const ClientSettings& settings);

  size_t size() const { return groups_.size(); }
  const std::string& label(size_t group) const;
  bool ha_only() const { return ha_.ha_only; }

  void SetSlot(size_t group, int slot) { groups_[group].slot = slot; }
  int slot(size_t group) const { return groups_[group].slot; }
  // GroupForSlot returns the group whose virtual slot is `slot`, or -1.
  int GroupForSlot(int slot) const;
  // GroupOfMember returns the group that has (server, partition, serial) as a
  // member, or -1.
  int GroupOfMember(const std::string& server, const std::string& partition,
                    const std::string& serial) const;

  // Refresh looks at every member through `lookup`: members that are no
  // longer ready go down at once; lost members whose probe is due come back
  // if ready (or count a failed probe). New events are appended to `events`.
  void Refresh(const MemberLookup& lookup, absl::Time now,
               std::vector<LinkEvent>* events);
  // NextProbe is when Refresh next has a probe due.
  absl::Time NextProbe() const;

  // Pick returns the member of `group` to send the next call to: an up active
  // member with the fewest calls in flight, else such a standby, leaving out
  // `exclude`; -1 when there is none.
  int Pick(size_t group, const std::set<size_t>& exclude);
  // Target: where member `member`'s calls go (valid after Pick chose it).
  size_t server(size_t group, size_t member) const;
  const std::string& partition(size_t group, size_t member) const;

  void CallStarted(size_t group, size_t member);
  void CallEnded(size_t group, size_t member);
  // NoteFailure keeps `why` as the member's last failure.
  void NoteFailure(size_t group, size_t member, const absl::Status& why);
  // NoMember is the error of a call on `group` with no member left to try.
  absl::Status NoMember(size_t group) const;

  std::vector<HaGroupStatus> Status(
      const std::vector<std::string>& server_names) const;

 private:
  struct Member {
    HaMemberSettings settings;
    MemberView view;
    HaMemberState state = HaMemberState::kDown;
    bool lost = false;  // was up once: comes back only by a probe
    int probes = 0;     // failed probes since it was lost
    absl::Time next_probe = absl::InfiniteFuture();
    uint64_t in_flight = 0;
    std::string last_failure;
  };
  struct Group {
    HaGroupSettings settings;
    int slot = -1;
    HaGroupState state = HaGroupState::kDown;
    std::vector<Member> members;
  };

  void MemberDown(size_t g, size_t m, const absl::Status& why, absl::Time now,
                  std::vector<LinkEvent>* events);
  void Probe(size_t g, size_t m, absl::Time now,
             std::vector<LinkEvent>* events);
  absl::Duration ProbeDelay(int probes) const;

  HaSettings ha_;
  std::vector<Group> groups_;
  std::vector<size_t> cursor_;  // per group: where Pick starts looking
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_HA_GROUP_H_
