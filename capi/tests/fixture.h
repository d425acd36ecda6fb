// Helpers shared by the C ABI tests.
#ifndef TRUSTLINK_CAPI_TESTS_FIXTURE_H_
#define TRUSTLINK_CAPI_TESTS_FIXTURE_H_

#include <fstream>
#include <sstream>
#include <string>

#include "trustlink/trustlink.h"

namespace trustlink::capi::testing {

// ThreadError returns the calling thread's last error (tl_last_error).
inline std::string ThreadError() {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  if (tl_last_error(buf, sizeof(buf), &len) != TL_OK) {
    return "<tl_last_error failed>";
  }
  return std::string(buf, len);
}

// ReadText returns the file's contents ("" when it cannot be read).
inline std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// ReadFixture reads testdata/tls/<name> (the test needs
// //testdata:tls_fixtures as data).
inline std::string ReadFixture(const std::string& name) {
  return ReadText("testdata/tls/" + name);
}

// RootError returns the client root handle's last error message.
inline std::string RootError(const tl_client_root* root) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  if (tl_client_root_last_error(root, buf, sizeof(buf), &len) != TL_OK) {
    return "<tl_client_root_last_error failed>";
  }
  return std::string(buf, len);
}

// ServerPem makes a fresh P-256 server certificate for `name` and returns its
// PEM ("" if that failed).
inline std::string ServerPem(const char* name) {
  tl_identity_options* options = nullptr;
  tl_identity* identity = nullptr;
  const char* pem = nullptr;
  std::string out;
  if (tl_identity_options_new(&options) == TL_OK &&
      tl_identity_options_set_for_server(options, 1) == TL_OK &&
      tl_identity_options_set_key_type(options, TL_KEY_TYPE_ECDSA_P256) ==
          TL_OK &&
      tl_identity_create(options, name, &identity) == TL_OK &&
      tl_identity_cert_pem(identity, &pem) == TL_OK) {
    out = pem;
  }
  tl_identity_free(identity);
  tl_identity_options_free(options);
  return out;
}

// LoopbackClientIdentity makes a client identity for 127.0.0.1, writes it to
// `dir` (c.pem, k.pem) and returns its certificate and key PEM; false if any
// step failed.
inline bool LoopbackClientIdentity(const std::string& dir, std::string* cert,
                                   std::string* key) {
  tl_identity_options* options = nullptr;
  tl_identity* identity = nullptr;
  const bool ok =
      tl_identity_options_new(&options) == TL_OK &&
      tl_identity_create(options, "127.0.0.1", &identity) == TL_OK &&
      tl_identity_write(identity, dir.c_str(), "c.pem", "k.pem", 0) == TL_OK;
  tl_identity_free(identity);
  tl_identity_options_free(options);
  *cert = ReadText(dir + "/c.pem");
  *key = ReadText(dir + "/k.pem");
  return ok && !cert->empty() && !key->empty();
}

}  // namespace trustlink::capi::testing

#endif  // TRUSTLINK_CAPI_TESTS_FIXTURE_H_
