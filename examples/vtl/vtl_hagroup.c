/* vtl hagroup: HA groups in trustlink.conf, on the C ABI only
 * (trustlink/client_ha_config.h).
 *
 *   vtl hagroup createGroup -label NAME -server S -partition P
 *   vtl hagroup addMember   -group NAME -server S -partition P
 *   vtl hagroup addStandby  -group NAME -server S -partition P
 *   vtl hagroup removeMember -group NAME -server S -partition P
 *   vtl hagroup deleteGroup -group NAME
 *   vtl hagroup haonly -enable|-disable|-show
 *   vtl hagroup recovery [-interval S] [-attempts N]
 *   vtl hagroup listGroups [--json]
 *   vtl hagroup show [-group NAME]          (vtl_hagroup_show.c)
 *
 * A member may be given as -serial N (a partition serial number, as Luna
 * writes members) instead of -server and -partition. -label and -group are
 * the same option for every subcommand (Luna writes -label for createGroup and
 * deleteGroup, -group for the others). */
#include "examples/vtl/vtl_hagroup.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "examples/cli/cli_args.h"
#include "examples/vtl/vtl_hagroup_show.h"
#include "examples/vtl/vtl_hints.h"
#include "trustlink/trustlink.h"

typedef int (*HagroupFn)(tl_client_root *root, const struct VtlArgs *a);

struct HagroupCommand {
  const char *name; /* as the usage spells it */
  HagroupFn run;
};

static const char kHagroupUsage[] =
    "usage: vtl [--root DIR] hagroup SUBCOMMAND [options]\n"
    "\n"
    "  createGroup -label NAME -server S -partition P\n"
    "      make an HA group (one virtual slot) whose first active member is "
    "partition P\n"
    "      on the configured server S.\n"
    "  addMember -group NAME -server S -partition P   add an active member.\n"
    "  addStandby -group NAME -server S -partition P  add a standby member "
    "(takes load only\n"
    "      when no active member is up); an active member becomes standby.\n"
    "  removeMember -group NAME -server S -partition P\n"
    "  deleteGroup -group NAME     remove the group (the others are "
    "renumbered).\n"
    "  haonly -enable|-disable|-show   HAOnly: show only the groups' virtual "
    "slots.\n"
    "  recovery [-interval S] [-attempts N]\n"
    "      AutoReconnectInterval (seconds before a lost member is probed "
    "again, 1-86400)\n"
    "      and reconnAtt (probes before giving up: -1 for ever, 0 never).\n"
    "  listGroups [--json]         the groups, their members and the HA "
    "settings.\n"
    "  show [-group NAME]          connect, then each group's slot and state "
    "and per member:\n"
    "      server, partition, role, state, calls in flight, last failure.\n"
    "\n"
    "A member may be -serial N (a partition serial number, as a Luna "
    "Chrystoki.conf\n"
    "lists members) instead of -server S -partition P. Labels: 1-32 letters, "
    "digits or _.-.\n";

int VtlHagroupUsage(const char *problem) {
  if (problem != NULL) fprintf(stderr, "vtl: %s\n\n", problem);
  fputs(kHagroupUsage, stderr);
  return kExitUsage;
}

void VtlHagroupHelp(void) { fputs(kHagroupUsage, stdout); }

/* GroupName returns the group the user named with -label or -group (NULL:
 * neither, or two different names, reported). */
static const char *GroupName(const struct VtlArgs *a, int *rc) {
  if (a->label != NULL && a->group != NULL && strcmp(a->label, a->group)) {
    *rc = VtlHagroupUsage("give the group once, as -label or -group");
    return NULL;
  }
  const char *name = a->label != NULL ? a->label : a->group;
  if (name == NULL) {
    char problem[96];
    snprintf(problem, sizeof(problem), "hagroup %s needs -%s NAME",
             a->subcommand,
             strcmp(a->subcommand, "createGroup") == 0 ? "label" : "group");
    *rc = VtlHagroupUsage(problem);
  }
  return name;
}

