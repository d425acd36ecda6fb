// The PKCS#11 token behind a partition, for `partition create` and
// `partition delete` (docs/pkcs11.md): PIN files and the C ABI's token store.
#ifndef TRUSTLINK_EXAMPLES_NTLSH_PARTITION_TOKEN_H_
#define TRUSTLINK_EXAMPLES_NTLSH_PARTITION_TOKEN_H_

#include <string>

#include "trustlink/trustlink.h"

namespace ntlsh {

// TokenResult is the outcome of a token operation: TL_OK or the failure and a
// message that says what to do.
struct TokenResult {
  tl_status status = TL_OK;
  std::string message;
  std::string warning;  // set on success when something deserves attention
};

// ReadPinFile reads a PIN from the first line of `path` (the rest is ignored;
// a trailing '\r' is dropped). PINs come from files, not the command line,
// because every local user can read a process's argv (ps). `what` names the
// PIN in messages ("SO PIN"). A file that others can read gets a warning.
TokenResult ReadPinFile(const std::string& path, const std::string& what,
                        std::string* pin);

// CreatePartitionToken makes the partition's SoftHSM2 token under
// <root>/pkcs11/ with the SO and user PINs.
TokenResult CreatePartitionToken(const std::string& root,
                                 const std::string& partition,
                                 const std::string& so_pin,
                                 const std::string& user_pin);

// JoinCloningDomain stores the HA cloning-domain key of `key_file` on the
// partition's token, logged in with the SO PIN; a missing key_file is made
// with a new key (*created), to be copied to the group's other appliances.
TokenResult JoinCloningDomain(const std::string& root,
                              const std::string& partition,
                              const std::string& so_pin,
                              const std::string& key_file, bool* created);

// RemovePartitionToken deletes the partition's token if it has one; *removed
// says whether it had. ntlsd ends the partition's streams when the registry
// drops it, and their p11-kit processes may take a moment to exit, so a
// failed removal is retried for a few seconds.
TokenResult RemovePartitionToken(const std::string& root,
                                 const std::string& partition, bool* removed);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_PARTITION_TOKEN_H_
