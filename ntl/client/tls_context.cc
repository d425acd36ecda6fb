#include "ntl/client/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ntl/status.h"
#include "ntl/tls/policy.h"

namespace trustlink::ntl::client {
namespace {

absl::Status ConfigError(absl::string_view message) {
  return Error(absl::StatusCode::kInvalidArgument, TL_E_CONFIG_INVALID,
               message);
}

enum ssl_verify_result_t VerifyPin(SSL* ssl, uint8_t* out_alert) {
  auto* peer = static_cast<PinnedPeer*>(SSL_get_app_data(ssl));
  if (peer != nullptr && peer->CheckPin(ssl)) {
    return ssl_verify_ok;
  }
  *out_alert = SSL_AD_BAD_CERTIFICATE;
  return ssl_verify_invalid;
}

int OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* peer = static_cast<PinnedPeer*>(SSL_get_app_data(ssl));
  if (peer == nullptr) {
    return 0;
  }
  peer->SetSession(session);  // takes ownership
  return 1;
}

}  // namespace

absl::StatusOr<bssl::UniquePtr<SSL_CTX>> MakeClientContext(
    const ClientSettings& s, absl::string_view alpn) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (ctx == nullptr) {
    return Error(absl::StatusCode::kInternal, TL_E_INTERNAL,
                 "cannot create a TLS context");
  }
  absl::Status st = tls::ApplyLinkPolicy(ctx.get(), tls::Role::kClient);
  if (!st.ok()) {
    return st;
  }
  st = tls::OfferAlpn(ctx.get(), alpn);
  if (!st.ok()) {
    return st;
  }
  bssl::UniquePtr<BIO> cbio(BIO_new_mem_buf(
      s.client_cert_pem.data(), static_cast<int>(s.client_cert_pem.size())));
  bssl::UniquePtr<X509> cert(
      PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
  bssl::UniquePtr<BIO> kbio(BIO_new_mem_buf(
      s.client_key_pem.data(), static_cast<int>(s.client_key_pem.size())));
  bssl::UniquePtr<EVP_PKEY> key(
      PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return ConfigError(
        "the client certificate is missing or not PEM; set the identity "
        "(tl_client_settings_set_identity_pem) or load a client root that has "
        "one");
  }
  if (key == nullptr) {
    return ConfigError(
        "the client private key is missing or not PEM; set the identity "
        "(tl_client_settings_set_identity_pem) or load a client root that has "
        "one");
  }
  if (!SSL_CTX_use_certificate(ctx.get(), cert.get()) ||
      !SSL_CTX_use_PrivateKey(ctx.get(), key.get()) ||
      !SSL_CTX_check_private_key(ctx.get())) {
    ERR_clear_error();
    return ConfigError(
        "the client private key does not match the client certificate; give "
        "the key made with that certificate, or make a new identity "
        "(tl_identity_create) and register its certificate on the appliance");
  }
  SSL_CTX_set_custom_verify(ctx.get(), SSL_VERIFY_PEER, VerifyPin);
  SSL_CTX_set_session_cache_mode(
      ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx.get(), OnNewSession);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

}  // namespace trustlink::ntl::client
