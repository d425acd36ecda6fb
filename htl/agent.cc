#include "htl/agent.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "htl/crypto.h"
#include "htl/internal/files.h"
#include "htl/internal/thread.h"
#include "htl/ott.h"
#include "htl/token_files.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

// A refusal about the chain or the token: retrying the same thing cannot help.
bool IsRefusal(const absl::Status& s) {
  switch (ntl::ToTlStatus(s)) {
    case TL_E_HTL_DOWN:
    case TL_E_HTL_CLONE_DETECTED:
    case TL_E_UNAUTHENTICATED:
    case TL_E_OTT_EXPIRED:
    case TL_E_OTT_USED:
    case TL_E_OTT_INVALID:
      return true;
    default:
      return false;
  }
}

// IsTokenRefusal says whether a failed exchange was about the token file itself
// (so the same file is not presented again). Anything else, such as the goaway
// HTL_DOWN of a link the appliance closed, says nothing about the file.
bool IsTokenRefusal(const absl::Status& s) {
  switch (ntl::ToTlStatus(s)) {
    case TL_E_OTT_EXPIRED:
    case TL_E_OTT_USED:
    case TL_E_OTT_INVALID:
    case TL_E_PROTOCOL:
      return true;
    default:
      return false;
  }
}

}  // namespace

const char* AgentLinkStateName(AgentLinkState state) {
  switch (state) {
    case AgentLinkState::kUp:
      return "up";
    case AgentLinkState::kRetrying:
      return "retrying";
    case AgentLinkState::kRefused:
      return "refused";
    case AgentLinkState::kNoToken:
      break;
  }
  return "no token";
}

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(
    const AgentOptions& options) {
  if (options.connector == nullptr || options.store == nullptr ||
      options.clock == nullptr || options.client_root.empty() ||
      options.poll_interval <= absl::ZeroDuration()) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                      "the HTL agent needs a client root, a connector, a "
                      "secret store, a clock "
                      "and a positive polling interval");
  }
  for (const std::string& a : options.appliances) {
    if (absl::StatusOr<std::string> n = TokenFileName(a); !n.ok())
      return n.status();
  }
  std::unique_ptr<Agent> agent(new Agent(options));
  ntl::internal::MutexLock lock(&agent->status_mu_);
  for (const std::string& a : options.appliances) {
    AgentApplianceStatus s;
    s.appliance = a;
    agent->status_[a] = s;
  }
  return agent;
}

Agent::~Agent() { Stop(); }

void Agent::Publish(const std::string& appliance,
                    const AgentApplianceStatus& status) {
  ntl::internal::MutexLock lock(&status_mu_);
  status_[appliance] = status;
}

std::vector<AgentApplianceStatus> Agent::Status() const {
  ntl::internal::MutexLock lock(&status_mu_);
  std::vector<AgentApplianceStatus> out;
  for (const auto& [name, s] : status_) {
    out.push_back(s);
    // The caller reads it on its own thread while Publish replaces ours.
    out.back().last_error = ntl::FreshStatus(s.last_error);
  }
  return out;
}

absl::StatusOr<HtlSession*> Agent::SessionFor(const std::string& appliance,
                                              PerAppliance* p) {
  if (p->session == nullptr) {
    absl::StatusOr<std::unique_ptr<HtlSession>> s =
        options_.connector->Connect(appliance);
    if (!s.ok()) return s.status();
    p->session = *std::move(s);
  }
  return p->session.get();
}

absl::Status Agent::Keep(const std::string& appliance, PerAppliance* p,
                         const Grant& grant) {
  HeldSecret held{grant.generation, grant.secret};
  // Into the store before anything else: if we die after this, the appliance
  // has it as current or previous; if we die before, the appliance has ours as
  // previous.
  if (absl::Status s = options_.store->Put(appliance, held); !s.ok()) return s;
  p->status.state = AgentLinkState::kUp;
  p->status.generation = grant.generation;
  p->status.last_error = absl::OkStatus();
  p->status.last_success = options_.clock->Now();
  return absl::OkStatus();
}

absl::Status Agent::Heartbeat(const std::string& appliance, PerAppliance* p,
                              const HeldSecret& held) {
  absl::StatusOr<HtlSession*> session = SessionFor(appliance, p);
  if (!session.ok()) return session.status();
  HeartbeatRequest r;
  r.generation = held.generation;
  r.mac = ComputeProof(ProofPurpose::kHeartbeat, held.secret, held.generation,
                       (*session)->Exporter());
  absl::StatusOr<std::string> reply =
      (*session)->Call(kOpHeartbeat, EncodeHeartbeatRequest(r));
  if (!reply.ok()) return reply.status();
  absl::StatusOr<Grant> grant = DecodeGrant(*reply);
  if (!grant.ok()) return grant.status();
  return Keep(appliance, p, *grant);
}

