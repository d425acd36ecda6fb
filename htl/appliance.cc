#include "htl/appliance.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "htl/crypto.h"
#include "htl/ott.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

constexpr absl::string_view kLockFile = "lock";
constexpr absl::string_view kSettingsFile = "settings";
constexpr absl::string_view kBootFile = "boot";
constexpr absl::string_view kAlertsFile = "alerts.log";
constexpr size_t kMaxStateFile = 64 * 1024;
// Three missed heartbeats and the link counts as dropped.
constexpr int kLivenessIntervals = 3;

absl::Status HtlDown(absl::string_view client, absl::string_view why) {
  return ntl::Error(
      absl::StatusCode::kFailedPrecondition, TL_E_HTL_DOWN,
      absl::StrCat("HTL for client '", client, "' is ", why,
                   "; run htl generateott -client ", client,
                   " and copy the token to the client's htl/ directory"));
}

std::string SourceText(absl::string_view s) {
  return s.empty() ? "(unknown)" : std::string(s);
}

void Retire(ClientState* s, SecretEntry e) {
  s->retired.insert(s->retired.begin(), std::move(e));
  if (s->retired.size() > kMaxRetired) s->retired.resize(kMaxRetired);
}

}  // namespace

const char* HtlStatusName(HtlStatus status) {
  switch (status) {
    case HtlStatus::kUp:
      return "Up";
    case HtlStatus::kGracePeriod:
      return "Grace Period";
    case HtlStatus::kDown:
      return "Down";
    case HtlStatus::kUnknown:
      break;
  }
  return "Unknown";
}

const char* OttStatusName(OttStatus status) {
  switch (status) {
    case OttStatus::kReady:
      return "Ready";
    case OttStatus::kInUse:
      return "In use";
    case OttStatus::kExpired:
      return "Expired";
    case OttStatus::kNoFile:
      break;
  }
  return "No file";
}

absl::StatusOr<std::unique_ptr<Appliance>> Appliance::Open(
    const Options& options) {
  if (options.root.empty() || options.clock == nullptr) {
    return ntl::Error(
        absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
        "the HTL appliance state needs a root directory and a clock");
  }
  absl::StatusOr<internal::Dir> root = internal::Dir::Open(options.root, true);
  if (!root.ok()) return root.status();
  absl::StatusOr<internal::Dir> dir = root->OpenSubdir("htl", true);
  if (!dir.ok()) return dir.status();

  Boot boot;
  if (options.daemon) {
    boot.id = HexEncode(RandomBytes(16));
    boot.at = options.clock->Now();
    const std::string text =
        absl::StrCat("id ", boot.id, "\nat ", absl::ToUnixNanos(boot.at), "\n");
    if (absl::Status s = dir->WriteFileAtomic(kBootFile, text, 0600); !s.ok())
      return s;
  } else {
    absl::StatusOr<std::string> text = dir->ReadFile(kBootFile, 4096);
    if (text.ok()) {
      for (absl::string_view line :
           absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
        absl::string_view v = line;
        int64_t ns = 0;
        if (absl::ConsumePrefix(&v, "id ")) {
          boot.id = std::string(v);
        } else if (absl::ConsumePrefix(&v, "at ") && absl::SimpleAtoi(v, &ns)) {
          boot.at = absl::FromUnixNanos(ns);
        }
      }
    } else if (!absl::IsNotFound(text.status())) {
      return text.status();
    }
  }
  std::unique_ptr<Appliance> a(new Appliance(options, *std::move(dir), boot));
  if (options.daemon) {
    absl::StatusOr<std::vector<std::string>> names = a->dir_.List();
    if (!names.ok()) return names.status();
    ntl::internal::MutexLock lock(&a->mu_);
    for (const std::string& name : *names) {
      if (!absl::StartsWith(name, kClientFilePrefix)) continue;
      absl::StatusOr<std::string> text = a->dir_.ReadFile(name, kMaxStateFile);
      if (!text.ok()) return text.status();
      absl::StatusOr<ClientState> s = ParseClientState(*text, name);
      if (!s.ok()) return s.status();
      if (s->chain == Chain::kAlive) a->live_.insert(s->client);
    }
  }
  return a;
}

