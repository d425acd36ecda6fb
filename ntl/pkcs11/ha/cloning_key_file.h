#ifndef TRUSTLINK_NTL_PKCS11_HA_CLONING_KEY_FILE_H_
#define TRUSTLINK_NTL_PKCS11_HA_CLONING_KEY_FILE_H_

// The cloning domain's key material as the appliance admin handles it: a file
// of 64 hex digits (an AES-256 key), 0600, made once by the first
// `ntlsh partition create -cloningdomain FILE` and copied (scp) to the other
// appliances of the group, whose partition create imports it. Every member
// must hold the same key, or keys wrapped on one cannot be unwrapped on
// another.

#include <string>

#include "absl/status/statusor.h"
#include "ntl/pkcs11/token_store.h"

namespace trustlink::ntl::pkcs11::ha {

// ReadOrCreateCloningKeyFile returns the key in `path`, making the file with a
// new random key (0600, never replacing a file) if there is none; *created
// says which. A file that group or others can read is refused.
absl::StatusOr<std::string> ReadOrCreateCloningKeyFile(const std::string& path,
                                                       bool* created);

// InstallCloningKey stores `key` (32 bytes) on partition's token as the
// trusted cloning-domain key (cloning_domain.h), logged in as the partition
// SO. It loads the store's SoftHSM2 module in this process with SOFTHSM2_CONF
// set for the call: for single-threaded admin tools (ntlsh) only.
// TL_E_ALREADY_EXISTS if the token has one already.
absl::Status InstallCloningKey(const TokenStore& store,
                               const std::string& partition,
                               const std::string& so_pin,
                               const std::string& key);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_CLONING_KEY_FILE_H_
