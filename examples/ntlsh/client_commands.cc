// ntlsh's client command group, on trustlink/registry.h. See
// client_commands.h.
#include "examples/ntlsh/client_commands.h"

#include <dirent.h>
#include <limits.h>
#include <strings.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "examples/ntlsh/client_view.h"
#include "examples/ntlsh/format.h"
#include "examples/ntlsh/htl_commands.h"
#include "examples/ntlsh/output.h"
#include "trustlink/trustlink.h"

namespace ntlsh {
namespace {

// IncomingCertificate returns the path of <name>.pem in `dir`. Host names
// ignore letter case, so `vtl createCert -n myClient1` (myClient1.pem) is found
// for `-hostname myclient1` too; an exact match wins, and two files that
// differ only by case are refused rather than one picked silently.
std::string IncomingCertificate(const std::string& dir,
                                const std::string& name) {
  const std::string wanted = name + ".pem";
  std::string exact = dir + "/" + wanted;
  if (access(exact.c_str(), F_OK) == 0) return exact;
  std::vector<std::string> found;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d)) {
      if (strcasecmp(e->d_name, wanted.c_str()) == 0)
        found.push_back(e->d_name);
    }
    closedir(d);
  }
  if (found.size() > 1) {
    CommandFailed(TL_E_ALREADY_EXISTS,
                  dir + " holds " + Join(found, " and ") +
                      ", which differ only by letter case; remove the stale "
                      "one or give -certificate FILE");
  }
  return found.empty() ? exact : dir + "/" + found[0];
}

// ReadCertificate returns the PEM of the client certificate for `name`: the
// -certificate file, or else the one an admin copied to incoming/.
std::string ReadCertificate(const ShellAccess& shell, const Args& args,
                            const std::string& name) {
  std::string path;
  if (args.Has("certificate")) {
    path = args.Get("certificate");
  } else {
    // What an admin's `scp client.pem admin@appliance:` leaves:
    // incoming/<name>.pem.
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
      UsageError("cannot derive a file name from '" + name +
                 "'; use -certificate FILE");
    }
    if (name.size() + 4 > NAME_MAX) {
      CommandFailed(TL_E_NAME_INVALID,
                    "host name has " + std::to_string(name.size()) +
                        " characters, too many for a file incoming/<name>.pem "
                        "(at most " +
                        std::to_string(NAME_MAX - 4) +
                        "); give the certificate with -certificate FILE");
    }
    path = IncomingCertificate(shell.root + "/incoming", name);
  }
  // incoming/ is under the root, where trustlink never follows a symlink; a
  // path the admin typed is theirs to choose.
  int32_t flags = args.Has("certificate") ? 0 : TL_FILE_NOFOLLOW;
  std::string pem(tl_max_pem_file_len(), '\0');
  size_t len = 0;
  char message[TL_ERROR_MESSAGE_MAX];
  tl_status st = tl_file_read(path.c_str(), flags, pem.data(), pem.size(), &len,
                              message, sizeof(message));
  if (st != TL_OK) {
    std::string why =
        std::string("cannot read the client certificate: ") + message;
    if (st == TL_E_NOT_FOUND && !args.Has("certificate")) {
      why +=
          "; copy the client's certificate there (scp) or give "
          "-certificate FILE";
    }
    CommandFailed(st == TL_E_OUT_OF_RANGE ? TL_E_CERT_INVALID : st, why);
  }
  pem.resize(len);
  return pem;
}

// ReportChange finishes a command that changed one client: the registry's
// warnings, `done` when something did change, and the JSON result.
void ReportChange(const ShellAccess& shell, tl_status st, tl_registry* reg,
                  tl_client_info* raw, Output* out, const std::string& done) {
  ClientInfoPtr info(raw);
  shell.check(st, reg);
  ClientWarnings(info.get(), out);
  if (tl_client_info_changed(info.get())) out->Line(done);
  out->Data("client", Json::Str(tl_client_info_label(info.get())));
  out->Data("changed", Json::Bool(tl_client_info_changed(info.get()) != 0));
}

