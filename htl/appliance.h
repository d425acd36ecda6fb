#ifndef TRUSTLINK_HTL_APPLIANCE_H_
#define TRUSTLINK_HTL_APPLIANCE_H_

// The appliance's Host Trust Link state machine (docs/htl.md). It issues
// one-time tokens, exchanges them for secrets, ratchets the secret at every
// heartbeat, detects clones and rolled-back copies, checks the HTL proofs of
// application links, and runs the grace period.
//
// Everything is persisted under <root>/htl/ (one file per client, replaced
// atomically and fsynced BEFORE any reply leaves), so ntlsd and ntlsh can share
// it and a crash at any point causes neither a false clone alarm nor forced
// re-enrolment.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "htl/client_state.h"
#include "htl/clock.h"
#include "htl/internal/files.h"
#include "htl/messages.h"
#include "ntl/internal/mutex.h"

namespace trustlink::htl {

enum class HtlStatus { kUnknown, kUp, kGracePeriod, kDown };
enum class OttStatus { kNoFile, kReady, kInUse, kExpired };

// HtlStatusName returns "Up", "Grace Period", "Down" or "Unknown" (the `htl
// show` words).
const char* HtlStatusName(HtlStatus status);
// OttStatusName returns "Ready", "In use", "No file" or "Expired".
const char* OttStatusName(OttStatus status);

struct HtlSettings {
  absl::Duration grace_period = absl::Seconds(60);
  absl::Duration default_ott_expiry = absl::Seconds(300);
  // The agent heartbeats this often; a link with no valid heartbeat for three
  // intervals is treated as dropped (its grace period starts).
  absl::Duration heartbeat_interval = absl::Seconds(10);
};

// ClientView is one line of `htl show`.
struct ClientView {
  std::string client;
  HtlStatus htl = HtlStatus::kUnknown;
  OttStatus ott = OttStatus::kNoFile;
  int64_t ott_expiry_seconds = 0;
  bool ott_expiry_is_default = true;
  absl::Time ott_expires_at =
      absl::InfinitePast();  // of the latest token, if any
  absl::Time grace_ends_at = absl::InfinitePast();  // when htl == kGracePeriod
  std::string down_reason;                          // when htl == kDown
  uint64_t generation = 0;                          // of the current secret
  std::string link_source;  // where the HTL link last came from
};

// SessionInfo describes the TLS session a request arrived on.
struct SessionInfo {
  std::string id;        // unique per TLS connection in this process
  std::string exporter;  // SSL_export_keying_material(kExporterLabel),
                         // kExporterLen bytes
  std::string source;    // peer address, "203.0.113.7:40112"
};

// HtlEvent tells the embedder (the NTLS server) what to act on. kDown: close
// every link of `client` at once. Alerts (clone detected) carry both source
// addresses.
struct HtlEvent {
  enum class Kind { kDown, kAlert };
  Kind kind = Kind::kDown;
  std::string client;
  std::string message;
  std::string source_presented;  // kAlert: where the stale proof came from
  std::string source_other;  // kAlert: where the live chain's secret was issued
  absl::Time at = absl::InfinitePast();
};

// Thread safety: all methods are safe to call from many threads; state changes
// are serialised by an internal mutex and, between processes, by an OFD lock on
// <root>/htl/lock. The event sink is called without any internal lock held.
class Appliance {
 public:
  struct Options {
    std::string root;  // the appliance root; HTL state lives in <root>/htl/
    Clock* clock = Clock::Real();
    // daemon: this process serves HTL links (ntlsd). Opening as daemon starts a
    // new "boot": links recorded by an earlier run count as dropped now, so
    // their grace period starts at this boot, never earlier (no forced
    // re-enrolment after an appliance outage).
    bool daemon = false;
  };

  static absl::StatusOr<std::unique_ptr<Appliance>> Open(
      const Options& options);

  // --- Administration (ntlsh) ---
  // GenerateOtt makes a token for `client`, voiding any earlier one, and
  // returns the raw token for the token file (FormatTokenFile). `expiry`, when
  // given, becomes the client's OTT expiry; otherwise the client's override or
  // the default applies.
  absl::StatusOr<std::string> GenerateOtt(
      absl::string_view client, absl::optional<absl::Duration> expiry);
  // SetClientOttExpiry sets (or, with nullopt, removes) the client's OTT expiry
  // override.
  absl::Status SetClientOttExpiry(absl::string_view client,
                                  absl::optional<absl::Duration> expiry);
  // Clear drops the client's HTL state (chain and token); a new OTT is needed.
  // Emits kDown. It also resets a state file that no longer loads (corrupt);
  // then the client's OTT expiry override is lost with it.
  absl::Status Clear(absl::string_view client);
  absl::StatusOr<HtlSettings> Settings() const;
  absl::Status SetGracePeriod(absl::Duration d);
  absl::Status SetDefaultOttExpiry(absl::Duration d);
  absl::Status SetHeartbeatInterval(absl::Duration d);
  absl::StatusOr<ClientView> Show(absl::string_view client);
  absl::StatusOr<std::vector<ClientView>> ShowAll();

