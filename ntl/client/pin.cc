#include "ntl/client/pin.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

std::string Sha256Fingerprint(absl::string_view der) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(der.data()), der.size(), digest);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(SHA256_DIGEST_LENGTH * 3);
  for (size_t i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    if (i > 0) {
      out.push_back(':');
    }
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

absl::StatusOr<std::string> CertPemToDer(absl::string_view pem,
                                         absl::string_view what) {
  bssl::UniquePtr<BIO> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  bssl::UniquePtr<X509> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_CERT_INVALID,
                 absl::StrCat(what, " does not hold a PEM certificate"));
  }
  uint8_t* der = nullptr;
  const int len = i2d_X509(cert.get(), &der);
  if (len <= 0) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_CERT_INVALID,
                 absl::StrCat(what, " cannot be encoded as DER"));
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string PeerLeafDer(const SSL* ssl) {
  const STACK_OF(CRYPTO_BUFFER)* chain = SSL_get0_peer_certificates(ssl);
  if (chain == nullptr || sk_CRYPTO_BUFFER_num(chain) == 0) {
    return "";
  }
  const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(chain, 0);
  return std::string(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(leaf)),
                     CRYPTO_BUFFER_len(leaf));
}

absl::Status PinMismatch(absl::string_view server,
                         absl::string_view presented_der,
                         absl::string_view pinned_der) {
  return Error(
      absl::StatusCode::kUnauthenticated, TL_E_CERT_PIN_MISMATCH,
      absl::StrCat(
          "server '", server, "' presented certificate SHA256 ",
          presented_der.empty() ? std::string("(none)")
                                : Sha256Fingerprint(presented_der),
          " but the pinned certificate (cert/server/", server,
          "Cert.pem) is SHA256 ", Sha256Fingerprint(pinned_der),
          "; if the appliance's certificate was regenerated, register its "
          "new certificate with replace (tl_client_root_add_server), "
          "otherwise something else answers at that address"));
}

absl::Status TlsFailure(absl::string_view server, int ssl_error,
                        int saved_errno, bool handshake_done) {
  const uint32_t err = ERR_peek_error();
  char text[256] = {0};
  if (err != 0) {
    ERR_error_string_n(err, text, sizeof(text));
  }
  ERR_clear_error();
  const int reason = err != 0 ? ERR_GET_REASON(err) : 0;
  if (reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN) {
    return Error(
        absl::StatusCode::kPermissionDenied, TL_E_NOT_REGISTERED,
        absl::StrCat(
            "server '", server,
            "' refused this client (TLS alert certificate_unknown): the "
            "client certificate is not registered on the appliance; the "
            "appliance must register this client's certificate "
            "(tl_registry_register_client, or tl_registry_replace_certificate "
            "if it was replaced)"));
  }
  if (reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED) {
    return Error(
        absl::StatusCode::kPermissionDenied, TL_E_IP_MISMATCH,
        absl::StrCat(
            "server '", server,
            "' refused this client (TLS alert access_denied): the client "
            "connects from an address other than the one registered "
            "(ipcheck is on); fix the registered hostname/IP or its "
            "mapping on the appliance"));
  }
  if (reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED) {
    return Error(
        absl::StatusCode::kPermissionDenied, TL_E_CERT_EXPIRED,
        absl::StrCat(
            "server '", server,
            "' refused this client (TLS alert certificate_expired): the "
            "client certificate has expired or is not valid yet (check both "
            "clocks); make a new one (tl_client_root_create_cert) and have "
            "the appliance register it (tl_registry_replace_certificate)"));
  }
  if (reason == SSL_R_TLSV1_ALERT_USER_CANCELLED) {
    // The appliance's connection budget had no room (docs/server.md,
    // "Connection budget"): it says so with this alert rather than a bare
    // close.
    return Error(
        absl::StatusCode::kResourceExhausted, TL_E_RESOURCE_EXHAUSTED,
        absl::StrCat(
            "server '", server,
            "' cancelled the handshake (TLS alert user_canceled): it is at "
            "its cap of connections not yet admitted, probably under a flood "
            "of connections from elsewhere; the link retries, and the "
            "appliance log names the cap (refused/evicted lines)"));
  }
  if (reason == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL) {
    return Error(
        absl::StatusCode::kFailedPrecondition, TL_E_TLS_HANDSHAKE,
        absl::StrCat("server '", server,
                     "' refused the link (TLS alert no_application_protocol): "
                     "it serves ALPN ntl/1 and htl/1 only"));
  }
  if (ssl_error == SSL_ERROR_ZERO_RETURN ||
      (ssl_error == SSL_ERROR_SYSCALL && err == 0)) {
    return Error(absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
                 absl::StrCat("connection to server '", server, "' was closed",
                              handshake_done ? "" : " during the TLS handshake",
                              saved_errno != 0
                                  ? absl::StrCat(": ", strerror(saved_errno))
                                  : std::string()));
  }
  if (!handshake_done) {
    return Error(absl::StatusCode::kUnavailable, TL_E_TLS_HANDSHAKE,
                 absl::StrCat("TLS handshake with server '", server,
                              "' failed: ", text));
  }
  return Error(
      absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
      absl::StrCat("TLS error on the link to server '", server, "': ", text));
}

}  // namespace trustlink::ntl::client
