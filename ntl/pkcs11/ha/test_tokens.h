#ifndef TRUSTLINK_NTL_PKCS11_HA_TEST_TOKENS_H_
#define TRUSTLINK_NTL_PKCS11_HA_TEST_TOKENS_H_

// Test helper: SoftHSM2 tokens under $TEST_TMPDIR that share a cloning-domain
// key, as the members of an HA group do.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ntl/pkcs11/token_store.h"

namespace trustlink::ntl::pkcs11::ha {

// TestRoot is $TEST_TMPDIR/<the running test's name>.
std::string TestRoot();

// ClonedTokens opens a token store at `root` and makes a token per label with
// the PINs given, each holding the same cloning-domain key (as `ntlsh
// partition create -cloningdomain` does on every member).
absl::StatusOr<TokenStore> ClonedTokens(const std::string& root,
                                        const std::vector<std::string>& labels,
                                        const std::string& so_pin,
                                        const std::string& user_pin);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_TEST_TOKENS_H_
