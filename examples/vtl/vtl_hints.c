/* vtl's command-line advice: see vtl_hints.h. */
#include "examples/vtl/vtl_hints.h"

#include <stdio.h>
#include <string.h>

static int Is(const char *command, const char *want) {
  return command != NULL && strcmp(command, want) == 0;
}

static const char *NameOr(const struct VtlArgs *a, const char *fallback) {
  return a != NULL && a->name != NULL ? a->name : fallback;
}

/* GroupOr is the HA group the user named (-label or -group). */
static const char *GroupOr(const struct VtlArgs *a, const char *fallback) {
  if (a == NULL) return fallback;
  if (a->group != NULL) return a->group;
  return a->label != NULL ? a->label : fallback;
}

/* HagroupHint writes the advice for a failed `vtl hagroup` subcommand. */
static void HagroupHint(const struct VtlArgs *a, tl_status status, char *out,
                        size_t out_len) {
  const char *sub = a != NULL && a->subcommand != NULL ? a->subcommand : "";
  const char *group = GroupOr(a, "<group>");
  switch (status) {
    case TL_E_ALREADY_EXISTS:
      if (strcmp(sub, "createGroup") == 0) {
        snprintf(out, out_len,
                 "vtl hagroup addMember -group %s -server <server> -partition "
                 "<partition> adds a member to it",
                 group);
      } else {
        snprintf(out, out_len, "vtl hagroup listGroups shows the members");
      }
      return;
    case TL_E_NOT_FOUND:
      snprintf(out, out_len,
               "vtl hagroup listGroups shows the groups and members; vtl "
               "listServers the servers (vtl addServer registers one)");
      return;
    case TL_E_FAILED_PRECONDITION:
      snprintf(out, out_len,
               "vtl hagroup addMember -group %s -server <server> -partition "
               "<partition> adds another active member first; vtl hagroup "
               "deleteGroup -group %s removes the whole group",
               group, group);
      return;
    default:
      return;
  }
}

/* HintText writes the advice for status into out ("" when there is none).
 * server names the server the failure is about (NULL: not known). */
static void HintText(const char *command, const struct VtlArgs *a,
                     const char *server, tl_status status, char *out,
                     size_t out_len) {
  const char *srv = server != NULL ? server : "<server>";
  out[0] = '\0';
  if (Is(command, "hagroup")) {
    HagroupHint(a, status, out, out_len);
    if (out[0] != '\0') return;
  }
  switch (status) {
    case TL_E_TRUST_STORE_INCONSISTENT:
      snprintf(out, out_len,
               "vtl addServer -n %s -c <server.pem> registers its "
               "certificate; vtl verify -repair fixes the trust store",
               srv);
      return;
    case TL_E_ALREADY_EXISTS:
      if (Is(command, "createCert")) {
        snprintf(out, out_len,
                 "vtl createCert -n %s -force replaces the identity; then "
                 "register the new certificate on each appliance (ntlsh "
                 "client replaceCertificate)",
                 NameOr(a, "<this host's name>"));
      } else if (Is(command, "addServer")) {
        snprintf(out, out_len,
                 "vtl addServer -n %s -c <server.pem> -replace registers the "
                 "new certificate",
                 NameOr(a, "<server>"));
      }
      return;
    case TL_E_NOT_FOUND:
      if (Is(command, "addServer")) {
        snprintf(out, out_len, "drop -replace to register a new server");
      } else if (Is(command, "deleteServer") || Is(command, "listServers")) {
        snprintf(out, out_len, "vtl listServers shows the registered servers");
      } else if (Is(command, "call")) {
        snprintf(out, out_len, "vtl listSlots shows the slots");
      }
      return;
    case TL_E_CONFIG_INVALID:
      if (server != NULL) {
        snprintf(out, out_len,
                 "vtl addServer -n %s -c <server.pem> lists it again, or vtl "
                 "deleteServer -n %s drops it",
                 server, server);
      } else {
        snprintf(out, out_len,
                 "vtl verify shows what is wrong; vtl createCert -n <this "
                 "host's name> creates the client identity");
      }
      return;
    case TL_E_CERT_INVALID:
    case TL_E_KEY_PERMISSIONS:
      if (!Is(command, "addServer")) {
        snprintf(out, out_len,
                 "vtl createCert -n <this host's name> -force makes a new "
                 "identity; register it on each appliance afterwards");
      }
      return;
    case TL_E_CERT_EXPIRED:
      if (server != NULL) {
        snprintf(out, out_len,
                 "if the server's certificate expired: copy the appliance's "
                 "new server.pem, then vtl addServer -n %s -c server.pem "
                 "-replace; if this client's did: vtl createCert -force",
                 server);
      } else {
        snprintf(out, out_len,
                 "vtl createCert -n <this host's name> -force makes a new "
                 "identity; then ntlsh client replaceCertificate on each "
                 "appliance");
      }
      return;
    case TL_E_CERT_PIN_MISMATCH:
      snprintf(out, out_len,
               "if the appliance's certificate was regenerated, copy its "
               "server.pem and run vtl addServer -n %s -c server.pem -replace",
               srv);
      return;
    case TL_E_NOT_REGISTERED:
      snprintf(out, out_len,
               "register this client on the appliance: ntlsh client register "
               "-client <label> -hostname <this host's name>");
      return;
    case TL_E_HTL_REQUIRED_BY_APPLIANCE:
      snprintf(out, out_len,
               "vtl addServer -n %s -c <server.pem> -htl -replace, then run "
               "htlclient",
               srv);
      return;
    case TL_E_HTL_REQUIRED_BY_CLIENT:
      snprintf(out, out_len,
               "on the appliance: ntlsh client modify -client <label> "
               "-requirehtl yes and ntlsh htl generateOTT -client <label>; or "
               "here: vtl addServer -n %s -c <server.pem> -nohtl -replace",
               srv);
      return;
    case TL_E_HTL_AGENT_UNAVAILABLE:
      snprintf(out, out_len, "start htlclient for this user");
      return;
    case TL_E_OUTCOME_UNKNOWN:
      snprintf(out, out_len,
               "the member died mid-call: check whether the call took effect "
               "before calling again; vtl hagroup show shows the members");
      return;
    case TL_E_FAILED_PRECONDITION:
      if (Is(command, "call")) {
        snprintf(out, out_len,
                 "vtl listSlots shows the HA group's slot (HAOnly hides its "
                 "members'); vtl hagroup haonly -disable shows them again");
        return;
      }
      if (Is(command, "deleteServer")) {
        snprintf(out, out_len,
                 "vtl hagroup listGroups shows the groups that use it; vtl "
                 "hagroup removeMember -group <group> -server %s -partition "
                 "<partition> takes it out",
                 NameOr(a, "<server>"));
      }
      return;
    default:
      return;
  }
}