/* Member sets the member's server and partition for the C ABI: -server and
 * -partition, or server NULL and the serial. Returns kExitOk or a usage
 * error. */
static int Member(const struct VtlArgs *a, const char **server,
                  const char **partition) {
  const int by_place = a->server != NULL || a->partition != NULL;
  char problem[128];
  if (by_place && a->serial != NULL) {
    return VtlHagroupUsage(
        "give a member as -server S -partition P, or as -serial N, not both");
  }
  if (a->serial != NULL) {
    *server = NULL;
    *partition = a->serial;
    return kExitOk;
  }
  if (a->server == NULL || a->partition == NULL) {
    snprintf(problem, sizeof(problem),
             "hagroup %s needs -server S and -partition P (or -serial N)",
             a->subcommand);
    return VtlHagroupUsage(problem);
  }
  *server = a->server;
  *partition = a->partition;
  return kExitOk;
}

/* MemberEdit is a subcommand's group and member, as the C ABI takes them, and
 * the member as vtl prints it. */
struct MemberEdit {
  const char *label;
  const char *server;
  const char *partition;
  char text[300];
};

/* ParseMemberEdit reads the group and the member; kExitOk or a usage error. */
static int ParseMemberEdit(const struct VtlArgs *a, struct MemberEdit *e) {
  int rc = kExitOk;
  e->label = GroupName(a, &rc);
  if (e->label == NULL) return rc;
  rc = Member(a, &e->server, &e->partition);
  if (rc != kExitOk) return rc;
  if (a->serial != NULL) {
    snprintf(e->text, sizeof(e->text), "serial %s", a->serial);
  } else {
    snprintf(e->text, sizeof(e->text), "%s/%s", a->server, a->partition);
  }
  return kExitOk;
}

static int CmdCreateGroup(tl_client_root *root, const struct VtlArgs *a) {
  struct MemberEdit e;
  int rc = ParseMemberEdit(a, &e);
  if (rc != kExitOk) return rc;
  tl_status s =
      tl_client_root_ha_create_group(root, e.label, e.server, e.partition);
  if (s != TL_OK) return VtlFail(root, s, a);
  printf("HA group %s created with active member %s.\n", e.label, e.text);
  return kExitOk;
}

static int AddMember(tl_client_root *root, const struct VtlArgs *a,
                     int standby) {
  struct MemberEdit e;
  int rc = ParseMemberEdit(a, &e);
  if (rc != kExitOk) return rc;
  tl_status s = tl_client_root_ha_add_member(root, e.label, e.server,
                                             e.partition, standby);
  if (s != TL_OK) return VtlFail(root, s, a);
  printf("%s is now %s member of HA group %s.\n", e.text,
         standby ? "a standby" : "an active", e.label);
  return kExitOk;
}

static int CmdAddMember(tl_client_root *root, const struct VtlArgs *a) {
  return AddMember(root, a, 0);
}

static int CmdAddStandby(tl_client_root *root, const struct VtlArgs *a) {
  return AddMember(root, a, 1);
}

static int CmdRemoveMember(tl_client_root *root, const struct VtlArgs *a) {
  struct MemberEdit e;
  int rc = ParseMemberEdit(a, &e);
  if (rc != kExitOk) return rc;
  tl_status s =
      tl_client_root_ha_remove_member(root, e.label, e.server, e.partition);
  if (s != TL_OK) return VtlFail(root, s, a);
  printf("%s removed from HA group %s.\n", e.text, e.label);
  return kExitOk;
}

static int CmdDeleteGroup(tl_client_root *root, const struct VtlArgs *a) {
  int rc = kExitOk;
  const char *label = GroupName(a, &rc);
  if (label == NULL) return rc;
  tl_status s = tl_client_root_ha_delete_group(root, label);
  if (s != TL_OK) return VtlFail(root, s, a);
  printf("HA group %s deleted.\n", label);
  return kExitOk;
}