absl::StatusOr<ClientState> Appliance::Load(absl::string_view client) const {
  if (client.empty()) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                      "client label is empty");
  }
  const std::string name = ClientFileName(client);
  absl::StatusOr<std::string> text = dir_.ReadFile(name, kMaxStateFile);
  if (absl::IsNotFound(text.status())) {
    ClientState fresh;
    fresh.client = std::string(client);
    return fresh;
  }
  if (!text.ok()) return text.status();
  absl::StatusOr<ClientState> s =
      ParseClientState(*text, absl::StrCat(dir_.path(), "/", name));
  if (s.ok() && s->client != client) {
    return ntl::Error(absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
                      absl::StrCat("HTL state file ", dir_.path(), "/", name,
                                   " belongs to another client"));
  }
  return s;
}

absl::Status Appliance::Save(const ClientState& state) {
  absl::Status s = dir_.WriteFileAtomic(ClientFileName(state.client),
                                        SerializeClientState(state), 0600);
  if (s.ok()) {
    if (state.chain == Chain::kAlive) {
      live_.insert(state.client);
    } else {
      live_.erase(state.client);
    }
  }
  return s;
}

absl::StatusOr<HtlSettings> Appliance::LoadSettings() const {
  HtlSettings settings;
  absl::StatusOr<std::string> text = dir_.ReadFile(kSettingsFile, 4096);
  if (absl::IsNotFound(text.status())) return settings;
  if (!text.ok()) return text.status();
  for (absl::string_view line :
       absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(' ', 1));
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(kv.second, &seconds) || seconds < 0) {
      return ntl::Error(absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
                        absl::StrCat("HTL settings file ", dir_.path(),
                                     "/settings has a bad line '", line, "'"));
    }
    if (kv.first == "grace_period_s") {
      settings.grace_period = absl::Seconds(seconds);
    } else if (kv.first == "default_ott_expiry_s") {
      settings.default_ott_expiry = absl::Seconds(seconds);
    } else if (kv.first == "heartbeat_interval_s") {
      settings.heartbeat_interval = absl::Seconds(seconds);
    }
  }
  return settings;
}

absl::Status Appliance::SaveSettings(const HtlSettings& settings) const {
  return dir_.WriteFileAtomic(
      kSettingsFile,
      absl::StrCat("grace_period_s ",
                   absl::ToInt64Seconds(settings.grace_period),
                   "\ndefault_ott_expiry_s ",
                   absl::ToInt64Seconds(settings.default_ott_expiry),
                   "\nheartbeat_interval_s ",
                   absl::ToInt64Seconds(settings.heartbeat_interval), "\n"),
      0600);
}

HtlStatus Appliance::StatusOf(const ClientState& s, const HtlSettings& settings,
                              absl::Time now, absl::Time* grace_end) const {
  if (s.chain == Chain::kNone) return HtlStatus::kUnknown;
  if (s.chain == Chain::kDown) return HtlStatus::kDown;
  const absl::Duration liveness =
      kLivenessIntervals * settings.heartbeat_interval;
  const bool link_this_boot = s.link_up && s.link_boot == boot_.id;
  if (link_this_boot && now - s.last_seen <= liveness) return HtlStatus::kUp;
  // The grace period runs from the moment the link was lost, and never from
  // before the daemon's current run started: an appliance outage costs no
  // client its HTL.
  absl::Time start = link_this_boot ? s.last_seen + liveness : s.link_down_at;
  if (!link_this_boot && s.link_up) start = s.last_seen;
  start = std::max(start, boot_.at);
  const absl::Time end = start + settings.grace_period;
  if (grace_end != nullptr) *grace_end = end;
  return now < end ? HtlStatus::kGracePeriod : HtlStatus::kDown;
}

