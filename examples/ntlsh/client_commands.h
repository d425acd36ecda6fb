#ifndef TRUSTLINK_EXAMPLES_NTLSH_CLIENT_COMMANDS_H_
#define TRUSTLINK_EXAMPLES_NTLSH_CLIENT_COMMANDS_H_

// ntlsh's client commands (docs/appliance.md): `client register`, `list`,
// `show`, `delete`, `replaceCertificate`, `modify`, `hostip map|unmap`,
// `assignPartition` and `revokePartition`. They change the registry's client
// records; the HTL steps of register, modify and delete live in
// htl_commands.h, next to the rest of the HTL state.

#include <vector>

#include "examples/ntlsh/command.h"

namespace ntlsh {

// ClientCommands returns the `client ...` command table entries, in the order
// that `help` lists them.
std::vector<Command> ClientCommands(const ShellAccess& shell);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_CLIENT_COMMANDS_H_