static int CmdHaOnly(tl_client_root *root, const struct VtlArgs *a) {
  if (a->enable + a->disable + a->show != 1) {
    return VtlHagroupUsage(
        "hagroup haonly needs one of -enable, -disable "
        "or -show");
  }
  if (!a->show) {
    tl_status s = tl_client_root_ha_set_ha_only(root, a->enable);
    if (s != TL_OK) return VtlFail(root, s, a);
  }
  tl_ha_group_list *list = NULL;
  tl_status s = tl_client_root_ha_list_groups(root, &list);
  if (s != TL_OK) return VtlFail(root, s, a);
  int32_t ha_only = 0, interval = 0, attempts = 0;
  tl_ha_group_list_options(list, &ha_only, &interval, &attempts);
  tl_ha_group_list_free(list);
  printf("HA only: %s\n", ha_only ? "enabled (applications see only the "
                                    "groups' virtual slots)"
                                  : "disabled");
  return kExitOk;
}

static int CmdRecovery(tl_client_root *root, const struct VtlArgs *a) {
  long interval = 0, attempts = 0;
  if (a->interval == NULL && a->attempts == NULL) {
    return VtlHagroupUsage("hagroup recovery needs -interval S or -attempts N");
  }
  if (a->interval != NULL && !VtlParseLong(a->interval, 1, 86400, &interval)) {
    fprintf(stderr, "vtl: error: -interval %s: give 1 to 86400 seconds\n",
            a->interval);
    return kExitBadInput;
  }
  if (a->attempts != NULL &&
      !VtlParseLong(a->attempts, -1, 1000000, &attempts)) {
    fprintf(stderr,
            "vtl: error: -attempts %s: give -1 (for ever), 0 (never) or a "
            "count up to 1000000\n",
            a->attempts);
    return kExitBadInput;
  }
  tl_status s = TL_OK;
  if (a->interval != NULL) {
    s = tl_client_root_ha_set_reconnect_interval(root, (int32_t)interval);
  }
  if (s == TL_OK && a->attempts != NULL) {
    s = tl_client_root_ha_set_reconnect_attempts(root, (int32_t)attempts);
  }
  if (s != TL_OK) return VtlFail(root, s, a);
  tl_ha_group_list *list = NULL;
  s = tl_client_root_ha_list_groups(root, &list);
  if (s != TL_OK) return VtlFail(root, s, a);
  int32_t ha_only = 0, seconds = 0, probes = 0;
  tl_ha_group_list_options(list, &ha_only, &seconds, &probes);
  tl_ha_group_list_free(list);
  printf("AutoReconnectInterval: %d s   reconnAtt: %d%s\n", (int)seconds,
         (int)probes, probes < 0 ? " (for ever)" : "");
  return kExitOk;
}

static void PrintGroupsJson(const tl_ha_group_list *list) {
  int32_t ha_only = 0, interval = 0, attempts = 0;
  tl_ha_group_list_options(list, &ha_only, &interval, &attempts);
  printf(
      "{\"ha_only\":%s,\"auto_reconnect_interval_s\":%d,"
      "\"reconnect_attempts\":%d,\"groups\":[",
      ha_only ? "true" : "false", (int)interval, (int)attempts);
  for (size_t i = 0; i < tl_ha_group_list_count(list); ++i) {
    const char *label = "", *serial = "";
    size_t n = 0;
    tl_ha_group_list_label(list, i, &label);
    tl_ha_group_list_serial(list, i, &serial);
    tl_ha_group_list_member_count(list, i, &n);
    printf("%s{", i ? "," : "");
    VtlJsonField(1, "label");
    VtlJsonString(label);
    VtlJsonField(0, "serial");
    VtlJsonString(serial);
    VtlJsonField(0, "members");
    printf("[");
    for (size_t m = 0; m < n; ++m) {
      const char *server = "", *partition = "", *member_serial = "";
      int32_t standby = 0;
      tl_ha_group_list_member(list, i, m, &server, &partition, &member_serial,
                              &standby);
      printf("%s{", m ? "," : "");
      VtlJsonField(1, "server");
      VtlJsonString(server);
      VtlJsonField(0, "partition");
      VtlJsonString(partition);
      VtlJsonField(0, "serial");
      VtlJsonString(member_serial);
      VtlJsonField(0, "standby");
      printf("%s}", standby ? "true" : "false");
    }
    printf("]}");
  }
  printf("]}\n");
}