ClientView Appliance::ViewOf(const ClientState& s, const HtlSettings& settings,
                             absl::Time now) const {
  ClientView v;
  v.client = s.client;
  v.htl = StatusOf(s, settings, now, &v.grace_ends_at);
  if (v.htl != HtlStatus::kGracePeriod) v.grace_ends_at = absl::InfinitePast();
  v.down_reason = s.chain == Chain::kDown     ? s.down_reason
                  : v.htl == HtlStatus::kDown ? "grace period expired"
                                              : "";
  if (!s.has_ott) {
    v.ott = OttStatus::kNoFile;
  } else if (s.ott.consumed) {
    v.ott = s.chain == Chain::kAlive && v.htl != HtlStatus::kDown
                ? OttStatus::kInUse
                : OttStatus::kNoFile;
  } else {
    v.ott = now >= s.ott.expires_at ? OttStatus::kExpired : OttStatus::kReady;
  }
  if (s.has_ott) v.ott_expires_at = s.ott.expires_at;
  v.ott_expiry_is_default = s.ott_expiry_override_s < 0;
  v.ott_expiry_seconds = v.ott_expiry_is_default
                             ? absl::ToInt64Seconds(settings.default_ott_expiry)
                             : s.ott_expiry_override_s;
  v.generation = s.has_current ? s.current.generation : 0;
  v.link_source = s.link_source;
  return v;
}

absl::StatusOr<bool> Appliance::MaterialiseDown(ClientState* s,
                                                const HtlSettings& settings,
                                                absl::Time now,
                                                std::vector<HtlEvent>* events) {
  if (s->chain != Chain::kAlive ||
      StatusOf(*s, settings, now, nullptr) != HtlStatus::kDown) {
    return false;
  }
  s->chain = Chain::kDown;
  s->down_reason = "grace period expired";
  s->link_up = false;
  if (absl::Status st = Save(*s); !st.ok()) return st;
  active_session_.erase(s->client);
  HtlEvent e;
  e.kind = HtlEvent::Kind::kDown;
  e.client = s->client;
  e.at = now;
  e.message =
      absl::StrCat("HTL for client '", s->client,
                   "' is Down: the grace period expired without an HTL link");
  events->push_back(std::move(e));
  return true;
}

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

void Appliance::Dispatch(const std::vector<HtlEvent>& events) {
  if (events.empty()) return;
  std::function<void(const HtlEvent&)> sink;
  {
    ntl::internal::MutexLock lock(&sink_mu_);
    sink = sink_;
  }
  if (!sink) return;
  for (const HtlEvent& e : events) sink(e);
}

void Appliance::SetEventSink(std::function<void(const HtlEvent&)> sink) {
  ntl::internal::MutexLock lock(&sink_mu_);
  sink_ = std::move(sink);
}

absl::StatusOr<std::string> Appliance::GenerateOtt(
    absl::string_view client, absl::optional<absl::Duration> expiry) {
  if (expiry.has_value() &&
      (*expiry < absl::Seconds(1) || *expiry > absl::Hours(24 * 30))) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
                      "OTT expiry must be between 1 second and 30 days");
  }
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return settings.status();
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<internal::FileLock> flock =
      internal::FileLock::Acquire(dir_, kLockFile);
  if (!flock.ok()) return flock.status();
  absl::StatusOr<ClientState> s = Load(client);
  if (!s.ok()) return s.status();
  if (expiry.has_value())
    s->ott_expiry_override_s = absl::ToInt64Seconds(*expiry);
  const absl::Duration effective = s->ott_expiry_override_s >= 0
                                       ? absl::Seconds(s->ott_expiry_override_s)
                                       : settings->default_ott_expiry;
  if (s->has_ott && !s->ott.consumed) s->voided_ott_hash = s->ott.hash;
  NewOtt ott = htl::GenerateOtt(clock_->Now(), effective);
  s->ott = ott.record;
  s->has_ott = true;
  if (absl::Status st = Save(*s); !st.ok()) return st;
  return std::move(ott.token);
}

absl::Status Appliance::SetClientOttExpiry(
    absl::string_view client, absl::optional<absl::Duration> expiry) {
  if (expiry.has_value() &&
      (*expiry < absl::Seconds(1) || *expiry > absl::Hours(24 * 30))) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
                      "OTT expiry must be between 1 second and 30 days");
  }
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<internal::FileLock> flock =
      internal::FileLock::Acquire(dir_, kLockFile);
  if (!flock.ok()) return flock.status();
  absl::StatusOr<ClientState> s = Load(client);
  if (!s.ok()) return s.status();
  s->ott_expiry_override_s =
      expiry.has_value() ? absl::ToInt64Seconds(*expiry) : -1;
  return Save(*s);
}

