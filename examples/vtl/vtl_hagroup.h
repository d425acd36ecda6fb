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

/* VtlCmdHagroup runs a->subcommand on the opened root. */
int VtlCmdHagroup(tl_client_root *root, const struct VtlArgs *a);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_HAGROUP_H_ */
