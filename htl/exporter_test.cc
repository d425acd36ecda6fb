#include "htl/exporter.h"

#include "gtest/gtest.h"
#include "htl/crypto.h"
#include "ntl/status.h"
#include "ntl/tls/policy.h"
#include "ntl/tls/testing/fixture_identity.h"

namespace trustlink::htl {
namespace {

using ntl::tls::testing::UseFixtureIdentity;

enum ssl_verify_result_t AcceptAny(SSL*, uint8_t*) { return ssl_verify_ok; }

struct Link {
  bssl::UniquePtr<SSL_CTX> cctx{SSL_CTX_new(TLS_method())};
  bssl::UniquePtr<SSL_CTX> sctx{SSL_CTX_new(TLS_method())};
  bssl::UniquePtr<SSL> client;
  bssl::UniquePtr<SSL> server;

  explicit Link(uint16_t max_version) {
    static constexpr absl::string_view kProtocols[] = {ntl::tls::kAlpnHtl};
    EXPECT_TRUE(
        ntl::tls::ApplyLinkPolicy(cctx.get(), ntl::tls::Role::kClient).ok());
    EXPECT_TRUE(
        ntl::tls::ApplyLinkPolicy(sctx.get(), ntl::tls::Role::kServer).ok());
    UseFixtureIdentity(cctx.get(), "client_p256");
    UseFixtureIdentity(sctx.get(), "server_p256");
    EXPECT_TRUE(ntl::tls::OfferAlpn(cctx.get(), ntl::tls::kAlpnHtl).ok());
    ntl::tls::RequireAlpn(sctx.get(), kProtocols, 1);
    for (SSL_CTX* c : {cctx.get(), sctx.get()}) {
      SSL_CTX_set_custom_verify(
          c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, AcceptAny);
    }
    SSL_CTX_set_max_proto_version(cctx.get(), max_version);
    client.reset(SSL_new(cctx.get()));
    server.reset(SSL_new(sctx.get()));
    BIO* a = nullptr;
    BIO* b = nullptr;
    BIO_new_bio_pair(&a, 0, &b, 0);
    SSL_set_bio(client.get(), a, a);
    SSL_set_bio(server.get(), b, b);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
  }
  bool Handshake() {
    bool cd = false, sd = false;
    for (int round = 0; round < 20 && !(cd && sd); ++round) {
      if (!cd) {
        const int r = SSL_do_handshake(client.get());
        if (r == 1)
          cd = true;
        else if (SSL_get_error(client.get(), r) != SSL_ERROR_WANT_READ)
          return false;
      }
      if (!sd) {
        const int r = SSL_do_handshake(server.get());
        if (r == 1)
          sd = true;
        else if (SSL_get_error(server.get(), r) != SSL_ERROR_WANT_READ)
          return false;
      }
    }
    return cd && sd;
  }
};

TEST(ExporterTest, BothEndsAgreeAndEverySessionDiffers) {
  Link one(TLS1_3_VERSION);
  EXPECT_EQ(ntl::ToTlStatus(ExportHtlBinding(one.client.get()).status()),
            TL_E_TLS_HANDSHAKE);
  ASSERT_TRUE(one.Handshake());
  absl::StatusOr<std::string> c = ExportHtlBinding(one.client.get());
  absl::StatusOr<std::string> s = ExportHtlBinding(one.server.get());
  ASSERT_TRUE(c.ok() && s.ok());
  EXPECT_EQ(c->size(), kExporterLen);
  EXPECT_EQ(*c, *s);
  Link two(TLS1_3_VERSION);
  ASSERT_TRUE(two.Handshake());
  EXPECT_NE(*ExportHtlBinding(two.client.get()), *c);
}

TEST(ExporterTest, Tls12WithExtendedMasterSecretWorks) {
  Link link(TLS1_2_VERSION);
  ASSERT_TRUE(link.Handshake());
  ASSERT_EQ(SSL_version(link.client.get()), TLS1_2_VERSION);
  absl::StatusOr<std::string> c = ExportHtlBinding(link.client.get());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, *ExportHtlBinding(link.server.get()));
}

}  // namespace
}  // namespace trustlink::htl
