#ifndef TRUSTLINK_EXAMPLES_NTLSH_SERVICE_COMMANDS_H_
#define TRUSTLINK_EXAMPLES_NTLSH_SERVICE_COMMANDS_H_

// ntlsh's `service` commands (docs/appliance.md, "The NTLS service"):
// `service list` and `service status|start|stop|restart ntls`, acting on the
// ntlsd that serves this shell's root. They tell a running daemon by its
// instance lock (<root>/ntlsd.lock) and talk to it on its control socket
// (<root>/ntlsd.sock, or -socket PATH). Nothing succeeds that did not happen:
// status, stop and restart of a stopped daemon fail (exit 1).

#include <string>
#include <vector>

#include "examples/ntlsh/command.h"
#include "examples/ntlsh/ntlsd_status.h"
#include "examples/ntlsh/output.h"

namespace ntlsh {

// DefaultNtlsdSocket is <root>/ntlsd.sock, where ntlsd listens by default.
std::string DefaultNtlsdSocket(const std::string& root);

// AddDaemonFields adds what ntlsd reports about itself (pid, listen address,
// start and restart times, links) to `out`.
void AddDaemonFields(const NtlsdStatus& st, Output* out);

// ServiceCommands returns the `service ...` entries, in `help` order.
std::vector<Command> ServiceCommands(const ShellAccess& shell);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_SERVICE_COMMANDS_H_
