// Hostname admission without blocking the event loop (docs/server.md,
// "Admission"). With ipcheck on, a client registered by hostname with no
// mapped IP is checked against what its name resolves to. The verify callback
// pauses the handshake (ssl_verify_retry) while a resolver worker looks the
// name up; the answer comes back through the loop's mailbox and resumes the
// handshake. The loop enforces the lookup deadline itself, in Tick, so a
// resolver that never answers costs one worker, not the loop.

#include "absl/strings/str_cat.h"
#include "ntl/cert.h"
#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"

namespace trustlink::ntl::server::internal_engine {

const Resolution* Loop::AnswerFor(Conn* c, const std::string& hostname) {
  if (c->answer && c->answer_host == hostname) {
    return &*c->answer;
  }
  std::optional<Resolution> cached =
      server_->resolver_pool_->Cached(hostname, absl::Now());
  if (!cached) {
    return nullptr;
  }
  c->answer_host = hostname;
  c->answer = std::move(cached);
  return &*c->answer;
}

const Resolution* Loop::KnownAnswer(Conn* c, const DirectorySnapshot& snap,
                                    absl::string_view fingerprint) {
  std::shared_ptr<const ClientRecord> record =
      snap.FindByFingerprint(fingerprint);
  if (record == nullptr || !NeedsResolution(snap, *record)) {
    return nullptr;
  }
  return AnswerFor(c, record->resolve_hostname);
}

ssl_verify_result_t Loop::VerifyPeer(Conn* c, absl::string_view leaf_der,
                                     uint8_t* out_alert) {
  if (RefuseWithoutAlpn(c, out_alert)) {
    return ssl_verify_invalid;
  }
  std::shared_ptr<const DirectorySnapshot> snap = snapshot();
  // Only a registered certificate can start a lookup: an unknown peer is
  // refused below without one.
  std::shared_ptr<const ClientRecord> record =
      snap->FindByFingerprint(Sha256Fingerprint(leaf_der));
  if (record != nullptr && NeedsResolution(*snap, *record) &&
      AnswerFor(c, record->resolve_hostname) == nullptr) {
    const std::string& host = record->resolve_hostname;
    if (c->resolving && c->resolving_host == host) {
      return ssl_verify_retry;  // driven again before the answer came
    }
    if (StartLookup(c, host)) {
      return ssl_verify_retry;
    }
    c->answer_host = host;
    c->answer =
        Resolution{absl::ResourceExhaustedError(absl::StrCat(
                       "too many hostname lookups are already waiting (",
                       server_->options_.max_pending_lookups,
                       "), so the DNS server is probably slow or down")),
                   {}};
  }
  Admission a = AdmitPeer(c, leaf_der);
  if (!a.admitted) {
    *out_alert = static_cast<uint8_t>(a.alert);
    return ssl_verify_invalid;
  }
  return ssl_verify_ok;
}

bool Loop::AdmitResumption(Conn* c, absl::string_view leaf_der) {
  std::shared_ptr<const DirectorySnapshot> snap = snapshot();
  const std::string fingerprint = Sha256Fingerprint(leaf_der);
  return AdmitCertificate(*snap, fingerprint, leaf_der, c->peer_ip, absl::Now(),
                          KnownAnswer(c, *snap, fingerprint), &validity_)
      .admitted;
}

bool Loop::StartLookup(Conn* c, const std::string& hostname) {
  const uint64_t seq = ++next_seq_;
  const uint64_t conn_id = c->id;
  std::shared_ptr<Mailbox> mailbox = mailbox_;
  Loop* loop = this;
  const bool queued = server_->resolver_pool_->Lookup(
      hostname,
      [mailbox, loop, conn_id, seq, hostname](const Resolution& answer) {
        // A closed mailbox (the loop ended) drops the task, and with it the
        // borrowed loop pointer.
        mailbox->Post([loop, conn_id, seq, hostname, answer]() mutable {
          loop->LookupDone(conn_id, seq, hostname, std::move(answer));
        });
      });
  if (!queued) {
    return false;
  }
  c->resolving = true;
  c->resolving_host = hostname;
  c->lookup_seq = seq;
  c->lookup_deadline = absl::Now() + server_->options_.resolve_timeout;
  return true;
}

void Loop::LookupDone(uint64_t conn_id, uint64_t seq,
                      const std::string& hostname, Resolution answer) {
  Conn* c = Find(conn_id);
  if (c == nullptr || !c->resolving || c->lookup_seq != seq) {
    return;  // closed, or already refused at the deadline
  }
  c->resolving = false;
  c->answer_host = hostname;
  c->answer = std::move(answer);
  if (c->state == Conn::State::kHandshake) {
    ResumeHandshake(c);
  } else {
    Revalidate(c);  // a registry change asked for this lookup
  }
}

void Loop::CheckLookupDeadline(Conn* c, absl::Time now) {
  if (!c->resolving || now < c->lookup_deadline) {
    return;
  }
  // The worker may still be stuck in the resolver; its answer, when it comes,
  // is cached for later handshakes but no longer concerns this one.
  c->resolving = false;
  c->answer_host = c->resolving_host;
  c->answer =
      Resolution{absl::DeadlineExceededError(absl::StrCat(
                     "no answer within ",
                     absl::FormatDuration(server_->options_.resolve_timeout),
                     " (is the DNS server slow or down?)")),
                 {}};
  if (c->state == Conn::State::kHandshake) {
    ResumeHandshake(c);  // the verify callback now refuses with an alert
  } else {
    Revalidate(c);
  }
}

void Loop::ResumeHandshake(Conn* c) {
  c->read_paused = false;
  DrivePendingCipher(c);
  if (!c->dead) {
    UpdateEvents(c);
  }
}

}  // namespace trustlink::ntl::server::internal_engine
