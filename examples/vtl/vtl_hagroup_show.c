/* vtl hagroup show [-group NAME]: the HA groups as the library runs them
 * (trustlink/ha.h): each group's virtual slot and state, and per member its
 * server, partition, role, state, calls in flight and last failure. The
 * groups come from trustlink.conf (vtl hagroup createGroup); the states are
 * those of a client that has just opened its links, so in-flight counts are
 * an embedder's figure, shown here for its sake. */
#include "examples/vtl/vtl_hagroup_show.h"

#include <stdio.h>
#include <string.h>

#include "examples/vtl/vtl_link.h"
#include "trustlink/trustlink.h"

static const char *GroupStateText(int32_t state) {
  return state == TL_HA_GROUP_UP ? "up" : "down";
}

static const char *MemberStateText(int32_t state) {
  return state == TL_HA_MEMBER_UP     ? "up"
         : state == TL_HA_MEMBER_DOWN ? "down"
                                      : "given up";
}

/* ShowGroup prints group `g`; returns 1 when it is up. */
static int ShowGroup(tl_client *client, size_t g, const char *label) {
  int32_t slot = -1, state = TL_HA_GROUP_DOWN;
  size_t members = 0;
  if (tl_client_ha_group_state(client, g, &slot, &state, &members) != TL_OK) {
    return 0;
  }
  printf("HA group %s: slot %d, %s, %zu member%s\n", label, slot,
         GroupStateText(state), members, members == 1 ? "" : "s");
  printf("  %-16s %-16s %-8s %-9s %-9s %s\n", "Server", "Partition", "Role",
         "State", "In flight", "Last failure");
  for (size_t m = 0; m < members; ++m) {
    char server[256] = "", partition[256] = "", err[TL_ERROR_MESSAGE_MAX] = "";
    size_t len = 0;
    int32_t mstate = 0, standby = 0;
    uint64_t in_flight = 0;
    if (tl_client_ha_member_state(client, g, m, &mstate, &standby,
                                  &in_flight) != TL_OK) {
      continue;
    }
    tl_client_ha_member_server(client, g, m, server, sizeof(server), &len);
    tl_client_ha_member_partition(client, g, m, partition, sizeof(partition),
                                  &len);
    tl_client_ha_member_error(client, g, m, err, sizeof(err), &len);
    printf("  %-16s %-16s %-8s %-9s %-9llu %s\n", server, partition,
           standby ? "standby" : "active", MemberStateText(mstate),
           (unsigned long long)in_flight,
           mstate == TL_HA_MEMBER_UP && err[0] != '\0' ? "(earlier) " : "");
    if (err[0] != '\0') printf("      %s\n", err);
  }
  return state == TL_HA_GROUP_UP;
}

int VtlHagroupShow(tl_client_root *root, const struct VtlArgs *a) {
  const char *only = a->group != NULL ? a->group : a->label;
  tl_client *client = VtlOpenClient(root);
  if (client == NULL) return kExitBadInput;
  size_t n = 0;
  tl_client_ha_group_count(client, &n);
  size_t shown = 0, down = 0;
  for (size_t g = 0; g < n; ++g) {
    char label[256] = "";
    size_t len = 0;
    if (tl_client_ha_group_label(client, g, label, sizeof(label), &len) !=
        TL_OK) {
      continue;
    }
    if (only != NULL && strcmp(only, label) != 0) continue;
    if (shown++ != 0) printf("\n");
    down += !ShowGroup(client, g, label);
  }
  tl_client_close(client);
  if (shown == 0) {
    if (only != NULL) {
      fprintf(stderr,
              "vtl: error: no HA group is labelled '%s'; vtl hagroup "
              "listGroups lists them\n",
              only);
    } else {
      fprintf(stderr,
              "vtl: error: no HA group is configured; make one with vtl "
              "hagroup createGroup\n");
    }
    return kExitNotFound;
  }
  return down == 0 ? kExitOk : kExitSystem;
}
