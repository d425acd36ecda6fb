#ifndef TRUSTLINK_EXAMPLES_NTLSH_NTLS_COMMANDS_H_
#define TRUSTLINK_EXAMPLES_NTLSH_NTLS_COMMANDS_H_

// ntlsh's NTLS commands (docs/appliance.md): `ntls show`, `ntls ipcheck`,
// `ntls tcp_keepalive` (also spelt `ntls TCPKeepAlive`), `ntls bind`, `ntls
// timeout set`, `ntls limits` and `ntls information show`. The settings live in
// the registry. ntlsd applies ipcheck, keep-alive, the receive timeout and the
// link limits at once; the bind address and port at `service restart ntls`
// (service_commands.h).

#include <vector>

#include "examples/ntlsh/command.h"

namespace ntlsh {

// NtlsCommands returns the `ntls ...` command table entries, in the order
// that `help` lists them.
std::vector<Command> NtlsCommands(const ShellAccess& shell);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_NTLS_COMMANDS_H_
