// htl::Appliance's HTL link (ntlsd, ALPN htl/1): the token exchange that starts
// a chain, the heartbeat ratchet with its clone detection, and the link going
// down. Every grant is persisted before it is returned (GrantCurrent).

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "htl/appliance.h"
#include "htl/appliance_internal.h"
#include "htl/crypto.h"
#include "htl/ott.h"
#include "ntl/status.h"

namespace trustlink::htl {

using appliance_internal::HtlDown;
using appliance_internal::kAlertsFile;
using appliance_internal::kLockFile;

namespace {

std::string SourceText(absl::string_view s) {
  return s.empty() ? "(unknown)" : std::string(s);
}

void Retire(ClientState* s, SecretEntry e) {
  s->retired.insert(s->retired.begin(), std::move(e));
  if (s->retired.size() > kMaxRetired) s->retired.resize(kMaxRetired);
}

}  // namespace

SecretEntry Appliance::NewSecret(ClientState* s, const SessionInfo& session,
                                 absl::Time now) const {
  SecretEntry e;
  e.generation = s->next_generation++;
  e.secret = RandomBytes(kSecretLen);
  e.source = session.source;
  e.issued_at = now;
  return e;
}

void Appliance::MarkLinkUp(ClientState* s, const SessionInfo& session,
                           absl::Time now) {
  s->link_up = true;
  s->link_boot = boot_.id;
  s->link_source = session.source;
  s->last_seen = now;
  active_session_[s->client] = session.id;
}

absl::StatusOr<Grant> Appliance::GrantCurrent(ClientState* s,
                                              const SessionInfo& session,
                                              absl::Time now,
                                              const HtlSettings& settings) {
  MarkLinkUp(s, session, now);
  if (absl::Status st = Save(*s); !st.ok()) return st;
  Grant g;
  g.generation = s->current.generation;
  g.secret = s->current.secret;
  g.heartbeat_interval_ms = static_cast<uint32_t>(
      absl::ToInt64Milliseconds(settings.heartbeat_interval));
  return g;
}

absl::StatusOr<Grant> Appliance::Establish(absl::string_view client,
                                           const SessionInfo& session,
                                           const EstablishRequest& request) {
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return settings.status();
  std::vector<HtlEvent> events;
  absl::StatusOr<Grant> result = Grant{};
  {
    ntl::internal::MutexLock lock(&mu_);
    absl::StatusOr<internal::FileLock> flock = dir_.Lock(kLockFile);
    if (!flock.ok()) return flock.status();
    absl::StatusOr<ClientState> s = Load(client);
    if (!s.ok()) return s.status();
    const absl::Time now = clock_->Now();
    const std::string hash = Sha256(request.token);
    const std::string c(client);
    auto invalid = [&](absl::string_view why) {
      return ntl::Error(
          absl::StatusCode::kPermissionDenied, TL_E_OTT_INVALID,
          absl::StrCat("one-time token refused for client '", c, "': ", why));
    };
    if (!s->has_ott || !TokenMatches(s->ott, request.token)) {
      if (!s->voided_ott_hash.empty() &&
          ConstantTimeEquals(hash, s->voided_ott_hash)) {
        return invalid(absl::StrCat(
            "it was voided by a newer token; copy the latest token "
            "generated for client '",
            c, "'"));
      }
      absl::StatusOr<std::string> owner = OwnerOfToken(hash);
      if (owner.ok()) {
        return invalid(
            absl::StrCat("it was generated for another client ('", *owner,
                         "'); copy the right .ott file to this host"));
      }
      return invalid(absl::StrCat(
          "it is not the token generated for this client",
          s->has_ott ? "" : " (none was generated)",
          "; generate one for client '", c, "' (tl_htl_generate_ott)"));
    }
    const std::string binding = ComputeProof(
        ProofPurpose::kEstablish, request.token, 0, session.exporter);
    if (!ConstantTimeEquals(binding, request.binding)) {
      return invalid(
          "its binding does not match this TLS session (a token exchange "
          "replayed from "
          "another session); the agent must compute the binding on the session "
          "it uses");
    }
    if (s->ott.consumed) {
      // The same token again, freshly bound to this session, before any
      // heartbeat proved the chain: the establish reply was lost (or the
      // appliance crashed after persisting it). Re-issue; the secret nobody
      // confirmed is retired, so if a second copy did receive it, that copy is
      // caught the first time it uses it.
      if (!(s->chain == Chain::kAlive && !s->confirmed && s->has_current)) {
        return CheckUnconsumedOtt(s->ott, now, c);
      }
      absl::StatusOr<bool> down = MaterialiseDown(&*s, *settings, now, &events);
      if (!down.ok()) return down.status();
      if (*down) {
        result = HtlDown(c, "Down (the grace period expired)");
      } else {
        Retire(&*s, s->current);
        s->current = NewSecret(&*s, session, now);
      }
    } else {
      if (absl::Status st = CheckUnconsumedOtt(s->ott, now, c); !st.ok())
        return st;
      // A fresh chain: earlier secrets are forgotten, so a copy still holding
      // them only ever gets "invalid proof", never an alarm against the new
      // chain.
      s->ott.consumed = true;
      s->ott.consumed_at = now;
      s->chain = Chain::kAlive;
      s->down_reason.clear();
      s->confirmed = false;
      s->has_previous = false;
      s->retired.clear();
      s->has_current = true;
      s->current = NewSecret(&*s, session, now);
    }
    // A crash before GrantCurrent's save leaves the token unconsumed.
    if (result.ok()) result = GrantCurrent(&*s, session, now, *settings);
  }
  Dispatch(events);
  return result;
}

absl::StatusOr<Grant> Appliance::Heartbeat(absl::string_view client,
                                           const SessionInfo& session,
                                           const HeartbeatRequest& request) {
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return settings.status();
  std::vector<HtlEvent> events;
  absl::StatusOr<Grant> result = Grant{};
  {
    ntl::internal::MutexLock lock(&mu_);
    absl::StatusOr<internal::FileLock> flock = dir_.Lock(kLockFile);
    if (!flock.ok()) return flock.status();
    absl::StatusOr<ClientState> s = Load(client);
    if (!s.ok()) return s.status();
    const absl::Time now = clock_->Now();
    const std::string c(client);
    absl::StatusOr<bool> down = MaterialiseDown(&*s, *settings, now, &events);
    if (!down.ok()) return down.status();
    if (s->chain == Chain::kNone) {
      result = HtlDown(c, "not established (Unknown)");
    } else if (s->chain == Chain::kDown) {
      result = HtlDown(c, absl::StrCat("Down (", s->down_reason, ")"));
    } else {
      auto verifies = [&](const SecretEntry& e) {
        return e.generation == request.generation &&
               ConstantTimeEquals(
                   ComputeProof(ProofPurpose::kHeartbeat, e.secret,
                                e.generation, session.exporter),
                   request.mac);
      };
      const SecretEntry* retired = nullptr;
      for (const SecretEntry& e : s->retired) {
        if (verifies(e)) retired = &e;
      }
      if (s->has_current && verifies(s->current)) {
        // The secret before `previous` is retired, not forgotten: a rolled-back
        // copy that still holds it is caught.
        if (s->has_previous) Retire(&*s, s->previous);
        s->previous = s->current;
        s->has_previous = true;
        s->current = NewSecret(&*s, session, now);
        s->confirmed = true;
      } else if (s->has_previous && verifies(s->previous)) {
        // The reply that carried `current` never arrived (or the agent
        // restarted before keeping it). Replace `current`: nobody honest holds
        // it, and whoever does is a copy.
        Retire(&*s, s->current);
        s->current = NewSecret(&*s, session, now);
        s->confirmed = true;
      } else if (retired != nullptr) {
        const std::string other = SourceText(s->current.source);
        const std::string message = absl::StrCat(
            "HTL clone detected for client '", c,
            "': a proof under retired secret generation ", retired->generation,
            " came from ", SourceText(session.source),
            ", while the live secret generation ", s->current.generation,
            " was issued to ", other,
            "; two copies of the client are running, or one was rolled back. "
            "HTL is "
            "Down and all its links are closed; generate a new token for "
            "client '",
            c, "' (tl_htl_generate_ott)");
        s->chain = Chain::kDown;
        s->down_reason = "clone detected";
        s->link_up = false;
        if (absl::Status st = Save(*s); !st.ok()) return st;
        active_session_.erase(c);
        HtlEvent alert;
        alert.kind = HtlEvent::Kind::kAlert;
        alert.client = c;
        alert.message = message;
        alert.source_presented = SourceText(session.source);
        alert.source_other = other;
        alert.at = now;
        (void)dir_.AppendDurable(
            kAlertsFile,
            absl::StrCat(absl::FormatTime(now), " ALERT ", message, "\n"));
        HtlEvent d = alert;
        d.kind = HtlEvent::Kind::kDown;
        events.push_back(std::move(alert));
        events.push_back(std::move(d));
        result = ntl::Error(absl::StatusCode::kPermissionDenied,
                            TL_E_HTL_CLONE_DETECTED, message);
      } else {
        result =
            ntl::Error(absl::StatusCode::kUnauthenticated, TL_E_UNAUTHENTICATED,
                       absl::StrCat("HTL heartbeat of client '", c,
                                    "' does not verify under any secret "
                                    "the appliance issued (generation ",
                                    request.generation,
                                    "); the agent must re-establish HTL with a "
                                    "new one-time token"));
      }
      if (result.ok()) result = GrantCurrent(&*s, session, now, *settings);
    }
  }
  Dispatch(events);
  return result;
}

void Appliance::OnHtlLinkClosed(absl::string_view client,
                                absl::string_view session_id) {
  ntl::internal::MutexLock lock(&mu_);
  auto it = active_session_.find(std::string(client));
  if (it == active_session_.end() || it->second != session_id) return;
  active_session_.erase(it);
  absl::StatusOr<internal::FileLock> flock = dir_.Lock(kLockFile);
  if (!flock.ok()) return;
  absl::StatusOr<ClientState> s = Load(client);
  if (!s.ok() || !s->link_up) return;
  s->link_up = false;
  s->link_down_at = clock_->Now();
  (void)Save(*s);
}

}  // namespace trustlink::htl
