#ifndef TRUSTLINK_EXAMPLES_NTLSH_SYSCONF_COMMANDS_H_
#define TRUSTLINK_EXAMPLES_NTLSH_SYSCONF_COMMANDS_H_

// ntlsh's sysconf commands (docs/appliance.md): the appliance's own server
// certificate. `sysconf regenCert`, `showCert`, `exportCert` and
// `dropOldCert` are the steps of a certificate rollover, in that order: the
// previous certificate stays accepted until clients have the new one.

#include <vector>

#include "examples/ntlsh/command.h"

namespace ntlsh {

// SysconfCommands returns the `sysconf ...` command table entries, in the
// order that `help` lists them.
std::vector<Command> SysconfCommands(const ShellAccess& shell);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_SYSCONF_COMMANDS_H_
