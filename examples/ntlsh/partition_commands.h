#ifndef TRUSTLINK_EXAMPLES_NTLSH_PARTITION_COMMANDS_H_
#define TRUSTLINK_EXAMPLES_NTLSH_PARTITION_COMMANDS_H_

// ntlsh's partition commands (docs/appliance.md, docs/pkcs11.md):
// `partition create`, `delete`, `list` and `show`. The registry holds the
// partitions; a partition made with PIN files also gets a PKCS#11 token
// (partition_token.h), and deleting it removes the token.

#include <vector>

#include "examples/ntlsh/command.h"

namespace ntlsh {

// PartitionCommands returns the `partition ...` command table entries, in the
// order that `help` lists them.
std::vector<Command> PartitionCommands(const ShellAccess& shell);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_PARTITION_COMMANDS_H_