void VtlHint(const char *command, const struct VtlArgs *a, tl_status status) {
  char line[512];
  HintText(command, a, NULL, status, line, sizeof(line));
  if (line[0] != '\0') fprintf(stderr, "vtl: hint: %s\n", line);
}

void VtlServerHint(const char *server, tl_status status) {
  char line[512];
  HintText(NULL, NULL, server, status, line, sizeof(line));
  if (line[0] != '\0') fprintf(stderr, "vtl: hint: %s\n", line);
}

/* ReportHint prints a hint line under a line of vtl verify's report. */
static void ReportHint(const char *text) { printf("       hint: %s\n", text); }

void VtlVerifyHint(const char *object) {
  if (strcmp(object, "client certificate") == 0) {
    ReportHint(
        "vtl createCert -n <this host's name> -force makes a new "
        "identity");
  } else if (strcmp(object, "trustlink.conf") == 0) {
    ReportHint("vtl createCert and vtl addServer create trustlink.conf");
  } else if (strncmp(object, "HA group ", 9) == 0) {
    ReportHint(
        "vtl addServer -n <server> -c <server.pem> registers the member's "
        "server; vtl hagroup removeMember -group <group> -server <server> "
        "-partition <partition> drops the member");
  } else if (strcmp(object, "servers") == 0) {
    ReportHint("vtl addServer -n <server> -c <server.pem> registers a server");
  } else {
    ReportHint(
        "vtl verify -repair fixes the trust store; vtl addServer -n "
        "<server> -c <server.pem> -replace registers a server's "
        "current certificate");
  }
}

void VtlVerifyServerHint(const char *server, tl_status status) {
  char line[512];
  HintText(NULL, NULL, server, status, line, sizeof(line));
  if (line[0] != '\0') ReportHint(line);
}

void VtlVerifyHaMemberHint(const char *group, const char *server,
                           const char *partition, const char *serial) {
  char line[512];
  if (serial[0] != '\0') {
    snprintf(line, sizeof(line),
             "vtl listSlots shows the partitions' serials; vtl hagroup "
             "removeMember -group %s -serial %s drops the member, or "
             "addMember -group %s -server <server> -partition <partition> "
             "names it by place",
             group, serial, group);
  } else {
    snprintf(line, sizeof(line),
             "on the appliance: ntlsh client assignPartition -client <label> "
             "-partition %s; or here: vtl hagroup removeMember -group %s "
             "-server %s -partition %s",
             partition, group, server, partition);
  }
  ReportHint(line);
}