absl::Status Appliance::Clear(absl::string_view client) {
  std::vector<HtlEvent> events;
  {
    ntl::internal::MutexLock lock(&mu_);
    absl::StatusOr<internal::FileLock> flock =
        internal::FileLock::Acquire(dir_, kLockFile);
    if (!flock.ok()) return flock.status();
    absl::StatusOr<ClientState> s = Load(client);
    if (!s.ok()) return s.status();
    ClientState cleared;
    cleared.client = s->client;
    cleared.next_generation =
        s->next_generation;  // generations are never reused
    cleared.ott_expiry_override_s = s->ott_expiry_override_s;
    if (absl::Status st = Save(cleared); !st.ok()) return st;
    active_session_.erase(cleared.client);
    HtlEvent e;
    e.kind = HtlEvent::Kind::kDown;
    e.client = cleared.client;
    e.at = clock_->Now();
    e.message = absl::StrCat("HTL state of client '", cleared.client,
                             "' was cleared by the admin");
    events.push_back(std::move(e));
  }
  Dispatch(events);
  return absl::OkStatus();
}

absl::StatusOr<HtlSettings> Appliance::Settings() const {
  return LoadSettings();
}

absl::Status Appliance::SetGracePeriod(absl::Duration d) {
  if (d < absl::ZeroDuration() || d > absl::Hours(24 * 7)) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
                      "HTL grace period must be between 0 seconds and 7 days");
  }
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<internal::FileLock> flock =
      internal::FileLock::Acquire(dir_, kLockFile);
  if (!flock.ok()) return flock.status();
  absl::StatusOr<HtlSettings> s = LoadSettings();
  if (!s.ok()) return s.status();
  s->grace_period = absl::Seconds(absl::ToInt64Seconds(d));
  return SaveSettings(*s);
}

absl::Status Appliance::SetDefaultOttExpiry(absl::Duration d) {
  if (d < absl::Seconds(1) || d > absl::Hours(24 * 30)) {
    return ntl::Error(
        absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
        "default OTT expiry must be between 1 second and 30 days");
  }
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<internal::FileLock> flock =
      internal::FileLock::Acquire(dir_, kLockFile);
  if (!flock.ok()) return flock.status();
  absl::StatusOr<HtlSettings> s = LoadSettings();
  if (!s.ok()) return s.status();
  s->default_ott_expiry = absl::Seconds(absl::ToInt64Seconds(d));
  return SaveSettings(*s);
}

absl::Status Appliance::SetHeartbeatInterval(absl::Duration d) {
  if (d < absl::Seconds(1) || d > absl::Hours(1)) {
    return ntl::Error(
        absl::StatusCode::kInvalidArgument, TL_E_OUT_OF_RANGE,
        "HTL heartbeat interval must be between 1 second and 1 hour");
  }
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<internal::FileLock> flock =
      internal::FileLock::Acquire(dir_, kLockFile);
  if (!flock.ok()) return flock.status();
  absl::StatusOr<HtlSettings> s = LoadSettings();
  if (!s.ok()) return s.status();
  s->heartbeat_interval = absl::Seconds(absl::ToInt64Seconds(d));
  return SaveSettings(*s);
}

absl::StatusOr<ClientView> Appliance::Show(absl::string_view client) {
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return settings.status();
  ntl::internal::MutexLock lock(&mu_);
  absl::StatusOr<ClientState> s = Load(client);
  if (!s.ok()) return s.status();
  return ViewOf(*s, *settings, clock_->Now());
}

absl::StatusOr<std::vector<ClientView>> Appliance::ShowAll() {
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return settings.status();
  absl::StatusOr<std::vector<std::string>> names = dir_.List();
  if (!names.ok()) return names.status();
  std::sort(names->begin(), names->end());
  const absl::Time now = clock_->Now();
  std::vector<ClientView> views;
  for (const std::string& name : *names) {
    if (!absl::StartsWith(name, kClientFilePrefix)) continue;
    absl::StatusOr<std::string> text = dir_.ReadFile(name, kMaxStateFile);
    if (absl::IsNotFound(text.status())) continue;  // cleared meanwhile
    if (!text.ok()) return text.status();
    absl::StatusOr<ClientState> s = ParseClientState(*text, name);
    if (!s.ok()) return s.status();
    views.push_back(ViewOf(*s, *settings, now));
  }
  std::sort(views.begin(), views.end(),
            [](const ClientView& a, const ClientView& b) {
              return a.client < b.client;
            });
  return views;
}

