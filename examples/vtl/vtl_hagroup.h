/* vtl hagroup: HA groups in trustlink.conf (docs/ha.md, "Configuration"). */
#ifndef TRUSTLINK_EXAMPLES_VTL_VTL_HAGROUP_H_
#define TRUSTLINK_EXAMPLES_VTL_VTL_HAGROUP_H_

#include "examples/vtl/vtl_common.h"

/* VtlHagroupSubcommand returns the subcommand `word` names (matched without
 * regard to letter case), spelt as the usage spells it, or NULL. */
const char *VtlHagroupSubcommand(const char *word);

/* VtlHagroupUsage prints problem (if not NULL) and hagroup's usage to stderr
 * and returns kExitUsage. */
int VtlHagroupUsage(const char *problem);

/* VtlHagroupHelp prints hagroup's usage to stdout (vtl hagroup --help). */
void VtlHagroupHelp(void);

/* VtlVerifyHaMembers prints, for vtl verify with links, whether each HA
 * group member's partition is listed by its server in `results` (a member
 * given by serial: by any server), with a hint under each failure; with json,
 * a ",\"ha_members\":[...]" field instead. Returns the number of members
 * that failed (0 when there are no groups). */
size_t VtlVerifyHaMembers(tl_client_root *root,
                          const tl_verify_results *results, int json);

/* VtlCmdHagroup runs a->subcommand on the opened root. */
int VtlCmdHagroup(tl_client_root *root, const struct VtlArgs *a);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_HAGROUP_H_ */
