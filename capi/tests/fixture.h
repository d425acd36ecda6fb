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

}  // namespace trustlink::capi::testing

#endif  // TRUSTLINK_CAPI_TESTS_FIXTURE_H_
