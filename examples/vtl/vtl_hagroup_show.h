/* vtl hagroup show: the HA groups' run-time state (docs/ha.md). */
#ifndef TRUSTLINK_EXAMPLES_VTL_VTL_HAGROUP_SHOW_H_
#define TRUSTLINK_EXAMPLES_VTL_VTL_HAGROUP_SHOW_H_

#include "examples/vtl/vtl_common.h"

/* VtlHagroupShow opens the links of `root` (borrowed) and prints every group,
 * or only a->group; returns kExitOk when every group shown is up, kExitSystem
 * when one is down, kExitNotFound when there is no such group. */
int VtlHagroupShow(tl_client_root *root, const struct VtlArgs *a);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_HAGROUP_SHOW_H_ */
