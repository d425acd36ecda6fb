// Helpers shared by the C ABI tests.
#ifndef TRUSTLINK_CAPI_TESTS_FIXTURE_H_
#define TRUSTLINK_CAPI_TESTS_FIXTURE_H_

#include <fstream>
#include <sstream>
#include <string>

namespace trustlink::capi::testing {

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
