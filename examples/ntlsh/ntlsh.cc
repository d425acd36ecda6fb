// ntlsh: the appliance shell, built on trustlink's C ABI only
// (trustlink/trustlink.h).
//
//   ntlsh [--root DIR] [--json] COMMAND...     one command, then exit
//   ntlsh [--root DIR] [--json]                commands from stdin, one per
//   line
//
// Commands and flags follow the reference product's appliance shell
// (docs/appliance.md). Exit status: 0 success, 1 the command failed, 2 usage
// error (unknown command or flag).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "examples/ntlsh/command.h"
#include "examples/ntlsh/htl_commands.h"
#include "examples/ntlsh/ntlsd_status.h"
#include "examples/ntlsh/output.h"
#include "examples/ntlsh/partition_token.h"
#include "trustlink/trustlink.h"

namespace ntlsh {
namespace {

class Shell {
 public:
  Shell(std::string root, bool json) : root_(std::move(root)), json_(json) {}
  ~Shell() { tl_registry_free(reg_); }

  // Run executes one command (its words) and prints its result; returns the
  // exit code.
  int Run(const std::vector<std::string>& words);

 private:
  std::vector<Command> Commands();
  tl_registry* Registry(bool create);
  [[noreturn]] void Fail(tl_status status, const std::string& message);
  void Check(tl_status status, tl_registry* reg);
  std::string Require(const Args& args, const char* flag);
  std::string ReadCertificate(const Args& args, const std::string& name);
  void ShowClient(const tl_client_info* info, Output* out);
  void ClientWarnings(const tl_client_info* info, Output* out);
  long long Number(const std::string& flag, const std::string& text);
  // Access is what the htl command group (htl_commands.h) uses of the shell.
  ShellAccess Access() {
    return {root_, [this](bool create) { return Registry(create); },
            [this](tl_status st, tl_registry* reg) { Check(st, reg); }};
  }

