// ntlsh's client command group, on trustlink/registry.h. See
// client_commands.h.
#include "examples/ntlsh/client_commands.h"

#include <memory>
#include <string>

#include "examples/ntlsh/client_view.h"
#include "examples/ntlsh/format.h"
#include "examples/ntlsh/htl_commands.h"
#include "examples/ntlsh/output.h"
#include "trustlink/trustlink.h"

namespace ntlsh {
namespace {

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
    path = shell.root + "/incoming/" + name + ".pem";
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
    std::string why = std::string("cannot read the client certificate: ") +
                      message;
    if (st == TL_E_NOT_FOUND && !args.Has("certificate")) {
      why += "; copy the client's certificate there (scp) or give "
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
       {},
       false,
       [shell](const Args&, Output* out) {
         tl_registry* reg = shell.registry(false);
         tl_client_list* list = nullptr;
         tl_status st = tl_registry_list_clients(reg, &list);
         std::unique_ptr<tl_client_list, void (*)(tl_client_list*)> lp(
             list, tl_client_list_free);
         shell.check(st, reg);
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
         out->Table("clients",
                    {"Client", "Hostname/IP", "Type", "Mapped IPs", "HTL",
                     "Partitions"},
                    {"label", "name", "name_type", "host_ips", "requirehtl",
                     "partitions"},
                    rows);
       },
       "client list"},
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
