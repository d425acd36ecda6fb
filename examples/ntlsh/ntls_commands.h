#ifndef TRUSTLINK_EXAMPLES_NTLSH_NTLS_COMMANDS_H_
#define TRUSTLINK_EXAMPLES_NTLSH_NTLS_COMMANDS_H_

// ntlsh's NTLS service commands (docs/appliance.md): `ntls show`, `ntls
// ipcheck`, `ntls tcp_keepalive`, `ntls bind`, `ntls timeout set`, `ntls
// limits`, and
// `service restart ntls`. The settings live in the registry; ntlsd applies a
// change at once, which is why `service restart ntls` has nothing to do.

#include <vector>

#include "examples/ntlsh/command.h"

namespace ntlsh {

// NtlsCommands returns the `ntls ...` command table entries, in the order
// that `help` lists them.
std::vector<Command> NtlsCommands(const ShellAccess& shell);

// ServiceCommands returns `service restart ntls`. It is apart from
// NtlsCommands because `help` lists it after the sysconf group.
std::vector<Command> ServiceCommands();

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_NTLS_COMMANDS_H_
