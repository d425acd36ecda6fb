#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <string>

#include "gtest/gtest.h"
#include "third_party/boringssl_guard.h"

// The guard header already refuses to compile against OpenSSL's headers. This test also
// catches the other half of a mix-up: BoringSSL headers with OpenSSL's libraries linked in.
TEST(BoringSslTest, HeadersAndLibraryAreBoringSsl) {
#if !defined(OPENSSL_IS_BORINGSSL)
  FAIL() << "compiled against non-BoringSSL headers";
#endif
  // SSL_CTX_set_verify_algorithm_prefs exists only in BoringSSL; linking proves the library.
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  ASSERT_NE(ctx, nullptr);
  const uint16_t prefs[] = {SSL_SIGN_ED25519};
  EXPECT_EQ(SSL_CTX_set_verify_algorithm_prefs(ctx.get(), prefs, 1), 1);
  EXPECT_NE(std::string(OpenSSL_version(OPENSSL_VERSION)).find("BoringSSL"),
            std::string::npos);
}