static void PrintGroups(const tl_ha_group_list *list) {
  int32_t ha_only = 0, interval = 0, attempts = 0;
  tl_ha_group_list_options(list, &ha_only, &interval, &attempts);
  printf("HA only: %s   AutoReconnectInterval: %d s   reconnAtt: %d%s\n",
         ha_only ? "enabled" : "disabled", (int)interval, (int)attempts,
         attempts < 0 ? " (for ever)" : "");
  size_t count = tl_ha_group_list_count(list);
  if (count == 0) {
    printf(
        "No HA groups. Run vtl hagroup createGroup -label NAME -server S "
        "-partition P.\n");
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    const char *label = "", *serial = "";
    size_t n = 0;
    tl_ha_group_list_label(list, i, &label);
    tl_ha_group_list_serial(list, i, &serial);
    tl_ha_group_list_member_count(list, i, &n);
    printf("\nHA group %s   virtual slot serial %s\n", label, serial);
    for (size_t m = 0; m < n; ++m) {
      const char *server = "", *partition = "", *member_serial = "";
      int32_t standby = 0;
      tl_ha_group_list_member(list, i, m, &server, &partition, &member_serial,
                              &standby);
      if (member_serial[0] != '\0') {
        printf("  %-8s serial %s\n", standby ? "standby" : "active",
               member_serial);
      } else {
        printf("  %-8s %s/%s\n", standby ? "standby" : "active", server,
               partition);
      }
    }
  }
}

static int CmdListGroups(tl_client_root *root, const struct VtlArgs *a) {
  tl_ha_group_list *list = NULL;
  tl_status s = tl_client_root_ha_list_groups(root, &list);
  if (s != TL_OK) return VtlFail(root, s, a);
  if (a->json) {
    PrintGroupsJson(list);
  } else {
    PrintGroups(list);
  }
  tl_ha_group_list_free(list);
  return kExitOk;
}

/* MemberOutcome checks one member against the link results: 1 when its
 * partition is listed (where: "partition P on S, serial N"), 0 otherwise
 * (why). */
static int MemberOutcome(const tl_verify_results *results, const char *server,
                         const char *partition, const char *serial, char *text,
                         size_t len) {
  int server_seen = 0, server_up = 0;
  char listed[256] = "";
  for (size_t i = 0; i < tl_verify_results_count(results); ++i) {
    tl_status outcome = TL_OK;
    uint16_t port = 0;
    size_t num_slots = 0;
    tl_verify_results_get(results, i, &outcome, &port, &num_slots);
    const char *name = tl_verify_results_server(results, i);
    const int this_server = serial[0] == '\0' && strcasecmp(name, server) == 0;
    if (this_server) server_seen = 1;
    if (outcome != TL_OK || (serial[0] == '\0' && !this_server)) continue;
    if (this_server) server_up = 1;
    for (size_t j = 0; j < num_slots; ++j) {
      const char *p = tl_verify_results_slot_partition(results, i, j);
      const char *sn = tl_verify_results_slot_serial(results, i, j);
      if (serial[0] != '\0' ? strcmp(sn, serial) == 0
                            : strcmp(p, partition) == 0) {
        snprintf(text, len, "partition %s on %s, serial %s", p, name, sn);
        return 1;
      }
      if (this_server && strlen(listed) + strlen(p) + 3 < sizeof(listed)) {
        if (listed[0] != '\0') strcat(listed, ", ");
        strcat(listed, p);
      }
    }
  }
  if (serial[0] != '\0') {
    snprintf(text, len,
             "no server that answered lists a partition with serial %s",
             serial);
  } else if (!server_seen) {
    snprintf(text, len, "server %s is not among the configured links", server);
  } else if (!server_up) {
    snprintf(text, len, "cannot check: the link to %s failed (above)", server);
  } else {
    snprintf(text, len,
             "%s does not list partition %s to this client (it lists: %s)",
             server, partition, listed[0] ? listed : "none");
  }
  return 0;
}