absl::StatusOr<std::string> Appliance::OwnerOfToken(
    absl::string_view token_hash) const {
  // Only reached for a token that is not the presenting client's, to say whose
  // it is.
  absl::StatusOr<std::vector<std::string>> names = dir_.List();
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (!absl::StartsWith(name, kClientFilePrefix)) continue;
    absl::StatusOr<std::string> text = dir_.ReadFile(name, kMaxStateFile);
    if (!text.ok()) continue;
    absl::StatusOr<ClientState> s = ParseClientState(*text, name);
    if (!s.ok() || !s->has_ott) continue;
    if (ConstantTimeEquals(s->ott.hash, token_hash)) return s->client;
  }
  return ntl::Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND, "no owner");
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
    absl::StatusOr<internal::FileLock> flock =
        internal::FileLock::Acquire(dir_, kLockFile);
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
            "it was voided by a newer token; copy the token from the "
            "latest htl generateott -client ",
            c));
      }
      absl::StatusOr<std::string> owner = OwnerOfToken(hash);
      if (owner.ok()) {
        return invalid(
            absl::StrCat("it was generated for another client ('", *owner,
                         "'); copy the right .ott file to this host"));
      }
      return invalid(
          absl::StrCat("it is not the token generated for this client",
                       s->has_ott ? "" : " (none was generated)",
                       "; run htl generateott -client ", c));
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
    absl::StatusOr<internal::FileLock> flock =
        internal::FileLock::Acquire(dir_, kLockFile);
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
            "Down and all its links are closed; run htl generateott -client ",
            c);
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
  absl::StatusOr<internal::FileLock> flock =
      internal::FileLock::Acquire(dir_, kLockFile);
  if (!flock.ok()) return;
  absl::StatusOr<ClientState> s = Load(client);
  if (!s.ok() || !s->link_up) return;
  s->link_up = false;
  s->link_down_at = clock_->Now();
  (void)Save(*s);
}

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

void Appliance::Tick() {
  absl::StatusOr<HtlSettings> settings = LoadSettings();
  if (!settings.ok()) return;
  std::vector<HtlEvent> events;
  {
    ntl::internal::MutexLock lock(&mu_);
    absl::StatusOr<internal::FileLock> flock =
        internal::FileLock::Acquire(dir_, kLockFile);
    if (!flock.ok()) return;
    const absl::Time now = clock_->Now();
    const std::vector<std::string> live(live_.begin(), live_.end());
    for (const std::string& client : live) {
      absl::StatusOr<ClientState> s = Load(client);
      if (!s.ok()) continue;
      if (s->chain != Chain::kAlive) {
        // Save() keeps live_ in step with this process's own changes, so the
        // chain ended in another process (ntlsh htl clear): the links this
        // process serves must close all the same.
        live_.erase(client);
        HtlEvent e;
        e.kind = HtlEvent::Kind::kDown;
        e.client = client;
        e.at = now;
        e.message = absl::StrCat("HTL state of client '", client,
                                 "' was cleared or taken Down by another "
                                 "process (ntlsh)");
        events.push_back(std::move(e));
        continue;
      }
      (void)MaterialiseDown(&*s, *settings, now, &events);
    }
  }
  Dispatch(events);
}

absl::StatusOr<std::vector<std::string>> Appliance::Alerts() const {
  absl::StatusOr<std::string> text = dir_.ReadFile(kAlertsFile, 16 << 20);
  if (absl::IsNotFound(text.status())) return std::vector<std::string>{};
  if (!text.ok()) return text.status();
  return std::vector<std::string>(
      absl::StrSplit(*text, '\n', absl::SkipEmpty()));
}

}  // namespace trustlink::htl