// ChangePartitionAccess runs assignPartition or revokePartition (`change`) and
// says "<done><client><verb><partition>.".
void ChangePartitionAccess(const ShellAccess& shell, const Args& a, Output* out,
                           tl_status (*change)(tl_registry*, const char*,
                                               const char*, tl_client_info**),
                           const std::string& done, const std::string& verb) {
  const std::string label = RequireFlag(a, "client");
  const std::string p = RequireFlag(a, "partition");
  tl_registry* reg = shell.registry(false);
  tl_client_info* info = nullptr;
  tl_status st = change(reg, label.c_str(), p.c_str(), &info);
  ReportChange(shell, st, reg, info, out, done + label + verb + p + ".");
}

// ChangeHostIp runs `client hostip map` or `unmap` (`change`, named `verb`).
void ChangeHostIp(const ShellAccess& shell, const Args& a, Output* out,
                  tl_status (*change)(tl_registry*, const char*, const char*,
                                      tl_client_info**),
                  const std::string& verb) {
  const std::string label = RequireFlag(a, "client");
  tl_registry* reg = shell.registry(false);
  tl_client_info* info = nullptr;
  tl_status st =
      change(reg, label.c_str(), RequireFlag(a, "ip").c_str(), &info);
  ReportChange(shell, st, reg, info, out,
               "'client hostip " + verb + "' successful for " + label + ".");
}

}  // namespace