  std::string root_;
  bool json_;
  tl_registry* reg_ = nullptr;
};

[[noreturn]] void Shell::Fail(tl_status status, const std::string& message) {
  throw Failure{kExitFailed, status, message};
}

void Shell::Check(tl_status status, tl_registry* reg) {
  if (status == TL_OK) return;
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  std::string message = "unknown error";
  if (tl_registry_last_error(reg, buf, sizeof(buf), &len) == TL_OK)
    message.assign(buf, len);
  Fail(status, message);
}

tl_registry* Shell::Registry(bool create) {
  if (reg_ != nullptr) {
    tl_status st = tl_registry_refresh(reg_);
    Check(st, reg_);
    return reg_;
  }
  tl_registry* reg = nullptr;
  tl_status st = tl_registry_open(
      root_.c_str(),
      create ? TL_REGISTRY_OPEN_CREATE : TL_REGISTRY_OPEN_EXISTING, &reg);
  if (st != TL_OK) {
    char buf[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    std::string message = "cannot open the registry";
    if (reg != nullptr &&
        tl_registry_last_error(reg, buf, sizeof(buf), &len) == TL_OK) {
      message.assign(buf, len);
    }
    tl_registry_free(reg);
    Fail(st, message);
  }
  reg_ = reg;
  return reg_;
}

std::string Shell::Require(const Args& args, const char* flag) {
  if (!args.Has(flag) || args.Get(flag).empty()) {
    UsageError(std::string("missing -") + flag);
  }
  return args.Get(flag);
}

long long Shell::Number(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < -2147483647LL ||
      v > 2147483647LL) {
    UsageError("-" + flag + " takes a number, not '" + text + "'");
  }
  return v;
}

std::string Shell::ReadCertificate(const Args& args, const std::string& name) {
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
    path = root_ + "/incoming/" + name + ".pem";
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Fail(TL_E_NOT_FOUND,
         "cannot read the client certificate " + path +
             (args.Has("certificate")
                  ? ""
                  : "; copy the client's certificate there (scp) or give "
                    "-certificate FILE"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  if (pem.size() > 1024 * 1024)
    Fail(TL_E_CERT_INVALID, path + " is too large for a certificate");
  return pem;
}

std::string Time(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "-";
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

const char* KindName(int32_t kind) {
  return kind == TL_NAME_IPV4   ? "IPv4"
         : kind == TL_NAME_IPV6 ? "IPv6"
                                : "hostname";
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::vector<std::string> HostIps(const tl_client_info* info) {
  std::vector<std::string> v;
  for (size_t i = 0; i < tl_client_info_num_host_ips(info); ++i) {
    v.push_back(tl_client_info_host_ip(info, i));
  }
  return v;
}

std::vector<std::string> Partitions(const tl_client_info* info) {
  std::vector<std::string> v;
  for (size_t i = 0; i < tl_client_info_num_partitions(info); ++i) {
    v.push_back(tl_client_info_partition(info, i));
  }
  return v;
}

void Shell::ClientWarnings(const tl_client_info* info, Output* out) {
  for (size_t i = 0; i < tl_client_info_num_warnings(info); ++i) {
    out->Warning(tl_client_info_warning(info, i));
  }
}

void Shell::ShowClient(const tl_client_info* info, Output* out) {
  bool by_ip = tl_client_info_name_kind(info) != TL_NAME_HOSTNAME;
  out->Field("ClientID", "label", tl_client_info_label(info));
  out->Field("Hostname", "hostname", by_ip ? "" : tl_client_info_name(info));
  std::vector<std::string> ips = HostIps(info);
  if (by_ip) ips.insert(ips.begin(), tl_client_info_name(info));
  out->Field("IP Address", "ip", Join(ips, ", "));
  out->Field("Name type", "name_type",
             KindName(tl_client_info_name_kind(info)));
  out->Field("HTL Required", "requirehtl",
             tl_client_info_require_htl(info) ? "yes" : "no");
  int64_t own = tl_client_info_ott_expiry(info);
  out->Field("OTT Expiry (s)", "ott_expiry",
             std::to_string(tl_client_info_effective_ott_expiry(info)) +
                 (own == 0 ? " (default)" : ""));
  out->Field("Partitions", "partitions", Join(Partitions(info), ", "));
  out->Field("Fingerprint", "fingerprint", tl_client_info_fingerprint(info));
  out->Field("Registered", "registered",
             Time(tl_client_info_registered_unix(info)));
  out->Field("Changed", "changed", Time(tl_client_info_changed_unix(info)));
}

struct InfoDeleter {
  void operator()(tl_client_info* i) const { tl_client_info_free(i); }
};
using InfoPtr = std::unique_ptr<tl_client_info, InfoDeleter>;

void SettingsBlock(const tl_appliance_settings* s, bool ntls, bool keepalive,
                   bool htl, Output* out) {
  if (ntls) {
    out->Field("NTLS bind address", "bind_address",
               tl_appliance_settings_bind_address(s));
    out->FieldNum("NTLS port", "port", tl_appliance_settings_port(s));
    out->Field("NTLS client source IP validation", "ipcheck",
               tl_appliance_settings_ipcheck(s) ? "Enable" : "Disable");
    out->FieldNum("NTLS receive timeout (ms)", "receive_timeout_ms",
                  tl_appliance_settings_receive_timeout_ms(s));
  }
  if (keepalive) {
    out->Field("TCP keep-alive", "tcp_keepalive",
               tl_appliance_settings_tcp_keepalive(s) ? "Enable" : "Disable");
    out->FieldNum("TCP keep-alive idle (s)", "keepalive_idle",
                  tl_appliance_settings_keepalive_idle(s));
    out->FieldNum("TCP keep-alive interval (s)", "keepalive_interval",
                  tl_appliance_settings_keepalive_interval(s));
    out->FieldNum("TCP keep-alive probes", "keepalive_probes",
                  tl_appliance_settings_keepalive_probes(s));
  }
  if (htl) {
    out->FieldNum("HTL grace period (s)", "htl_grace_period",
                  tl_appliance_settings_htl_grace_period(s));
    out->FieldNum("HTL default OTT expiry (s)", "htl_default_ott_expiry",
                  tl_appliance_settings_htl_default_ott_expiry(s));
  }
}

// ShowService adds what the running ntlsd reports, or why there is nothing to
// report; either way `ntls show` succeeds, as the settings are still shown.
void ShowService(const std::string& socket_path, Output* out) {
  NtlsdStatus st;
  std::string error;
  if (!QueryNtlsd(socket_path, &st, &error)) {
    out->Field("NTLS service", "service", "not running");
    out->Field("NTLS service detail", "service_detail", error);
    return;
  }
  out->Field("NTLS service", "service", "running");
  out->Field("NTLS listening on", "listen", st.listen);
  out->FieldNum("Admitted connections", "connections", st.connections);
  out->FieldNum("Connections in handshake", "unauthenticated",
                st.unauthenticated);
  std::vector<std::vector<std::string>> rows;
  for (const NtlsdClient& c : st.clients) {
    rows.push_back({c.label, std::to_string(c.connections), c.fingerprint});
  }
  out->Table("connected_clients",
             {"Connected Client", "Connections", "SHA-256 Fingerprint"},
             {"client", "connections", "fingerprint"}, rows);
}

}  // namespace

std::vector<Command> Shell::Commands() {
  auto client_out = [this](tl_status st, tl_registry* reg, tl_client_info* raw,
                           Output* out, const std::string& done) {
    InfoPtr info(raw);
    Check(st, reg);
    ClientWarnings(info.get(), out);
    if (tl_client_info_changed(info.get())) out->Line(done);
    out->Data("client", Json::Str(tl_client_info_label(info.get())));
    out->Data("changed", Json::Bool(tl_client_info_changed(info.get()) != 0));
  };
  // partition_access runs assignPartition or revokePartition (`change`) and
  // says "<done><client><verb><partition>.".
  auto partition_access =
      [this, client_out](const Args& a, Output* out,
                         tl_status (*change)(tl_registry*, const char*,
                                             const char*, tl_client_info**),
                         const std::string& done, const std::string& verb) {
        const std::string label = Require(a, "client");
        const std::string p = Require(a, "partition");
        tl_registry* reg = Registry(false);
        tl_client_info* info = nullptr;
        tl_status st = change(reg, label.c_str(), p.c_str(), &info);
        client_out(st, reg, info, out, done + label + verb + p + ".");
      };
  auto settings_patch = [this](
                            const std::function<void(tl_appliance_settings*)>&
                                fill,
                            Output* out, bool ntls, bool keepalive, bool htl) {
    tl_registry* reg = Registry(true);
    tl_appliance_settings* patch = nullptr;
    if (tl_appliance_settings_new(&patch) != TL_OK)
      Fail(TL_E_NO_MEMORY, "out of memory");
    std::unique_ptr<tl_appliance_settings, void (*)(tl_appliance_settings*)> p(
        patch, tl_appliance_settings_free);
    fill(patch);
    tl_appliance_settings* now = nullptr;
    tl_status st = tl_registry_update_settings(reg, patch, &now);
    std::unique_ptr<tl_appliance_settings, void (*)(tl_appliance_settings*)> n(
        now, tl_appliance_settings_free);
    Check(st, reg);
    SettingsBlock(now, ntls, keepalive, htl, out);
  };
  auto show_settings = [this](Output* out, bool ntls, bool keepalive,
                              bool htl) {
    tl_registry* reg = Registry(false);
    tl_appliance_settings* s = nullptr;
    tl_status st = tl_registry_get_settings(reg, &s);
    std::unique_ptr<tl_appliance_settings, void (*)(tl_appliance_settings*)> p(
        s, tl_appliance_settings_free);
    Check(st, reg);
    SettingsBlock(s, ntls, keepalive, htl, out);
  };
  auto show_identity = [this](tl_status st, tl_registry* reg,
                              tl_server_identity* id, Output* out) {
    std::unique_ptr<tl_server_identity, void (*)(tl_server_identity*)> p(
        id, tl_server_identity_free);
    Check(st, reg);
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
  };

  std::vector<Command> commands = {
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
       [=](const Args& a, Output* out) {
         std::string label = Require(a, "client");
         if (a.Has("hostname") == a.Has("ip"))
           UsageError("give exactly one of -hostname, -ip");
         CheckHtlRegisterFlags(a);
         std::string name =
             a.Has("ip") ? Require(a, "ip") : Require(a, "hostname");
         std::string pem = ReadCertificate(a, name);
         tl_client_registration* r = nullptr;
         if (tl_client_registration_new(&r) != TL_OK)
           Fail(TL_E_NO_MEMORY, "out of memory");
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
               r, Number("ottexpiry", a.Get("ottexpiry")));
         }
         tl_client_registration_set_force(r, a.Has("force") ? 1 : 0);
         tl_registry* reg = Registry(true);
         tl_client_info* info = nullptr;
         tl_status st = tl_registry_register_client(reg, r, &info);
         InfoPtr ip(info);
         Check(st, reg);
         ClientWarnings(info, out);
         out->Line("'client register' successful for client " + label + ".");
         out->Data("client", Json::Str(label));
         out->Data("fingerprint", Json::Str(tl_client_info_fingerprint(info)));
         HtlAfterRegister(Access(), info, a, out);
       },
       "client register -client LABEL -hostname HOST|-ip ADDR [-certificate "
       "FILE] "
       "[-requirehtl [-ottexpiry SECONDS] [-generateott]] [-force]"},
      {{"client", "list"},
       {},
       false,
       [=](const Args&, Output* out) {
         tl_registry* reg = Registry(false);
         tl_client_list* list = nullptr;
         tl_status st = tl_registry_list_clients(reg, &list);
         std::unique_ptr<tl_client_list, void (*)(tl_client_list*)> lp(
             list, tl_client_list_free);
         Check(st, reg);
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
       [=](const Args& a, Output* out) {
         tl_registry* reg = Registry(false);
         tl_client_info* info = nullptr;
         tl_status st =
             tl_registry_get_client(reg, Require(a, "client").c_str(), &info);
         InfoPtr ip(info);
         Check(st, reg);
         ShowClient(info, out);
       },
       "client show -client LABEL"},
      {{"client", "delete"},
       {{"client", true}, {"force", false}},
       true,
       [=](const Args& a, Output* out) {
         std::string label = Require(a, "client");
         tl_registry* reg = Registry(false);
         Check(tl_registry_delete_client(reg, label.c_str()), reg);
         HtlAfterDelete(Access(), label, out);
         out->Line("'client delete' successful for client " + label +
                   ". Remove this appliance from the client too (vtl "
                   "deleteServer), or the "
                   "client will keep trying to connect.");
       },
       "client delete -client LABEL"},
      {{"client", "replaceCertificate"},
       {{"client", true}, {"certificate", true}, {"force", false}},
       true,
       [=](const Args& a, Output* out) {
         std::string label = Require(a, "client");
         tl_registry* reg = Registry(false);
         tl_client_info* current = nullptr;
         tl_status st = tl_registry_get_client(reg, label.c_str(), &current);
         InfoPtr cp(current);
         Check(st, reg);
         std::string pem = ReadCertificate(a, tl_client_info_name(current));
         tl_client_info* info = nullptr;
         st = tl_registry_replace_certificate(reg, label.c_str(), pem.c_str(),
                                              a.Has("force") ? 1 : 0, &info);
         client_out(st, reg, info, out,
                    "Certificate of client " + label +
                        " replaced; the new one is accepted "
                        "now, the old one no longer.");
       },
       "client replaceCertificate -client LABEL [-certificate FILE] [-force]"},
      {{"client", "modify"},
       {{"client", true}, {"requirehtl", true}, {"ottexpiry", true}},
       true,
       [=](const Args& a, Output* out) {
         std::string label = Require(a, "client");
         tl_registry* reg = Registry(false);
         tl_client_info* current = nullptr;
         tl_status st = tl_registry_get_client(reg, label.c_str(), &current);
         InfoPtr cp(current);
         Check(st, reg);
         int32_t htl = tl_client_info_require_htl(current);
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
                           ? Number("ottexpiry", a.Get("ottexpiry"))
                           : tl_client_info_ott_expiry(current);
         tl_client_info* info = nullptr;
         st = tl_registry_set_require_htl(reg, label.c_str(), htl, ott, &info);
         client_out(st, reg, info, out, "Client " + label + " modified.");
         if (a.Has("ottexpiry")) HtlSyncOttExpiry(Access(), label, ott);
       },
       "client modify -client LABEL [-requirehtl yes|no] [-ottexpiry SECONDS]"},
      {{"client", "hostip", "map"},
       {{"client", true}, {"ip", true}},
       true,
       [=](const Args& a, Output* out) {
         std::string label = Require(a, "client");
         tl_registry* reg = Registry(false);
         tl_client_info* info = nullptr;
         tl_status st = tl_registry_map_host_ip(
             reg, label.c_str(), Require(a, "ip").c_str(), &info);
         client_out(st, reg, info, out,
                    "'client hostip map' successful for " + label + ".");
       },
       "client hostip map -client LABEL -ip ADDR"},
      {{"client", "hostip", "unmap"},
       {{"client", true}, {"ip", true}},
       true,
       [=](const Args& a, Output* out) {
         std::string label = Require(a, "client");
         tl_registry* reg = Registry(false);
         tl_client_info* info = nullptr;
         tl_status st = tl_registry_unmap_host_ip(
             reg, label.c_str(), Require(a, "ip").c_str(), &info);
         client_out(st, reg, info, out,
                    "'client hostip unmap' successful for " + label + ".");
       },
       "client hostip unmap -client LABEL -ip ADDR"},
      {{"client", "assignPartition"},
       {{"client", true}, {"partition", true}},
       true,
       [=](const Args& a, Output* out) {
         partition_access(a, out, tl_registry_assign_partition,
                          "'client assignPartition' successful: ", " can use ");
       },
       "client assignPartition -client LABEL -partition NAME"},
      {{"client", "revokePartition"},
       {{"client", true}, {"partition", true}},
       true,
       [=](const Args& a, Output* out) {
         partition_access(
             a, out, tl_registry_revoke_partition,
             "'client revokePartition' successful: ", " no longer uses ");
       },
       "client revokePartition -client LABEL -partition NAME"},
      {{"partition", "create"},
       {{"partition", true},
        {"label", true},
        {"serial", true},
        {"sopinfile", true},
        {"userpinfile", true}},
       true,
       [=](const Args& a, Output* out) {
         // With both PIN files the partition gets its PKCS#11 token; PINs
         // come from files because argv is visible to every local user.
         const bool token = a.Has("sopinfile") || a.Has("userpinfile");
         std::string so_pin, user_pin;
         if (token) {
           TokenResult r =
               ReadPinFile(Require(a, "sopinfile"), "SO PIN", &so_pin);
           if (r.status == TL_OK) {
             if (!r.warning.empty()) out->Warning(r.warning);
             r = ReadPinFile(Require(a, "userpinfile"), "user PIN", &user_pin);
           }
           if (r.status != TL_OK) Fail(r.status, r.message);
           if (!r.warning.empty()) out->Warning(r.warning);
         }
         tl_registry* reg = Registry(true);
         const std::string name = Require(a, "partition");
         tl_partition_info* p = nullptr;
         tl_status st = tl_registry_create_partition(
             reg, name.c_str(), a.Get("label").c_str(), a.Get("serial").c_str(),
             &p);
         std::unique_ptr<tl_partition_info, void (*)(tl_partition_info*)> pp(
             p, tl_partition_info_free);
         Check(st, reg);
         if (token) {
           TokenResult r = CreatePartitionToken(root_, name, so_pin, user_pin);
           if (r.status != TL_OK) {
             tl_partition_info* undone = nullptr;
             tl_registry_delete_partition(reg, name.c_str(), 1, &undone);
             tl_partition_info_free(undone);
             Fail(r.status, r.message + "; the partition was not created");
           }
         }
         out->Field("Partition", "partition", tl_partition_info_name(p));
         out->Field("Serial", "serial", tl_partition_info_serial(p));
         out->Field("PKCS#11 token", "pkcs11_token",
                    token ? name : "none (give -sopinfile and -userpinfile)");
       },
       "partition create -partition NAME [-label TEXT] [-serial DIGITS]\n"
       "      [-sopinfile FILE -userpinfile FILE]  (PINs on each file's "
       "first line)"},
      {{"partition", "delete"},
       {{"partition", true}, {"force", false}},
       true,
       [=](const Args& a, Output* out) {
         tl_registry* reg = Registry(false);
         tl_partition_info* p = nullptr;
         tl_status st = tl_registry_delete_partition(
             reg, Require(a, "partition").c_str(), a.Has("force") ? 1 : 0, &p);
         std::unique_ptr<tl_partition_info, void (*)(tl_partition_info*)> pp(
             p, tl_partition_info_free);
         Check(st, reg);
         // ntlsd sees the registry change and closes the partition's streams;
         // then the token and its keys go.
         bool had_token = false;
         TokenResult r =
             RemovePartitionToken(root_, a.Get("partition"), &had_token);
         if (r.status != TL_OK) Fail(r.status, r.message);
         std::vector<std::string> lost;
         for (size_t i = 0; i < tl_partition_info_num_clients(p); ++i) {
           lost.push_back(tl_partition_info_client(p, i));
         }
         out->Line("Partition " + a.Get("partition") + " deleted" +
                   (had_token ? ", with its PKCS#11 token and keys." : "."));
         if (!lost.empty()) {
           out->Warning("these clients lost access to it: " + Join(lost, ", "));
         }
         Json arr = Json::Arr();
         for (const auto& l : lost) arr.Add(Json::Str(l));
         out->Data("clients_lost_access", arr);
       },
       "partition delete -partition NAME [-force]"},
      {{"partition", "list"},
       {},
       false,
       [=](const Args&, Output* out) {
         tl_registry* reg = Registry(false);
         tl_partition_list* list = nullptr;
         tl_status st = tl_registry_list_partitions(reg, &list);
         std::unique_ptr<tl_partition_list, void (*)(tl_partition_list*)> lp(
             list, tl_partition_list_free);
         Check(st, reg);
         std::vector<std::vector<std::string>> rows;
         for (size_t i = 0; i < tl_partition_list_count(list); ++i) {
           const tl_partition_info* p = tl_partition_list_get(list, i);
           rows.push_back({tl_partition_info_name(p),
                           tl_partition_info_serial(p),
                           tl_partition_info_label(p),
                           std::to_string(tl_partition_info_num_clients(p))});
         }
         out->Table("partitions", {"Partition", "Serial", "Label", "Clients"},
                    {"name", "serial", "label", "clients"}, rows);
       },
       "partition list"},
      {{"partition", "show"},
       {{"partition", true}},
       false,
       [=](const Args& a, Output* out) {
         tl_registry* reg = Registry(false);
         tl_partition_info* p = nullptr;
         tl_status st = tl_registry_get_partition(
             reg, Require(a, "partition").c_str(), &p);
         std::unique_ptr<tl_partition_info, void (*)(tl_partition_info*)> pp(
             p, tl_partition_info_free);
         Check(st, reg);
         std::vector<std::string> clients;
         for (size_t i = 0; i < tl_partition_info_num_clients(p); ++i) {
           clients.push_back(tl_partition_info_client(p, i));
         }
         out->Field("Partition", "partition", tl_partition_info_name(p));
         out->Field("Label", "label", tl_partition_info_label(p));
         out->Field("Serial", "serial", tl_partition_info_serial(p));
         out->Field("Created", "created",
                    Time(tl_partition_info_created_unix(p)));
         out->Field("Clients", "clients", Join(clients, ", "));
       },
       "partition show -partition NAME"},
      {{"ntls", "show"},
       {{"socket", true}},
       false,
       [=](const Args& a, Output* out) {
         show_settings(out, true, true, false);
         ShowService(a.Has("socket") ? a.Get("socket") : root_ + "/ntlsd.sock",
                     out);
       },
       "ntls show [-socket PATH]"},
      {{"ntls", "ipcheck", "enable"},
       {},
       true,
       [=](const Args&, Output* out) {
         settings_patch(
             [](tl_appliance_settings* s) {
               tl_appliance_settings_set_ipcheck(s, 1);
             },
             out, true, false, false);
       },
       "ntls ipcheck enable"},
      {{"ntls", "ipcheck", "disable"},
       {},
       true,
       [=](const Args&, Output* out) {
         settings_patch(
             [](tl_appliance_settings* s) {
               tl_appliance_settings_set_ipcheck(s, 0);
             },
             out, true, false, false);
       },
       "ntls ipcheck disable"},
      {{"ntls", "ipcheck", "show"},
       {},
       false,
       [=](const Args&, Output* out) {
         show_settings(out, true, false, false);
       },
       "ntls ipcheck show"},
      {{"ntls", "tcp_keepalive", "set"},
       {{"idle", true},
        {"interval", true},
        {"probes", true},
        {"enable", false},
        {"disable", false}},
       true,
       [=](const Args& a, Output* out) {
         if (a.Has("enable") && a.Has("disable"))
           UsageError("give -enable or -disable, not both");
         long long idle = a.Has("idle") ? Number("idle", a.Get("idle")) : -1;
         long long interval =
             a.Has("interval") ? Number("interval", a.Get("interval")) : -1;
         long long probes =
             a.Has("probes") ? Number("probes", a.Get("probes")) : -1;
         settings_patch(
             [&](tl_appliance_settings* s) {
               if (a.Has("enable"))
                 tl_appliance_settings_set_tcp_keepalive(s, 1);
               if (a.Has("disable"))
                 tl_appliance_settings_set_tcp_keepalive(s, 0);
               if (idle >= 0)
                 tl_appliance_settings_set_keepalive_idle(s, int32_t(idle));
               if (interval >= 0) {
                 tl_appliance_settings_set_keepalive_interval(
                     s, int32_t(interval));
               }
               if (probes >= 0)
                 tl_appliance_settings_set_keepalive_probes(s, int32_t(probes));
             },
             out, false, true, false);
       },
       "ntls tcp_keepalive set [-idle SECONDS] [-interval SECONDS] [-probes N] "
       "[-enable|-disable]"},
      {{"ntls", "tcp_keepalive", "show"},
       {},
       false,
       [=](const Args&, Output* out) {
         show_settings(out, false, true, false);
       },
       "ntls tcp_keepalive show"},
      {{"ntls", "bind"},
       {{"address", true}, {"port", true}},
       true,
       [=](const Args& a, Output* out) {
         if (!a.Has("address") && !a.Has("port"))
           UsageError("give -address and/or -port");
         long long port = a.Has("port") ? Number("port", a.Get("port")) : -1;
         std::string address = a.Get("address");
         settings_patch(
             [&](tl_appliance_settings* s) {
               if (!address.empty() && tl_appliance_settings_set_bind_address(
                                           s, address.c_str()) != TL_OK) {
                 char buf[TL_ERROR_MESSAGE_MAX];
                 size_t len = 0;
                 tl_appliance_settings_last_error(s, buf, sizeof(buf), &len);
                 Fail(TL_E_NAME_INVALID, std::string(buf, len));
               }
               if (port >= 0) tl_appliance_settings_set_port(s, int32_t(port));
             },
             out, true, false, false);
       },
       "ntls bind [-address ADDR] [-port PORT]"},
      {{"ntls", "timeout", "set"},
       {{"receive", true}},
       true,
       [=](const Args& a, Output* out) {
         long long ms = Number("receive", Require(a, "receive"));
         settings_patch(
             [&](tl_appliance_settings* s) {
               tl_appliance_settings_set_receive_timeout_ms(s, int32_t(ms));
             },
             out, true, false, false);
       },
       "ntls timeout set -receive MILLISECONDS"},
      {{"sysconf", "regenCert"},
       {{"name", true}, {"keytype", true}},
       true,
       [=](const Args& a, Output* out) {
         tl_registry* reg = Registry(true);
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
         show_identity(st, reg, id, out);
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
       [=](const Args&, Output* out) {
         tl_registry* reg = Registry(false);
         tl_server_identity* id = nullptr;
         tl_status st = tl_registry_load_server_identity(reg, &id);
         show_identity(st, reg, id, out);
       },
       "sysconf showCert"},
      {{"sysconf", "exportCert"},
       {{"file", true}},
       false,
       [=](const Args& a, Output* out) {
         tl_registry* reg = Registry(false);
         tl_server_identity* id = nullptr;
         tl_status st = tl_registry_load_server_identity(reg, &id);
         std::unique_ptr<tl_server_identity, void (*)(tl_server_identity*)> p(
             id, tl_server_identity_free);
         Check(st, reg);
         std::string file = Require(a, "file");
         std::string pem = tl_server_identity_certificate_pem(id, 0);
         if (file == "-") {
           out->Line(pem.substr(0, pem.size() - (pem.empty() ? 0 : 1)));
         } else {
           std::ofstream f(file, std::ios::binary | std::ios::trunc);
           f << pem;
           f.close();
           if (!f) Fail(TL_E_IO, "cannot write " + file);
           out->Line("server.pem written to " + file);
         }
         out->Field("SHA-256 Fingerprint", "fingerprint",
                    tl_server_identity_fingerprint(id, 0));
       },
       "sysconf exportCert -file FILE|-"},
      {{"sysconf", "dropOldCert"},
       {},
       true,
       [=](const Args&, Output* out) {
         tl_registry* reg = Registry(false);
         int32_t dropped = 0;
         Check(tl_registry_drop_old_server_certificates(reg, &dropped), reg);
         out->FieldNum("Old certificates dropped", "dropped", dropped);
       },
       "sysconf dropOldCert"},
      {{"service", "restart", "ntls"},
       {},
       false,
       [=](const Args&, Output* out) {
         out->Line(
             "Nothing to restart: NTLS applies registry and setting changes at "
             "once, "
             "without a restart.");
       },
       "service restart ntls"},
  };
  for (Command& c : HtlCommands(Access())) commands.push_back(std::move(c));
  return commands;
}

int Shell::Run(const std::vector<std::string>& words) {
  std::vector<Command> commands = Commands();
  Output out;
  std::string name;
  try {
    if (words.empty() || words[0] == "help" || words[0] == "?") {
      for (const Command& c : commands) out.Line(std::string("  ") + c.usage);
      out.Line("  Global options: --root DIR (default $" TL_APPLIANCE_ROOT_ENV
               " or " TL_APPLIANCE_DEFAULT_ROOT "), --json");
    } else {
      const Command* match = nullptr;
      size_t used = 0;
      for (const Command& c : commands) {
        if (c.path.size() > words.size()) continue;
        bool ok = true;
        for (size_t i = 0; i < c.path.size(); ++i) {
          if (c.path[i] != words[i]) ok = false;
        }
        if (ok && c.path.size() > used) {
          match = &c;
          used = c.path.size();
        }
      }
      if (match == nullptr) {
        std::string known;
        for (const Command& c : commands) {
          if (c.path[0] == words[0]) known += std::string("\n  ") + c.usage;
        }
        UsageError("unknown command '" + Join(words, " ") + "'" +
                   (known.empty() ? "; try help" : "; did you mean:" + known));
      }
      for (size_t i = 0; i < used; ++i) name += (i ? " " : "") + words[i];
      Args args;
      for (size_t i = used; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (w.size() < 2 || w[0] != '-') {
          UsageError("unexpected '" + w + "'; usage: " + match->usage);
        }
        std::string given = w.substr(w[1] == '-' ? 2 : 1);
        // Flags may be shortened to any unambiguous prefix, as admins are used
        // to.
        const Flag* flag = nullptr;
        int hits = 0;
        for (const Flag& f : match->flags) {
          if (given == f.name) {
            flag = &f;
            hits = 1;
            break;
          }
          if (std::strncmp(f.name, given.c_str(), given.size()) == 0) {
            flag = &f;
            ++hits;
          }
        }
        if (hits != 1) {
          UsageError((hits == 0 ? "unknown flag '" : "ambiguous flag '") + w +
                     "'; usage: " + match->usage);
        }
        if (flag->takes_value) {
          if (i + 1 >= words.size())
            UsageError(std::string("-") + flag->name + " needs a value");
          args.values[flag->name] = words[++i];
        } else {
          args.values[flag->name] = "";
        }
      }
      match->handler(args, &out);
    }
  } catch (const Failure& f) {
    if (json_) {
      Json j = Json::Obj();
      j.Set("command", Json::Str(name));
      j.Set("result", Json::Num(f.status));
      j.Set("status", Json::Str(tl_status_name(f.status)));
      j.Set("error", Json::Str(f.message));
      std::printf("%s\n", j.Dump().c_str());
    } else {
      out.PrintHuman();
      std::fprintf(stderr, "Error: %s\n", f.message.c_str());
      std::printf("Command Result : %d (%s)\n", f.status,
                  tl_status_name(f.status));
    }
    std::fflush(stdout);
    return f.exit_code;
  }
  if (json_) {
    Json j = out.JsonObject();
    j.Set("command", Json::Str(name));
    j.Set("result", Json::Num(0));
    j.Set("status", Json::Str("Success"));
    std::printf("%s\n", j.Dump().c_str());
  } else {
    out.PrintHuman();
    std::printf("Command Result : 0 (Success)\n");
  }
  std::fflush(stdout);
  return kExitOk;
}

// Split splits a line into words; double or single quotes group words with
// spaces.
bool Split(const std::string& line, std::vector<std::string>* words) {
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        cur += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      if (in_word) words->push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote != 0) return false;
  if (in_word) words->push_back(cur);
  return true;
}

int Main(int argc, char** argv) {
  std::string root;
  bool json = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--root" && i + 1 < argc) {
      root = argv[++i];
    } else if (a.rfind("--root=", 0) == 0) {
      root = a.substr(7);
    } else if (a == "--json") {
      json = true;
    } else if (a == "--help" || a == "-h") {
      std::vector<std::string> help = {"help"};
      return Shell("", false).Run(help);
    } else if (a == "--root") {
      std::fprintf(stderr, "ntlsh: --root needs a directory\n");
      return kExitUsage;
    } else {
      break;
    }
  }
  if (root.empty()) {
    char buf[4096];
    size_t len = 0;
    if (tl_appliance_default_root(buf, sizeof(buf), &len) != TL_OK) {
      std::fprintf(stderr, "ntlsh: the appliance root path is too long\n");
      return kExitUsage;
    }
    root.assign(buf, len);
  }
  Shell shell(root, json);
  if (i < argc) {
    return shell.Run(std::vector<std::string>(argv + i, argv + argc));
  }
  // Interactive: one command per line; the prompt only when a person is typing.
  bool tty = isatty(0) != 0;
  int worst = kExitOk;
  std::string line;
  while (true) {
    if (tty) {
      std::printf("ntlsh:> ");
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    std::vector<std::string> words;
    if (!Split(line, &words)) {
      std::fprintf(stderr, "Error: unbalanced quote\n");
      std::printf("Command Result : %d (%s)\n", TL_E_INVALID_ARGUMENT,
                  tl_status_name(TL_E_INVALID_ARGUMENT));
      worst = kExitUsage;
      continue;
    }
    if (words.empty() || words[0][0] == '#') continue;
    if (words[0] == "exit" || words[0] == "quit") break;
    int rc = shell.Run(words);
    if (rc > worst) worst = rc;
  }
  return worst;
}

}  // namespace ntlsh

int main(int argc, char** argv) { return ntlsh::Main(argc, argv); }