Agent::TokenAttempt Agent::TryTokenFile(const std::string& appliance,
                                        PerAppliance* p,
                                        absl::optional<HeldSecret>* held) {
  TokenAttempt attempt;
  const std::string htl_dir = options_.client_root + "/htl";
  absl::StatusOr<internal::Dir> dir = internal::Dir::Open(htl_dir, false);
  absl::StatusOr<std::vector<std::string>> entries =
      dir.ok() ? dir->List()
               : absl::StatusOr<std::vector<std::string>>(dir.status());
  absl::StatusOr<std::string> found =
      entries.ok() ? FindTokenFile(*entries, appliance)
                   : absl::StatusOr<std::string>(entries.status());
  const std::string token_name =
      found.ok() && !found->empty() ? *found : *TokenFileName(appliance);
  absl::StatusOr<std::string> contents =
      !found.ok()      ? absl::StatusOr<std::string>(found.status())
      : found->empty() ? absl::StatusOr<std::string>(absl::NotFoundError(""))
                       : dir->ReadFile(token_name, kMaxTokenFileSize);
  if (!contents.ok()) {
    // No htl/ directory or no token file is the usual case, not a failure.
    if (!absl::IsNotFound(contents.status())) {
      attempt.tried = true;
      attempt.result = contents.status();
    }
    return attempt;
  }
  if (Sha256(*contents) == p->refused_token_hash) return attempt;

  attempt.tried = true;
  absl::StatusOr<std::string> token =
      ParseTokenFile(*contents, absl::StrCat(htl_dir, "/", token_name));
  absl::StatusOr<HtlSession*> session =
      token.ok() ? SessionFor(appliance, p)
                 : absl::StatusOr<HtlSession*>(token.status());
  absl::StatusOr<std::string> reply;
  if (session.ok()) {
    EstablishRequest r;
    r.token = *token;
    r.binding = ComputeProof(ProofPurpose::kEstablish, *token, 0,
                             (*session)->Exporter());
    reply = (*session)->Call(kOpEstablish, EncodeEstablishRequest(r));
  } else {
    reply = session.status();
  }
  absl::StatusOr<Grant> grant =
      reply.ok() ? DecodeGrant(*reply) : reply.status();
  if (grant.ok()) {
    attempt.result = Keep(appliance, p, *grant);
    if (!attempt.result.ok()) return attempt;
    // Only now is the token spent for us: the secret is kept.
    attempt.result = dir->RemoveFile(token_name);
    *held = HeldSecret{grant->generation, grant->secret};
    // Confirm at once, so the window in which the token could be presented
    // again by a copy of this host's disk is one round trip long.
    if (attempt.result.ok()) attempt.result = Heartbeat(appliance, p, **held);
    return attempt;
  }
  if (ntl::ToTlStatus(grant.status()) == TL_E_OTT_USED && held->has_value()) {
    // We already exchanged this token (we crashed before deleting it, or
    // someone copied a used token back): carry on with the chain it gave us,
    // and say so, since a copy coming back may also mean a copy went
    // elsewhere.
    (void)dir->RemoveFile(token_name);
    attempt.tried = false;
    attempt.token_error = ntl::Error(
        absl::StatusCode::kFailedPrecondition, TL_E_OTT_USED,
        absl::StrCat("htl/", token_name,
                     " held a one-time token that was already used (",
                     grant.status().message(),
                     "); it was deleted, and the HTL this agent holds goes "
                     "on. If nobody copied it back on purpose, find out "
                     "where it came from"));
    return attempt;
  }
  attempt.result = grant.status();
  if (IsTokenRefusal(attempt.result)) {
    p->refused_token_hash = Sha256(*contents);
    if (held->has_value()) {
      // A bad token file must not cost the chain we already hold: report it,
      // and heartbeat as usual.
      attempt.token_error = attempt.result;
      attempt.result = absl::OkStatus();
      attempt.tried = false;
    }
  }
  return attempt;
}

