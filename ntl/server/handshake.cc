// Admission after the TLS handshake and after hello (docs/server.md,
// "Admission"; docs/htl.md, "Frames"): the registry check after every
// handshake, then per ALPN either the htl/1 link or the hello of an ntl/1 link
// with its HTL table.

#include "absl/strings/str_cat.h"
#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"
#include "ntl/server/htl_gate.h"
#include "ntl/tls/policy.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server::internal_engine {

std::string WelcomeFor(const ClientRecord& record) {
  wire::Welcome w;
  w.client_label = record.label;
  w.slots = record.partitions;
  return wire::EncodeWelcome(w);
}

std::shared_ptr<const DirectorySnapshot> Loop::snapshot() {
  const uint64_t gen = server_->directory_->generation();
  if (gen != directory_generation_) {
    directory_generation_ = gen;
    snapshot_ = server_->directory_->Snapshot();
  }
  return snapshot_;
}

absl::string_view LeafCertificateDer(const STACK_OF(CRYPTO_BUFFER) * chain) {
  if (chain == nullptr || sk_CRYPTO_BUFFER_num(chain) == 0) {
    return "";
  }
  const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(chain, 0);
  return absl::string_view(
      reinterpret_cast<const char*>(CRYPTO_BUFFER_data(leaf)),
      CRYPTO_BUFFER_len(leaf));
}

Admission Loop::AdmitPeer(Conn* c, absl::string_view leaf_der) {
  const std::string fingerprint = Sha256Fingerprint(leaf_der);
  std::shared_ptr<const DirectorySnapshot> snap = snapshot();
  Admission a =
      AdmitCertificate(*snap, fingerprint, leaf_der, c->peer_ip, absl::Now(),
                       KnownAnswer(c, *snap, fingerprint), &validity_);
  if (!a.admitted && !c->refusal_logged) {
    c->refusal_logged = true;
    c->stats->Refused(stats::RefusalOfRule(a.rule));
    // Any stranger can present a certificate of its own: rate-limited.
    server_->LogStranger(
        "refused",
        absl::StrCat("refused peer=", c->peer, " fingerprint=", fingerprint,
                     " rule=", a.rule, " reason=\"", a.message, "\""));
  }
  return a;
}

bool Loop::RefuseWithoutAlpn(Conn* c, uint8_t* out_alert) {
  if (!tls::NegotiatedAlpn(c->ssl.get()).empty()) {
    return false;
  }
  // The ALPN callback only runs when the client offers ALPN, so a client
  // that offers none reaches this point with nothing negotiated.
  if (!c->refusal_logged) {
    c->refusal_logged = true;
    c->stats->Refused(stats::Refusal::kAlpn);
    server_->LogStranger(
        "refused", absl::StrCat("refused peer=", c->peer,
                                " rule=alpn reason=\"the "
                                "client offered no ALPN; an NTL client offers ",
                                tls::kAlpnNtl, " (or ", tls::kAlpnHtl,
                                " for the HTL agent)\""));
  }
  *out_alert = SSL_AD_NO_APPLICATION_PROTOCOL;
  return true;
}

bool Loop::Promote(Conn* c) {
  const ClientRecord& rec = *c->admission.record;
  size_t per_client = snapshot()->max_links_per_client();
  if (per_client == 0) {
    per_client = server_->options_.max_links_per_client;
  }
  const std::string refused = server_->TryClientConnected(rec, per_client);
  if (!refused.empty()) {
    c->stats->Refused(stats::Refusal::kLinkCap);
    Log(absl::StrCat("refused peer=", c->peer, " client='", rec.label,
                     "' fingerprint=", c->fingerprint,
                     " rule=link-cap reason=\"", refused, "\""));
    GoAway(c, TL_E_RESOURCE_EXHAUSTED, refused);
    return false;
  }
  c->unauthenticated = false;
  server_->LeavePool(c->pool_ticket);
  if (accept_paused_) {
    ResumeAccept();  // the pool has room again; a held burst goes on
  }
  return true;
}

void Loop::ProtectIfResumed(Conn* c) {
  // A resumption is decided on the client's first flight: the ticket opened
  // under this server's key, its session's certificate passed admission (the
  // ticket filter), and the PSK binder proved the client holds that
  // session's secret (BoringSSL checks the binder before it marks the
  // session reused). That is a registered client proven as surely as by a
  // finished full handshake, one round trip earlier: in a reconnect storm
  // the pool stops counting it against its source address at once, so a
  // fleet behind one NAT address is not capped like a stranger.
  // TLS 1.3 only: a TLS 1.2 resumption has no binder (the client proves the
  // secret only with its Finished) and its tickets cross the wire in clear,
  // so a copied one would pin a slot until the handshake deadline.
  if (c->pool_protected || !SSL_session_reused(c->ssl.get()) ||
      SSL_version(c->ssl.get()) != TLS1_3_VERSION) {
    return;
  }
  c->pool_protected = true;
  server_->ProtectInPool(c->pool_ticket);
}

