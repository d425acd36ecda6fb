// ntlsh's sysconf command group, on trustlink/registry.h's server identity.
// See sysconf_commands.h.
#include "examples/ntlsh/sysconf_commands.h"

#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include "examples/ntlsh/format.h"
#include "examples/ntlsh/output.h"
#include "trustlink/trustlink.h"

namespace ntlsh {
namespace {

// ShowIdentity adds the table of the server's certificates (current first) to
// `out`, or fails with the registry's message. It takes ownership of `id`.
void ShowIdentity(const ShellAccess& shell, tl_status st, tl_registry* reg,
                  tl_server_identity* id, Output* out) {
  std::unique_ptr<tl_server_identity, void (*)(tl_server_identity*)> p(
      id, tl_server_identity_free);
  shell.check(st, reg);
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < tl_server_identity_num_certificates(id); ++i) {
    rows.push_back({i == 0 ? "current" : "previous",
                    tl_server_identity_subject(id, i),
                    tl_server_identity_key_type(id, i),
                    Time(tl_server_identity_not_after_unix(id, i)),
                    tl_server_identity_fingerprint(id, i)});
  }
  out->Table("certificates",
             {"Use", "Subject", "Key", "Expires", "SHA-256 Fingerprint"},
             {"use", "subject", "key_type", "expires", "fingerprint"}, rows);
}

using IdentityPtr =
    std::unique_ptr<tl_server_identity, void (*)(tl_server_identity*)>;

// LoadIdentity returns the server identity, or fails with the registry's
// message.
IdentityPtr LoadIdentity(const ShellAccess& shell) {
  tl_registry* reg = shell.registry(false);
  tl_server_identity* id = nullptr;
  tl_status st = tl_registry_load_server_identity(reg, &id);
  IdentityPtr owned(id, tl_server_identity_free);
  shell.check(st, reg);
  return owned;
}

// ShowFingerprint prints LunaSH's `sysconf fingerprint` line for the current
// server certificate; the clients compare it with what vtl addServer printed.
// SHA-256, where older appliances showed SHA-1.
void ShowFingerprint(const ShellAccess& shell, Output* out) {
  out->Field("Certificate fingerprint", "fingerprint",
             tl_server_identity_fingerprint(LoadIdentity(shell).get(), 0));
}

}  // namespace

std::vector<Command> SysconfCommands(const ShellAccess& shell) {
  return {
      {{"sysconf", "regenCert"},
       {{"name", true}, {"keytype", true}},
       true,
       [shell](const Args& a, Output* out) {
         tl_registry* reg = shell.registry(true);
         std::string name = a.Get("name");
         if (name.empty()) {
           // First start without -name: the appliance's own host name.
           tl_server_identity* existing = nullptr;
           if (tl_registry_load_server_identity(reg, &existing) != TL_OK) {
             char host[256] = {0};
             if (gethostname(host, sizeof(host) - 1) != 0)
               UsageError("give -name");
             name = host;
           }
           tl_server_identity_free(existing);
         }
         tl_server_identity* id = nullptr;
         std::string key_type = a.Get("keytype");
         tl_status st = tl_registry_regenerate_server_certificate(
             reg, name.c_str(), key_type.empty() ? nullptr : key_type.c_str(),
             &id);
         ShowIdentity(shell, st, reg, id, out);
         out->Line(
             "New server certificate made. Copy server.pem to every client "
             "(sysconf "
             "exportCert) and register it there (vtl addServer); then run "
             "sysconf "
             "dropOldCert.");
       },
       "sysconf regenCert [-name HOST|IP] [-keytype "
       "ed25519|p256|p384|rsa2048|...]"},
      {{"sysconf", "showCert"},
       {},
       false,
       [shell](const Args&, Output* out) {
         tl_registry* reg = shell.registry(false);
         tl_server_identity* id = nullptr;
         tl_status st = tl_registry_load_server_identity(reg, &id);
         ShowIdentity(shell, st, reg, id, out);
       },
       "sysconf showCert"},
      {{"sysconf", "exportCert"},
       {{"file", true}},
       false,
       [shell](const Args& a, Output* out) {
         IdentityPtr owned = LoadIdentity(shell);
         const tl_server_identity* id = owned.get();
         std::string file = RequireFlag(a, "file");
         std::string pem = tl_server_identity_certificate_pem(id, 0);
         if (file == "-") {
           out->Line(pem.substr(0, pem.size() - (pem.empty() ? 0 : 1)));
         } else {
           std::ofstream f(file, std::ios::binary | std::ios::trunc);
           f << pem;
           f.close();
           if (!f) CommandFailed(TL_E_IO, "cannot write " + file);
           out->Line("server.pem written to " + file);
         }
         out->Field("SHA-256 Fingerprint", "fingerprint",
                    tl_server_identity_fingerprint(id, 0));
       },
       "sysconf exportCert -file FILE|-"},
      {{"sysconf", "fingerprint"},
       {},
       false,
       [shell](const Args&, Output* out) { ShowFingerprint(shell, out); },
       "sysconf fingerprint [ntls]"},
      {{"sysconf", "fingerprint", "ntls"},
       {},
       false,
       [shell](const Args&, Output* out) { ShowFingerprint(shell, out); },
       "sysconf fingerprint ntls"},
      {{"sysconf", "dropOldCert"},
       {},
       true,
       [shell](const Args&, Output* out) {
         tl_registry* reg = shell.registry(false);
         int32_t dropped = 0;
         shell.check(tl_registry_drop_old_server_certificates(reg, &dropped),
                     reg);
         out->FieldNum("Old certificates dropped", "dropped", dropped);
       },
       "sysconf dropOldCert"},
  };
}

}  // namespace ntlsh
