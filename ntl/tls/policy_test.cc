#include "ntl/tls/policy.h"

#include <string>

#include "gtest/gtest.h"
#include "ntl/tls/testing/fixture_identity.h"

namespace trustlink::ntl::tls {
namespace {

using testing::UseFixtureIdentity;

// Accepts any peer certificate: this test is about the policy, not about
// pinning.
enum ssl_verify_result_t AcceptAny(SSL*, uint8_t*) { return ssl_verify_ok; }

struct Pair {
  bssl::UniquePtr<SSL_CTX> client_ctx{SSL_CTX_new(TLS_method())};
  bssl::UniquePtr<SSL_CTX> server_ctx{SSL_CTX_new(TLS_method())};
  bssl::UniquePtr<SSL> client;
  bssl::UniquePtr<SSL> server;
};

constexpr absl::string_view kServerProtocols[] = {kAlpnNtl, kAlpnHtl};

void Configure(Pair* pair, const std::string& client_key,
               const std::string& server_key) {
  ASSERT_TRUE(ApplyLinkPolicy(pair->client_ctx.get(), Role::kClient).ok());
  ASSERT_TRUE(ApplyLinkPolicy(pair->server_ctx.get(), Role::kServer).ok());
  UseFixtureIdentity(pair->client_ctx.get(), client_key);
  UseFixtureIdentity(pair->server_ctx.get(), server_key);
  ASSERT_TRUE(OfferAlpn(pair->client_ctx.get(), kAlpnNtl).ok());
  RequireAlpn(pair->server_ctx.get(), kServerProtocols, 2);
  for (SSL_CTX* ctx : {pair->client_ctx.get(), pair->server_ctx.get()}) {
    SSL_CTX_set_custom_verify(
        ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, AcceptAny);
  }
}

// Handshake drives both ends over a BIO pair until both finish or one fails.
bool Handshake(Pair* pair) {
  pair->client.reset(SSL_new(pair->client_ctx.get()));
  pair->server.reset(SSL_new(pair->server_ctx.get()));
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(pair->client.get(), client_bio, client_bio);
  SSL_set_bio(pair->server.get(), server_bio, server_bio);
  SSL_set_connect_state(pair->client.get());
  SSL_set_accept_state(pair->server.get());
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
    for (SSL* ssl : {pair->client.get(), pair->server.get()}) {
      bool& done = ssl == pair->client.get() ? client_done : server_done;
      if (done) {
        continue;
      }
      int ret = SSL_do_handshake(ssl);
      if (ret == 1) {
        done = true;
      } else if (SSL_get_error(ssl, ret) != SSL_ERROR_WANT_READ) {
        return false;
      }
    }
  }
  return client_done && server_done;
}

TEST(PolicyTest, Ed25519MutualHandshakeUsesTls13AndNtlAlpn) {
  Pair pair;
  Configure(&pair, "client_ed25519", "server_ed25519");
  ASSERT_TRUE(Handshake(&pair));
  EXPECT_EQ(SSL_version(pair.client.get()), TLS1_3_VERSION);
  EXPECT_EQ(NegotiatedAlpn(pair.client.get()), kAlpnNtl);
  EXPECT_EQ(NegotiatedAlpn(pair.server.get()), kAlpnNtl);
  EXPECT_EQ(SSL_get_peer_signature_algorithm(pair.server.get()),
            SSL_SIGN_ED25519);
}

TEST(PolicyTest, MixedKeyTypesAndTls12StillWorkWithAnAeadSuite) {
  Pair pair;
  Configure(&pair, "client_p256", "server_rsa2048");
  SSL_CTX_set_max_proto_version(pair.client_ctx.get(), TLS1_2_VERSION);
  ASSERT_TRUE(Handshake(&pair));
  EXPECT_EQ(SSL_version(pair.client.get()), TLS1_2_VERSION);
  const SSL_CIPHER* cipher = SSL_get_current_cipher(pair.client.get());
  ASSERT_NE(cipher, nullptr);
  EXPECT_TRUE(SSL_CIPHER_is_aead(cipher)) << SSL_CIPHER_get_name(cipher);
}

TEST(PolicyTest, ClientWithoutOurAlpnIsRefused) {
  Pair pair;
  Configure(&pair, "client_ed25519", "server_ed25519");
  const uint8_t h2[] = {2, 'h', '2'};
  ASSERT_EQ(SSL_CTX_set_alpn_protos(pair.client_ctx.get(), h2, sizeof(h2)), 0);
  EXPECT_FALSE(Handshake(&pair));
}

TEST(PolicyTest, ClientOfferingOnlyCbcSuitesIsRefused) {
  Pair pair;
  Configure(&pair, "client_p256", "server_p256");
  SSL_CTX_set_max_proto_version(pair.client_ctx.get(), TLS1_2_VERSION);
  ASSERT_TRUE(
      SSL_CTX_set_cipher_list(pair.client_ctx.get(), "ECDHE-ECDSA-AES128-SHA"));
  EXPECT_FALSE(Handshake(&pair));
}

}  // namespace
}  // namespace trustlink::ntl::tls
