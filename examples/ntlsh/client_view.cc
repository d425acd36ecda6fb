// A registered client as ntlsh shows it. See client_view.h.
#include "examples/ntlsh/client_view.h"

#include "examples/ntlsh/format.h"

namespace ntlsh {

ClientInfoPtr RegisteredClient(const ShellAccess& shell,
                               const std::string& label) {
  tl_registry* reg = shell.registry(false);
  tl_client_info* info = nullptr;
  tl_status st = tl_registry_get_client(reg, label.c_str(), &info);
  ClientInfoPtr owned(info);
  if (st == TL_E_NOT_FOUND) {
    CommandFailed(st, "no client '" + label +
                          "' is registered; see client list, or register it "
                          "first (client register)");
  }
  shell.check(st, reg);
  return owned;
}

ClientListPtr RegisteredClients(const ShellAccess& shell) {
  tl_registry* reg = shell.registry(false);
  tl_client_list* list = nullptr;
  tl_status st = tl_registry_list_clients(reg, &list);
  ClientListPtr owned(list);
  shell.check(st, reg);
  return owned;
}

const char* KindName(int32_t kind) {
  return kind == TL_NAME_IPV4   ? "IPv4"
         : kind == TL_NAME_IPV6 ? "IPv6"
                                : "hostname";
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

void ClientWarnings(const tl_client_info* info, Output* out) {
  for (size_t i = 0; i < tl_client_info_num_warnings(info); ++i) {
    out->Warning(tl_client_info_warning(info, i));
  }
}

void ShowClient(const tl_client_info* info, Output* out) {
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

}  // namespace ntlsh
