#ifndef TRUSTLINK_NTL_REGISTRY_TEST_UTIL_H_
#define TRUSTLINK_NTL_REGISTRY_TEST_UTIL_H_

// Helpers for registry tests: fresh roots under $TEST_TMPDIR and client
// certificates made with the shared identity primitives.

#include <string>

namespace trustlink::ntl::registry::testing {

// FreshRoot returns a path under $TEST_TMPDIR that does not exist yet.
std::string FreshRoot(const std::string& tag);

// ClientCertPem makes an Ed25519 client certificate for `name` (a hostname or
// IP).
std::string ClientCertPem(const std::string& name);

// ReadText / WriteText read and write a whole file (for damaging registries on
// purpose).
std::string ReadText(const std::string& path);
void WriteText(const std::string& path, const std::string& text);

}  // namespace trustlink::ntl::registry::testing

#endif  // TRUSTLINK_NTL_REGISTRY_TEST_UTIL_H_
