// htl::Appliance's admission of application links (ntlsd, ALPN ntl/1) of
// requirehtl clients: a link proof over the link's exporter, under the current
// or previous secret, while HTL is Up or in its grace period.

#include <string>

#include "absl/strings/str_cat.h"
#include "htl/appliance.h"
#include "htl/appliance_internal.h"
#include "htl/crypto.h"
#include "ntl/status.h"

namespace trustlink::htl {

using appliance_internal::HtlDown;

absl::Status Appliance::CheckLinkProof(absl::string_view client,
                                       absl::string_view exporter,
                                       const LinkProof& proof) {
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return settings.status();
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<ClientState> s = Load(client);
  if (!s.ok()) return s.status();
  const std::string c(client);
  switch (StatusOf(*s, *settings, clock_->Now(), nullptr)) {
    case HtlStatus::kUp:
    case HtlStatus::kGracePeriod:
      break;
    case HtlStatus::kUnknown:
      return HtlDown(c, "not established (Unknown)");
    case HtlStatus::kDown:
      return HtlDown(
          c, absl::StrCat("Down (",
                          s->chain == Chain::kDown ? s->down_reason
                                                   : "grace period expired",
                          ")"));
  }
  for (const SecretEntry* e : {s->has_current ? &s->current : nullptr,
                               s->has_previous ? &s->previous : nullptr}) {
    if (e != nullptr && e->generation == proof.generation &&
        ConstantTimeEquals(ComputeProof(ProofPurpose::kLinkProof, e->secret,
                                        e->generation, exporter),
                           proof.mac)) {
      return absl::OkStatus();
    }
  }
  // Not an alarm: a proof may be a few heartbeats old by the time it arrives.
  // Only the HTL link's heartbeats decide about clones.
  return ntl::Error(
      absl::StatusCode::kUnauthenticated, TL_E_UNAUTHENTICATED,
      absl::StrCat("HTL proof of client '", c, "' (generation ",
                   proof.generation,
                   ") does not verify for this link; ask the local htlclient "
                   "for a fresh proof and reconnect"));
}

}  // namespace trustlink::htl