std::vector<Command> ClientCommands(const ShellAccess& shell) {
  return {
      {{"client", "register"},
       {{"client", true},
        {"hostname", true},
        {"ip", true},
        {"certificate", true},
        {"requirehtl", false},
        {"ottexpiry", true},
        {"generateott", false},
        {"force", false}},
       true,
       [shell](const Args& a, Output* out) {
         std::string label = RequireFlag(a, "client");
         if (a.Has("hostname") == a.Has("ip"))
           UsageError("give exactly one of -hostname, -ip");
         CheckHtlRegisterFlags(a);
         std::string name =
             a.Has("ip") ? RequireFlag(a, "ip") : RequireFlag(a, "hostname");
         std::string pem = ReadCertificate(shell, a, name);
         tl_client_registration* r = nullptr;
         if (tl_client_registration_new(&r) != TL_OK)
           CommandFailed(TL_E_NO_MEMORY, "out of memory");
         std::unique_ptr<tl_client_registration,
                         void (*)(tl_client_registration*)>
             rp(r, tl_client_registration_free);
         tl_client_registration_set_label(r, label.c_str());
         if (a.Has("ip")) {
           tl_client_registration_set_ip(r, name.c_str());
         } else {
           tl_client_registration_set_hostname(r, name.c_str());
         }
         tl_client_registration_set_certificate_pem(r, pem.c_str());
         tl_client_registration_set_require_htl(r, a.Has("requirehtl") ? 1 : 0);
         if (a.Has("ottexpiry")) {
           tl_client_registration_set_ott_expiry(
               r, ParseNumber("ottexpiry", a.Get("ottexpiry")));
         }
         tl_client_registration_set_force(r, a.Has("force") ? 1 : 0);
         tl_registry* reg = shell.registry(true);
         tl_client_info* info = nullptr;
         tl_status st = tl_registry_register_client(reg, r, &info);
         ClientInfoPtr ip(info);
         shell.check(st, reg);
         ClientWarnings(info, out);
         out->Line("'client register' successful for client " + label + ".");
         out->Data("client", Json::Str(label));
         out->Data("fingerprint", Json::Str(tl_client_info_fingerprint(info)));
         HtlAfterRegister(shell, info, a, out);
       },
       "client register -client LABEL -hostname HOST|-ip ADDR [-certificate "
       "FILE] "
       "[-requirehtl [-ottexpiry SECONDS] [-generateott]] [-force]"},
      {{"client", "list"},
       {{"table", false}},
       false,
       [shell](const Args& a, Output* out) {
         ClientListPtr owned = RegisteredClients(shell);
         const tl_client_list* list = owned.get();
         const std::vector<std::string> headers = {"Client", "Hostname/IP",
                                                   "Type",   "Mapped IPs",
                                                   "HTL",    "Partitions"};
         const std::vector<std::string> keys = {"label",      "name",
                                                "name_type",  "host_ips",
                                                "requirehtl", "partitions"};
         std::vector<std::vector<std::string>> rows;
         for (size_t i = 0; i < tl_client_list_count(list); ++i) {
           const tl_client_info* c = tl_client_list_get(list, i);
           std::vector<std::string> ips = HostIps(c);
           std::string name = tl_client_info_name(c);
           rows.push_back({tl_client_info_label(c), name,
                           KindName(tl_client_info_name_kind(c)),
                           Join(ips, ","),
                           tl_client_info_require_htl(c) ? "yes" : "no",
                           Join(Partitions(c), ",")});
         }
         if (a.Has("table")) {
           out->Table("clients", headers, keys, rows);
           return;
         }
         // LunaSH's layout, which admins' scripts parse: one
         // "registered client N: <name>" line per client, N from 1. The JSON
         // form is the table's either way.
         Json clients = Json::Arr();
         for (size_t i = 0; i < rows.size(); ++i) {
           out->Line("registered client " + std::to_string(i + 1) + ": " +
                     rows[i][0]);
           Json row = Json::Obj();
           for (size_t k = 0; k < keys.size(); ++k) {
             row.Set(keys[k], Json::Str(rows[i][k]));
           }
           clients.Add(std::move(row));
         }
         if (rows.empty()) out->Line("No clients are registered.");
         out->Data("clients", std::move(clients));
       },
       "client list [-table]"},
      {{"client", "fingerprint"},
       {{"client", true}},
       false,
       [shell](const Args& a, Output* out) {
         ClientInfoPtr info = RegisteredClient(shell, RequireFlag(a, "client"));
         out->Field("Certificate fingerprint", "fingerprint",
                    tl_client_info_fingerprint(info.get()));
         out->Data("client", Json::Str(tl_client_info_label(info.get())));
       },
       "client fingerprint -client LABEL"},
      {{"client", "hostip", "show"},
       {{"client", true}},
       false,
       [shell](const Args& a, Output* out) {
         std::vector<std::vector<std::string>> rows;
         auto add = [&rows](const tl_client_info* c) {
           if (tl_client_info_name_kind(c) != TL_NAME_HOSTNAME) return;
           std::vector<std::string> ips = HostIps(c);
           rows.push_back({tl_client_info_label(c), tl_client_info_name(c),
                           ips.empty() ? "(resolved by DNS)" : Join(ips, ",")});
         };
         if (a.Has("client")) {
           add(RegisteredClient(shell, RequireFlag(a, "client")).get());
         } else {
           ClientListPtr owned = RegisteredClients(shell);
           const tl_client_list* list = owned.get();
           for (size_t i = 0; i < tl_client_list_count(list); ++i) {
             add(tl_client_list_get(list, i));
           }
         }
         out->Table("hostips", {"Client", "Hostname", "IP Addresses"},
                    {"label", "hostname", "ips"}, rows);
       },
       "client hostip show [-client LABEL]"},
      {{"client", "show"},
       {{"client", true}},
       false,
       [shell](const Args& a, Output* out) {
         ShowClient(RegisteredClient(shell, RequireFlag(a, "client")).get(),
                    out);
       },
       "client show -client LABEL"},
      {{"client", "delete"},
       {{"client", true}, {"force", false}},
       true,
       [shell](const Args& a, Output* out) {
         std::string label = RequireFlag(a, "client");
         tl_registry* reg = shell.registry(false);
         shell.check(tl_registry_delete_client(reg, label.c_str()), reg);
         HtlAfterDelete(shell, label, out);
         out->Line("'client delete' successful for client " + label +
                   ". Remove this appliance from the client too (vtl "
                   "deleteServer), or the "
                   "client will keep trying to connect.");
       },
       "client delete -client LABEL"},
      {{"client", "replaceCertificate"},
       {{"client", true}, {"certificate", true}, {"force", false}},
       true,
       [shell](const Args& a, Output* out) {
         std::string label = RequireFlag(a, "client");
         ClientInfoPtr current = RegisteredClient(shell, label);
         tl_registry* reg = shell.registry(false);
         std::string pem =
             ReadCertificate(shell, a, tl_client_info_name(current.get()));
         tl_client_info* info = nullptr;
         tl_status st = tl_registry_replace_certificate(
             reg, label.c_str(), pem.c_str(), a.Has("force") ? 1 : 0, &info);
         ReportChange(shell, st, reg, info, out,
                      "Certificate of client " + label +
                          " replaced; the new one is accepted "
                          "now, the old one no longer.");
       },
       "client replaceCertificate -client LABEL [-certificate FILE] [-force]"},
      {{"client", "modify"},
       {{"client", true}, {"requirehtl", true}, {"ottexpiry", true}},
       true,
       [shell](const Args& a, Output* out) {
         std::string label = RequireFlag(a, "client");
         ClientInfoPtr current = RegisteredClient(shell, label);
         tl_registry* reg = shell.registry(false);
         int32_t htl = tl_client_info_require_htl(current.get());
         if (a.Has("requirehtl")) {
           std::string v = a.Get("requirehtl");
           if (v == "yes" || v == "on" || v == "enable") {
             htl = 1;
           } else if (v == "no" || v == "off" || v == "disable") {
             htl = 0;
           } else {
             UsageError("-requirehtl takes yes or no");
           }
         }
         int64_t ott = a.Has("ottexpiry")
                           ? ParseNumber("ottexpiry", a.Get("ottexpiry"))
                           : tl_client_info_ott_expiry(current.get());
         tl_client_info* info = nullptr;
         tl_status st =
             tl_registry_set_require_htl(reg, label.c_str(), htl, ott, &info);
         ReportChange(shell, st, reg, info, out,
                      "Client " + label + " modified.");
         if (a.Has("ottexpiry")) HtlSyncOttExpiry(shell, label, ott);
       },
       "client modify -client LABEL [-requirehtl yes|no] [-ottexpiry SECONDS]"},
      {{"client", "hostip", "map"},
       {{"client", true}, {"ip", true}},
       true,
       [shell](const Args& a, Output* out) {
         ChangeHostIp(shell, a, out, tl_registry_map_host_ip, "map");
       },
       "client hostip map -client LABEL -ip ADDR"},
      {{"client", "hostip", "unmap"},
       {{"client", true}, {"ip", true}},
       true,
       [shell](const Args& a, Output* out) {
         ChangeHostIp(shell, a, out, tl_registry_unmap_host_ip, "unmap");
       },
       "client hostip unmap -client LABEL -ip ADDR"},
      {{"client", "assignPartition"},
       {{"client", true}, {"partition", true}},
       true,
       [shell](const Args& a, Output* out) {
         ChangePartitionAccess(
             shell, a, out, tl_registry_assign_partition,
             "'client assignPartition' successful: ", " can use ");
       },
       "client assignPartition -client LABEL -partition NAME"},
      {{"client", "revokePartition"},
       {{"client", true}, {"partition", true}},
       true,
       [shell](const Args& a, Output* out) {
         ChangePartitionAccess(
             shell, a, out, tl_registry_revoke_partition,
             "'client revokePartition' successful: ", " no longer uses ");
       },
       "client revokePartition -client LABEL -partition NAME"},
  };
}

}  // namespace ntlsh