void Agent::PollAppliance(const std::string& appliance, PerAppliance* p) {
  p->status.appliance = appliance;
  absl::StatusOr<absl::optional<HeldSecret>> stored =
      options_.store->Get(appliance);
  if (!stored.ok()) {
    // Say so: an agent that cannot read its own secret must not look idle.
    p->status.last_error = stored.status();
    Publish(appliance, p->status);
    return;
  }
  absl::optional<HeldSecret> held = *std::move(stored);

  // A token file is the admin's intent: take it up before anything else.
  TokenAttempt attempt = TryTokenFile(appliance, p, &held);
  absl::Status result = attempt.result;
  if (!attempt.tried) {
    if (!held.has_value()) {
      if (p->status.state != AgentLinkState::kRefused) {
        p->status.state = AgentLinkState::kNoToken;
        // Waiting for a token while the admin's copy sits under another name
        // would look like an appliance that never answers: say which files
        // were passed over, and why.
        p->status.last_error =
            ignored_.empty()
                ? absl::OkStatus()
                : ntl::Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                             absl::StrCat("waiting for ", options_.client_root,
                                          "/htl/", appliance,
                                          ".ott; ignored in htl/: ",
                                          absl::StrJoin(ignored_, "; ")));
      }
      Publish(appliance, p->status);
      return;
    }
    result = Heartbeat(appliance, p, *held);
  }

  if (result.ok()) {
    if (!attempt.token_error.ok()) p->status.last_error = attempt.token_error;
    Publish(appliance, p->status);
    return;
  }
  // A refused token file stays the headline even when the chain we held fails
  // too: the file is what the admin acts on, and it is not presented again.
  p->status.last_error =
      attempt.token_error.ok()
          ? result
          : ntl::Error(attempt.token_error.code(),
                       ntl::ToTlStatus(attempt.token_error),
                       absl::StrCat(attempt.token_error.message(),
                                    "; the HTL this agent still held failed "
                                    "too: ",
                                    result.message()));
  if (IsRefusal(result)) {
    // The chain is dead (or the token was refused and we hold none): forget the
    // secret, so no application link presents it, and wait for a new token.
    (void)options_.store->Remove(appliance);
    p->status.generation = 0;
    p->status.state = AgentLinkState::kRefused;
    // The appliance closes every link of a client whose HTL is Down; a new
    // token must go over a new session, not read the old one's goaway.
    p->session.reset();
  } else {
    p->session.reset();  // a transport failure: reconnect at the next poll
    if (held.has_value()) p->status.state = AgentLinkState::kRetrying;
  }
  Publish(appliance, p->status);
}

absl::Status Agent::PollOnce() {
  ntl::internal::MutexLock lock(&poll_mu_);
  absl::StatusOr<internal::Dir> dir =
      internal::Dir::Open(options_.client_root + "/htl", false);
  absl::StatusOr<std::vector<std::string>> entries =
      dir.ok() ? dir->List()
               : absl::StatusOr<std::vector<std::string>>(dir.status());
  std::vector<std::string> ignored =
      entries.ok() ? IgnoredTokenFiles(*entries, options_.appliances)
                   : std::vector<std::string>();
  ignored_ = std::move(ignored);
  for (const std::string& appliance : options_.appliances) {
    PollAppliance(appliance, &per_[appliance]);
  }
  return absl::OkStatus();
}

void Agent::DropSession(absl::string_view appliance) {
  ntl::internal::MutexLock lock(&poll_mu_);
  per_[std::string(appliance)].session.reset();
}

absl::StatusOr<LinkProof> Agent::ProofFor(absl::string_view appliance,
                                          absl::string_view exporter) {
  if (exporter.size() != kExporterLen) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                      absl::StrCat("an HTL exporter value is ", kExporterLen,
                                   " bytes, not ", exporter.size()));
  }
  absl::StatusOr<absl::optional<HeldSecret>> held =
      options_.store->Get(appliance);
  if (!held.ok()) return held.status();
  if (!held->has_value()) {
    return ntl::Error(
        absl::StatusCode::kFailedPrecondition, TL_E_HTL_DOWN,
        absl::StrCat("the HTL agent has no HTL with '", appliance,
                     "'; copy a one-time token from the appliance to ",
                     options_.client_root, "/htl/", appliance, ".ott"));
  }
  LinkProof proof;
  proof.generation = (*held)->generation;
  proof.mac = ComputeProof(ProofPurpose::kLinkProof, (*held)->secret,
                           proof.generation, exporter);
  return proof;
}

absl::Status Agent::Start() {
  {
    ntl::internal::MutexLock lock(&status_mu_);
    if (thread_.joinable()) {
      return ntl::Error(absl::StatusCode::kFailedPrecondition,
                        TL_E_FAILED_PRECONDITION,
                        "the HTL agent is already running");
    }
    stop_ = false;
  }
  thread_ = internal::StartThread([this] { Loop(); });
  return absl::OkStatus();
}

void Agent::Loop() {
  for (;;) {
    (void)PollOnce();
    ntl::internal::MutexLock lock(&status_mu_);
    const absl::Time deadline = absl::Now() + options_.poll_interval;
    status_mu_.AssertHeld();
    wake_.WaitUntil(&status_mu_, deadline, [this]() {
      status_mu_.AssertHeld();
      return stop_;
    });
    if (stop_) return;
  }
}

void Agent::Stop() {
  {
    ntl::internal::MutexLock lock(&status_mu_);
    stop_ = true;
    wake_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace trustlink::htl
