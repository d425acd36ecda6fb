#ifndef TRUSTLINK_NTL_TLS_TESTING_FIXTURE_IDENTITY_H_
#define TRUSTLINK_NTL_TLS_TESTING_FIXTURE_IDENTITY_H_

// For tests that make a TLS pair by hand, below the link code: an SSL_CTX's
// certificate and key from a testdata/tls fixture (the test needs
// //testdata:tls_fixtures as data).

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace trustlink::ntl::tls::testing {

// UseFixtureIdentity makes `ctx` present testdata/tls/<stem>.cert.pem with
// its key <stem>.key.pem (for example "server_p256"). A fixture that does not
// load is a test failure naming it.
inline void UseFixtureIdentity(SSL_CTX* ctx, const std::string& stem) {
  auto read = [](const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  };
  const std::string cert_pem = read("testdata/tls/" + stem + ".cert.pem");
  const std::string key_pem = read("testdata/tls/" + stem + ".key.pem");
  bssl::UniquePtr<BIO> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), cert_pem.size()));
  bssl::UniquePtr<X509> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  bssl::UniquePtr<BIO> key_bio(BIO_new_mem_buf(key_pem.data(), key_pem.size()));
  bssl::UniquePtr<EVP_PKEY> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(cert, nullptr) << stem;
  ASSERT_NE(key, nullptr) << stem;
  ASSERT_TRUE(SSL_CTX_use_certificate(ctx, cert.get())) << stem;
  ASSERT_TRUE(SSL_CTX_use_PrivateKey(ctx, key.get())) << stem;
}

}  // namespace trustlink::ntl::tls::testing

#endif  // TRUSTLINK_NTL_TLS_TESTING_FIXTURE_IDENTITY_H_
