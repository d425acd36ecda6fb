#include "ntl/tls/policy.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl::tls {
namespace {

// TLS 1.2 suites: forward-secret ECDHE with AEAD only. TLS 1.3 suites are all
// AEAD and not configurable in BoringSSL.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr int kGroups[] = {NID_X25519, NID_X9_62_prime256v1, NID_secp384r1};

// Ed25519 first: it is the cheapest to verify on this BoringSSL
// (docs/adr/0001).
constexpr uint16_t kSignatureAlgorithms[] = {
    SSL_SIGN_ED25519,
    SSL_SIGN_ECDSA_SECP256R1_SHA256,
    SSL_SIGN_ECDSA_SECP384R1_SHA384,
    SSL_SIGN_RSA_PSS_RSAE_SHA256,
    SSL_SIGN_RSA_PSS_RSAE_SHA384,
    SSL_SIGN_RSA_PSS_RSAE_SHA512,
    SSL_SIGN_RSA_PKCS1_SHA256,
    SSL_SIGN_RSA_PKCS1_SHA384,
    SSL_SIGN_RSA_PKCS1_SHA512,
};

absl::Status PolicyError(absl::string_view what) {
  return Error(absl::StatusCode::kInternal, TL_E_INTERNAL,
               absl::StrCat("cannot apply the TLS link policy: ", what));
}

struct AlpnList {
  const absl::string_view* protocols;
  size_t num_protocols;
};

int SelectAlpn(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in,
               unsigned in_len, void* arg) {
  const auto* list = static_cast<const AlpnList*>(arg);
  // `in` is the client's list of length-prefixed names; take the first one we
  // serve.
  for (unsigned i = 0; i < in_len;) {
    const unsigned len = in[i];
    if (i + 1 + len > in_len) {
      break;
    }
    absl::string_view offered(reinterpret_cast<const char*>(in + i + 1), len);
    for (size_t p = 0; p < list->num_protocols; ++p) {
      if (offered == list->protocols[p]) {
        *out = in + i + 1;
        *out_len = static_cast<uint8_t>(len);
        return SSL_TLSEXT_ERR_OK;
      }
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

}  // namespace

absl::Status ApplyLinkPolicy(SSL_CTX* ctx, Role role) {
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
    return PolicyError("protocol versions");
  }
  if (!SSL_CTX_set_strict_cipher_list(ctx, kTls12Ciphers)) {
    return PolicyError("cipher list");
  }
  if (!SSL_CTX_set1_curves(ctx, kGroups,
                           sizeof(kGroups) / sizeof(kGroups[0]))) {
    return PolicyError("key exchange groups");
  }
  const size_t num_algs =
      sizeof(kSignatureAlgorithms) / sizeof(kSignatureAlgorithms[0]);
  if (!SSL_CTX_set_signing_algorithm_prefs(ctx, kSignatureAlgorithms,
                                           num_algs) ||
      !SSL_CTX_set_verify_algorithm_prefs(ctx, kSignatureAlgorithms,
                                          num_algs)) {
    return PolicyError("signature algorithms");
  }
  // 0-RTT data can be replayed; trust-link requests are not idempotent.
  SSL_CTX_set_early_data_enabled(ctx, 0);
  if (role == Role::kServer) {
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  // Renegotiation: BoringSSL servers never renegotiate, and clients refuse by
  // default (ssl_renegotiate_never); nothing to switch off here.
  return absl::OkStatus();
}

absl::Status OfferAlpn(SSL_CTX* ctx, absl::string_view protocol) {
  std::string wire;
  wire.push_back(static_cast<char>(protocol.size()));
  wire.append(protocol.data(), protocol.size());
  // SSL_CTX_set_alpn_protos returns 0 on success, unlike most of the API.
  if (SSL_CTX_set_alpn_protos(ctx,
                              reinterpret_cast<const uint8_t*>(wire.data()),
                              wire.size()) != 0) {
    return PolicyError("ALPN");
  }
  return absl::OkStatus();
}

void RequireAlpn(SSL_CTX* ctx, const absl::string_view* protocols,
                 size_t num_protocols) {
  // The callback's argument must live as long as the context, so it hangs off
  // the context's ex_data, whose free callback deletes it with the context.
  auto* list = new AlpnList{protocols, num_protocols};
  static int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<AlpnList*>(ptr);
      });
  SSL_CTX_set_ex_data(ctx, index, list);
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, list);
}

absl::string_view NegotiatedAlpn(const SSL* ssl) {
  const uint8_t* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return absl::string_view(reinterpret_cast<const char*>(data), len);
}

}  // namespace trustlink::ntl::tls