size_t VtlVerifyHaMembers(tl_client_root *root,
                          const tl_verify_results *results, int json) {
  tl_ha_group_list *list = NULL;
  if (tl_client_root_ha_list_groups(root, &list) != TL_OK) {
    /* The local checks above already reported a config that does not load. */
    if (json) printf(",\"ha_members\":[]");
    return 0;
  }
  size_t failed = 0, shown = 0;
  if (json) printf(",\"ha_members\":[");
  for (size_t i = 0; i < tl_ha_group_list_count(list); ++i) {
    const char *label = "";
    size_t n = 0;
    tl_ha_group_list_label(list, i, &label);
    tl_ha_group_list_member_count(list, i, &n);
    for (size_t m = 0; m < n; ++m) {
      const char *server = "", *partition = "", *serial = "";
      int32_t standby = 0;
      tl_ha_group_list_member(list, i, m, &server, &partition, &serial,
                              &standby);
      char text[512], member[300];
      const int ok =
          MemberOutcome(results, server, partition, serial, text, sizeof(text));
      if (serial[0] != '\0') {
        snprintf(member, sizeof(member), "serial %s", serial);
      } else {
        snprintf(member, sizeof(member), "%s/%s", server, partition);
      }
      failed += ok ? 0 : 1;
      if (json) {
        printf("%s{", shown++ ? "," : "");
        VtlJsonField(1, "group");
        VtlJsonString(label);
        VtlJsonField(0, "member");
        VtlJsonString(member);
        VtlJsonField(0, "standby");
        printf("%s", standby ? "true" : "false");
        VtlJsonField(0, "ok");
        printf("%s", ok ? "true" : "false");
        VtlJsonField(0, "message");
        VtlJsonString(text);
        printf("}");
        continue;
      }
      printf("%s HA group %s %smember %s: %s\n", ok ? "[ OK ]" : "[FAIL]",
             label, standby ? "standby " : "", member, text);
      if (!ok) VtlVerifyHaMemberHint(label, server, partition, serial);
    }
  }
  if (json) printf("]");
  tl_ha_group_list_free(list);
  return failed;
}

/* The subcommands; `show` (the groups' run-time state) is in
 * vtl_hagroup_show.c. */
static const struct HagroupCommand kHagroupCommands[] = {
    {"createGroup", CmdCreateGroup}, {"addMember", CmdAddMember},
    {"addStandby", CmdAddStandby},   {"removeMember", CmdRemoveMember},
    {"deleteGroup", CmdDeleteGroup}, {"haonly", CmdHaOnly},
    {"recovery", CmdRecovery},       {"listGroups", CmdListGroups},
    {"show", VtlHagroupShow},
};

static const struct HagroupCommand *Find(const char *word) {
  for (size_t k = 0; k < sizeof(kHagroupCommands) / sizeof(kHagroupCommands[0]);
       ++k) {
    if (word != NULL && CliWordIs(word, kHagroupCommands[k].name)) {
      return &kHagroupCommands[k];
    }
  }
  return NULL;
}

const char *VtlHagroupSubcommand(const char *word) {
  const struct HagroupCommand *c = Find(word);
  return c != NULL ? c->name : NULL;
}

int VtlCmdHagroup(tl_client_root *root, const struct VtlArgs *a) {
  const struct HagroupCommand *c = Find(a->subcommand);
  if (c == NULL) return VtlHagroupUsage("hagroup needs a subcommand");
  return c->run(root, a);
}
