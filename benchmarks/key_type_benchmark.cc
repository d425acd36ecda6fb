// BM_FullHandshake: the cost of one full TLS 1.3 mutual-authentication
// handshake (no resumption) between a client and a server whose certificates
// are both of one key type, over an in-memory BIO pair, on the system
// BoringSSL. This is the figure the default key type was chosen by
// (docs/adr/0001-default-key-type.md).
//
// Each iteration runs one handshake of the key type under test and,
// interleaved, one of the ECDSA P-256 baseline; the "vs_p256" counter is the
// ratio of their total times. Measured side by side, the ratio survives the
// noise of a shared machine that absolute times do not.
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "benchmark/benchmark.h"
#include "ntl/identity.h"
#include "ntl/names.h"

namespace trustlink::ntl {
namespace {

// Both sides verify the peer's signature, so both need Ed25519 in their verify
// list (BoringSSL leaves it out by default; BUILD-NOTES.md).
constexpr uint16_t kVerifyPrefs[] = {
    SSL_SIGN_ED25519,
    SSL_SIGN_ECDSA_SECP256R1_SHA256,
    SSL_SIGN_ECDSA_SECP384R1_SHA384,
    SSL_SIGN_RSA_PSS_RSAE_SHA256,
    SSL_SIGN_RSA_PSS_RSAE_SHA384,
    SSL_SIGN_RSA_PSS_RSAE_SHA512,
};

void Die(const char* what) {
  std::fprintf(stderr, "key_type_benchmark: %s failed\n", what);
  std::abort();
}

Identity MakeIdentity(KeyType type, const char* name, bool for_server) {
  IdentityOptions options;
  options.key_type = type;
  options.for_server = for_server;
  absl::StatusOr<Identity> id =
      CreateIdentity(*CanonicalizeNameWithHost(name, ""), options);
  if (!id.ok()) Die("CreateIdentity");
  return *std::move(id);
}

// PinnedVerify accepts exactly the certificate stored in the context's ex_data
// slot 0, which is how trustlink pins peers (by the exact certificate, not by a
// CA).
enum ssl_verify_result_t PinnedVerify(SSL* ssl, uint8_t* out_alert) {
  const CRYPTO_BUFFER* pinned = static_cast<const CRYPTO_BUFFER*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), 0));
  const STACK_OF(CRYPTO_BUFFER)* chain = SSL_get0_peer_certificates(ssl);
  if (chain == nullptr || sk_CRYPTO_BUFFER_num(chain) < 1) {
    *out_alert = SSL_AD_CERTIFICATE_REQUIRED;
    return ssl_verify_invalid;
  }
  const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(chain, 0);
  if (CRYPTO_BUFFER_len(leaf) != CRYPTO_BUFFER_len(pinned) ||
      CRYPTO_memcmp(CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_data(pinned),
                    CRYPTO_BUFFER_len(leaf)) != 0) {
    *out_alert = SSL_AD_BAD_CERTIFICATE;
    return ssl_verify_invalid;
  }
  return ssl_verify_ok;
}

bssl::UniquePtr<SSL_CTX> MakeCtx(const Identity& self, const Identity& peer,
                                 bool server) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx || !SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) ||
      !SSL_CTX_use_certificate(ctx.get(), self.cert.get()) ||
      !SSL_CTX_use_PrivateKey(ctx.get(), self.key.get()) ||
      !SSL_CTX_set_verify_algorithm_prefs(
          ctx.get(), kVerifyPrefs,
          sizeof(kVerifyPrefs) / sizeof(kVerifyPrefs[0]))) {
    Die("SSL_CTX setup");
  }
  std::string der = peer.cert.Der();
  CRYPTO_BUFFER* pinned = CRYPTO_BUFFER_new(
      reinterpret_cast<const uint8_t*>(der.data()), der.size(), nullptr);
  SSL_CTX_set_ex_data(ctx.get(), 0,
                      pinned);  // Leaked once per context; contexts live long.
  SSL_CTX_set_custom_verify(
      ctx.get(),
      server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
             : SSL_VERIFY_PEER,
      PinnedVerify);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  return ctx;
}

// Pair is a client and a server context for one key type.
struct Pair {
  explicit Pair(KeyType type)
      : server_id(MakeIdentity(type, "hsm1", true)),
        client_id(MakeIdentity(type, "web1", false)),
        server(MakeCtx(server_id, client_id, true)),
        client(MakeCtx(client_id, server_id, false)) {}
  Identity server_id;
  Identity client_id;
  bssl::UniquePtr<SSL_CTX> server;
  bssl::UniquePtr<SSL_CTX> client;
};

// Handshake runs one full handshake and returns its wall time in seconds.
double Handshake(const Pair& pair) {
  auto start = std::chrono::steady_clock::now();
  bssl::UniquePtr<SSL> client(SSL_new(pair.client.get()));
  bssl::UniquePtr<SSL> server(SSL_new(pair.server.get()));
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (!client || !server || !BIO_new_bio_pair(&client_bio, 0, &server_bio, 0))
    Die("SSL_new");
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  bool client_done = false, server_done = false;
  for (int round = 0; !(client_done && server_done); ++round) {
    if (round > 20) Die("handshake (no progress)");
    if (!client_done) {
      int r = SSL_do_handshake(client.get());
      if (r == 1) {
        client_done = true;
      } else if (SSL_get_error(client.get(), r) != SSL_ERROR_WANT_READ) {
        Die("client handshake");
      }
    }
    if (!server_done) {
      int r = SSL_do_handshake(server.get());
      if (r == 1) {
        server_done = true;
      } else if (SSL_get_error(server.get(), r) != SSL_ERROR_WANT_READ) {
        Die("server handshake");
      }
    }
  }
  // In TLS 1.3 the server authenticates the client only on reading its
  // Finished; make sure the client's last flight has been consumed.
  if (SSL_get_peer_certificate(server.get()) == nullptr)
    Die("server saw no client cert");
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

void BM_FullHandshake(benchmark::State& state, KeyType type) {
  Pair pair(type);
  Pair baseline(KeyType::kEcdsaP256);
  double total = 0, baseline_total = 0;
  for (auto _ : state) {
    double t = Handshake(pair);
    state.SetIterationTime(t);
    total += t;
    baseline_total += Handshake(baseline);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["vs_p256"] = total / baseline_total;
  state.counters["handshakes_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) / total);
}

BENCHMARK_CAPTURE(BM_FullHandshake, p256_baseline, KeyType::kEcdsaP256)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_FullHandshake, ed25519, KeyType::kEd25519)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_FullHandshake, p384, KeyType::kEcdsaP384)->UseManualTime();
BENCHMARK_CAPTURE(BM_FullHandshake, rsa2048, KeyType::kRsa2048)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_FullHandshake, rsa3072, KeyType::kRsa3072)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_FullHandshake, rsa4096, KeyType::kRsa4096)
    ->UseManualTime();

}  // namespace
}  // namespace trustlink::ntl