void Loop::OnHandshakeStep(const SSL* ssl, int type, int /*value*/) {
  // BoringSSL calls this at each change of handshake state, inside
  // SSL_do_handshake; the step after the ticket was accepted comes before
  // ServerHello is even written. Protecting only once SSL_do_handshake had
  // returned, as before, left a window after the server's flight was on the
  // wire: a client already holding the answer could still be evicted as a
  // stranger of its address (connection_budget_test lost a resumed client in
  // 5 of 50 TSan runs that way).
  if (type != SSL_CB_ACCEPT_LOOP) {
    return;
  }
  Conn* c = ConnFromSsl(ssl);
  if (c != nullptr && c->state == Conn::State::kHandshake) {
    LoopOf(c)->ProtectIfResumed(c);
  }
}

void Loop::OnHandshakeDone(Conn* c) {
  c->stats->Handshake(SSL_session_reused(c->ssl.get()));
  const absl::string_view leaf =
      LeafCertificateDer(SSL_get0_peer_certificates(c->ssl.get()));
  if (leaf.empty()) {
    CloseConn(c, "no client certificate");
    return;
  }
  c->fingerprint = Sha256Fingerprint(leaf);
  uint8_t alert = 0;
  if (RefuseWithoutAlpn(c, &alert)) {  // a resumed handshake skipped verify
    SSL_send_fatal_alert(c->ssl.get(), alert);
    CloseConn(c, "");
    return;
  }
  // Admission again, after every handshake: a resumed one skipped the verify
  // callback.
  c->admission = AdmitPeer(c, leaf);
  if (!c->admission.admitted) {
    CloseConn(c, "");
    return;
  }
  // The key behind a registered certificate is proven: strangers may no
  // longer evict this connection.
  c->pool_protected = true;
  server_->ProtectInPool(c->pool_ticket);
  c->state = Conn::State::kAwaitHello;
  c->htl_link = tls::NegotiatedAlpn(c->ssl.get()) == tls::kAlpnHtl;
  Log(absl::StrCat("authenticated peer=", c->peer, " client='",
                   c->admission.record->label, "' fingerprint=", c->fingerprint,
                   " resumed=", SSL_session_reused(c->ssl.get()) ? "yes" : "no",
                   " version=", SSL_get_version(c->ssl.get()),
                   " alpn=", tls::NegotiatedAlpn(c->ssl.get())));
  if (c->htl_link) {
    StartHtlLink(c);  // htl/1 has no hello: this handshake is its admission
  }
}

void Loop::RefuseHtl(Conn* c, int32_t code, absl::string_view message) {
  c->stats->Refused(stats::Refusal::kHtl);
  Log(absl::StrCat("refused peer=", c->peer, " client='",
                   c->admission.record->label, "' fingerprint=", c->fingerprint,
                   " rule=htl code=", code, " reason=\"", message, "\""));
  GoAway(c, code, message);
}

std::string HtlRequiredByApplianceMessage(absl::string_view label) {
  return absl::StrCat(
      "client '", label,
      "' is registered with require-HTL on this appliance, so HTL is "
      "required; register the server with HTL on the client and run the HTL "
      "agent, or register the client without require-HTL");
}

std::string HtlRequiredByClientMessage(absl::string_view label) {
  return absl::StrCat(
      "client '", label,
      "' asked for HTL but is not registered with require-HTL on this "
      "appliance; register the client with require-HTL and a one-time "
      "token, or register the server without HTL on the client");
}

void Loop::HandleHello(Conn* c, const wire::FrameView& f) {
  auto hello = wire::DecodeHello(f.payload);
  if (!hello.ok()) {
    GoAway(c, TL_E_PROTOCOL, hello.status().message());
    return;
  }
  const ClientRecord& rec = *c->admission.record;
  c->software = hello->software;
  const bool asks_htl = (hello->features & kHelloFeatureHtl) != 0;
  if (rec.require_htl && !asks_htl) {
    RefuseHtl(c, TL_E_HTL_REQUIRED_BY_APPLIANCE,
              HtlRequiredByApplianceMessage(rec.label));
    return;
  }
  if (!rec.require_htl && asks_htl) {
    RefuseHtl(c, TL_E_HTL_REQUIRED_BY_CLIENT,
              HtlRequiredByClientMessage(rec.label));
    return;
  }
  if (rec.require_htl) {
    AwaitHtlProof(c);
    return;
  }
  Welcome(c);
}

void Loop::Welcome(Conn* c) {
  const ClientRecord& rec = *c->admission.record;
  if (!Promote(c)) {
    return;
  }
  SendFrame(c, wire::FrameType::kWelcome, 0, WelcomeFor(rec));
  c->state = Conn::State::kOpen;
  Log(absl::StrCat(
      "admitted peer=", c->peer, " client='", rec.label,
      "' fingerprint=", c->fingerprint, " slots=", rec.partitions.size(),
      c->htl_proven ? " htl=proven" : "", " software=\"", c->software, "\""));
}

}  // namespace trustlink::ntl::server::internal_engine
