#ifndef TRUSTLINK_EXAMPLES_NTLSH_HTL_COMMANDS_H_
#define TRUSTLINK_EXAMPLES_NTLSH_HTL_COMMANDS_H_

// ntlsh's Host Trust Link commands (docs/appliance.md, docs/htl.md
// "Integration"): `htl generateott`, `htl show`, `htl set ...`, `htl clear`,
// and the HTL steps of `client register`, `client modify` and `client delete`.
//
// The HTL state under <root>/htl/ (trustlink/htl.h) is the truth for tokens,
// statuses and the HTL settings; the registry keeps a mirror of the settings
// and of each client's OTT expiry so that `ntls show`-style readers and
// `client show` agree with it.

#include <string>
#include <vector>

#include "examples/ntlsh/command.h"
#include "examples/ntlsh/output.h"
#include "trustlink/trustlink.h"

namespace ntlsh {

// kTokenDirectory is where token files are written, under the appliance root:
// <root>/outgoing/<client host or IP>.ott, the twin of incoming/ where the
// client's certificate arrives.
constexpr const char* kTokenDirectory = "outgoing";

// HtlCommands returns the `htl ...` command table entries.
std::vector<Command> HtlCommands(const ShellAccess& shell);

// CheckHtlRegisterFlags refuses `client register` flags that make no sense
// together, before anything is registered.
void CheckHtlRegisterFlags(const Args& args);

// HtlAfterRegister runs the HTL steps of `client register` once the client is
// in the registry: the client's OTT expiry, then (with -generateott) its token.
// If a step fails, the Failure says that the client IS registered and names the
// command to run next.
void HtlAfterRegister(const ShellAccess& shell, const tl_client_info* info,
                      const Args& args, Output* out);

// HtlSyncOttExpiry copies `client modify -ottexpiry S` (0: the default) to the
// HTL state.
void HtlSyncOttExpiry(const ShellAccess& shell, const std::string& label,
                      long long ott_expiry);

// HtlAfterDelete clears a deleted client's HTL state (chain and token), so a
// later client with the same label starts from nothing.
void HtlAfterDelete(const ShellAccess& shell, const std::string& label,
                    Output* out);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_HTL_COMMANDS_H_
