#ifndef TRUSTLINK_EXAMPLES_NTLSH_CLIENT_VIEW_H_
#define TRUSTLINK_EXAMPLES_NTLSH_CLIENT_VIEW_H_

// How a registered client reads in ntlsh: the `client show` block, the
// registry's warnings about it, and the pieces `client list` puts in its
// columns. Kept apart from the commands so that the record has one spelling.

#include <memory>
#include <string>
#include <vector>

#include "examples/ntlsh/command.h"
#include "examples/ntlsh/output.h"
#include "trustlink/trustlink.h"

namespace ntlsh {

struct ClientInfoDeleter {
  void operator()(tl_client_info* i) const { tl_client_info_free(i); }
};
// ClientInfoPtr owns a tl_client_info that the registry handed out.
using ClientInfoPtr = std::unique_ptr<tl_client_info, ClientInfoDeleter>;

struct ClientListDeleter {
  void operator()(tl_client_list* l) const { tl_client_list_free(l); }
};
// ClientListPtr owns the registry's list of clients.
using ClientListPtr = std::unique_ptr<tl_client_list, ClientListDeleter>;

// RegisteredClients returns every registered client, or fails (throws
// Failure) with the registry's message.
ClientListPtr RegisteredClients(const ShellAccess& shell);

// RegisteredClient returns the registry's record of `label`, or fails (throws
// Failure) with TL_E_NOT_FOUND saying to see client list or register it.
ClientInfoPtr RegisteredClient(const ShellAccess& shell,
                               const std::string& label);

// KindName returns how a client's name kind reads: "IPv4", "IPv6" or
// "hostname".
const char* KindName(int32_t kind);

// HostIps returns the IP addresses mapped to the client (client hostip map).
std::vector<std::string> HostIps(const tl_client_info* info);

// Partitions returns the partitions the client may use.
std::vector<std::string> Partitions(const tl_client_info* info);

// ClientWarnings adds the registry's warnings about the client to `out`.
void ClientWarnings(const tl_client_info* info, Output* out);

// ShowClient adds the `client show` fields of the client to `out`.
void ShowClient(const tl_client_info* info, Output* out);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_CLIENT_VIEW_H_