  // --- The HTL link (ntlsd, ALPN htl/1) ---
  // Establish exchanges a one-time token for the first secret (generation >=
  // 1). Refusals: TL_E_OTT_EXPIRED, TL_E_OTT_USED, TL_E_OTT_INVALID (another
  // client's, voided, unknown, or bound to another TLS session).
  absl::StatusOr<Grant> Establish(absl::string_view client,
                                  const SessionInfo& session,
                                  const EstablishRequest& request);
  // Heartbeat verifies a proof under the current or previous secret and issues
  // the next. A proof under a retired secret is a clone or a rollback:
  // TL_E_HTL_CLONE_DETECTED, the client goes Down and an alert is raised. A
  // proof under no known secret is refused (TL_E_UNAUTHENTICATED) without
  // changing state: it proves nothing about clones.
  absl::StatusOr<Grant> Heartbeat(absl::string_view client,
                                  const SessionInfo& session,
                                  const HeartbeatRequest& request);
  // OnHtlLinkClosed records that the HTL link `session_id` of `client` ended:
  // if it was the client's live HTL link, the grace period starts.
  void OnHtlLinkClosed(absl::string_view client, absl::string_view session_id);

  // --- Application links of requirehtl clients (ntlsd, ALPN ntl/1) ---
  // CheckLinkProof admits an application link only while HTL is Up or Grace
  // Period and the proof verifies under the current or previous secret over
  // this link's exporter.
  absl::Status CheckLinkProof(absl::string_view client,
                              absl::string_view exporter,
                              const LinkProof& proof);

  // Tick moves clients whose grace period has ended to Down (emitting kDown).
  // The daemon calls it about once a second; other calls materialise Down
  // lazily as well.
  void Tick();

  // SetEventSink installs the callback for HtlEvents (replacing any earlier
  // one).
  void SetEventSink(std::function<void(const HtlEvent&)> sink);

  // Alerts returns the alert log's lines (oldest first).
  absl::StatusOr<std::vector<std::string>> Alerts() const;

 private:
  struct Boot {
    std::string id;
    absl::Time at = absl::InfinitePast();
  };

  Appliance(const Options& options, internal::Dir dir, Boot boot)
      : clock_(options.clock), dir_(std::move(dir)), boot_(boot) {}

  absl::StatusOr<ClientState> Load(absl::string_view client) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Save(const ClientState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<HtlSettings> LoadSettings() const;
  absl::Status SaveSettings(const HtlSettings& settings) const;
  // EditSettings applies `edit` to the stored settings, under both locks.
  absl::Status EditSettings(const std::function<void(HtlSettings*)>& edit)
      ABSL_LOCKS_EXCLUDED(mu_);
  HtlStatus StatusOf(const ClientState& s, const HtlSettings& settings,
                     absl::Time now, absl::Time* grace_end) const;
  ClientView ViewOf(const ClientState& s, const HtlSettings& settings,
                    absl::Time now) const;
  // MaterialiseDown persists Down when the grace period has ended; true if it
  // did.
  absl::StatusOr<bool> MaterialiseDown(ClientState* s,
                                       const HtlSettings& settings,
                                       absl::Time now,
                                       std::vector<HtlEvent>* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  SecretEntry NewSecret(ClientState* s, const SessionInfo& session,
                        absl::Time now) const;
  void MarkLinkUp(ClientState* s, const SessionInfo& session, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // GrantCurrent marks the link up, persists `s` and returns its current
  // secret as the grant; persisting comes first, so a crash after it is a lost
  // reply (which the retry rules absorb), never an unrecorded secret.
  absl::StatusOr<Grant> GrantCurrent(ClientState* s, const SessionInfo& session,
                                     absl::Time now,
                                     const HtlSettings& settings)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> OwnerOfToken(absl::string_view token_hash) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Dispatch(const std::vector<HtlEvent>& events);

  Clock* const clock_;
  const internal::Dir dir_;  // <root>/htl
  const Boot boot_;

  mutable ntl::internal::Mutex mu_;
  // Clients with a live chain, for Tick; filled at Open (daemon) and on every
  // change.
  std::set<std::string> live_ ABSL_GUARDED_BY(mu_);
  // client -> the session id of its live HTL link in this process.
  std::map<std::string, std::string> active_session_ ABSL_GUARDED_BY(mu_);

  ntl::internal::Mutex sink_mu_;
  std::function<void(const HtlEvent&)> sink_ ABSL_GUARDED_BY(sink_mu_);
};

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_APPLIANCE_H_
