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

// LoopbackServerOptions makes in `*out` the options of a server on 127.0.0.1
// (on a port the kernel picks) with `threads` event loops, the Ed25519 fixture
// server certificate, and client "web1" (client_ed25519.cert.pem) registered
// for 127.0.0.1 without HTL. Returns TL_OK, or the status of the first call
// that failed (then `*out` is not written). The caller frees the options.
inline tl_status LoopbackServerOptions(int32_t threads,
                                       tl_server_options** out) {
  tl_server_options* opts = nullptr;
  tl_status s = tl_server_options_new(&opts);
  if (s == TL_OK) s = tl_server_options_set_listen(opts, "127.0.0.1", 0);
  if (s == TL_OK) s = tl_server_options_set_threads(opts, threads);
  if (s == TL_OK) {
    s = tl_server_options_set_certificate(
        opts, ReadFixture("server_ed25519.cert.pem").c_str(),
        ReadFixture("server_ed25519.key.pem").c_str());
  }
  if (s == TL_OK) {
    s = tl_server_options_add_client(
        opts, "web1", ReadFixture("client_ed25519.cert.pem").c_str(),
        "127.0.0.1", 0);
  }
  if (s != TL_OK) {
    tl_server_options_free(opts);
    return s;
  }
  *out = opts;
  return TL_OK;
}

// LoopbackClientSettings makes in `*out` the settings of that client "web1":
// server "hsm1" at 127.0.0.1:`port`, pinned to the fixture server certificate,
// and the Ed25519 fixture client identity. Returns TL_OK, or the status of the
// first call that failed (then `*out` is not written). The caller frees the
// settings.
inline tl_status LoopbackClientSettings(uint16_t port,
                                        tl_client_settings** out) {
  tl_client_settings* settings = nullptr;
  tl_status s = tl_client_settings_new(&settings);
  if (s == TL_OK) {
    s = tl_client_settings_add_server(
        settings, "hsm1", "127.0.0.1", port, 0,
        ReadFixture("server_ed25519.cert.pem").c_str());
  }
  if (s == TL_OK) {
    s = tl_client_settings_set_identity_pem(
        settings, ReadFixture("client_ed25519.cert.pem").c_str(),
        ReadFixture("client_ed25519.key.pem").c_str());
  }
  if (s != TL_OK) {
    tl_client_settings_free(settings);
    return s;
  }
  *out = settings;
  return TL_OK;
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
