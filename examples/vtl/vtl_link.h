/* vtl's link commands: they open links to the servers in the client root
 * (verify, listSlots, call), unlike the enrolment commands in vtl_enrol.h,
 * which only touch files. */
#ifndef TRUSTLINK_EXAMPLES_VTL_VTL_LINK_H_
#define TRUSTLINK_EXAMPLES_VTL_VTL_LINK_H_

#include "examples/vtl/vtl_common.h"
#include "trustlink/trustlink.h"

/* VtlOpenClient opens the links of the servers in `root` (borrowed) and
 * waits for the first attempt to every server; NULL after printing why. */
tl_client *VtlOpenClient(tl_client_root *root);

/* Each VtlCmd* runs one command on an open client root (borrowed), prints its
 * outcome and returns vtl's exit code. */
int VtlCmdVerify(tl_client_root *root, const struct VtlArgs *a);
int VtlCmdListSlots(tl_client_root *root, const struct VtlArgs *a);
int VtlCmdCall(tl_client_root *root, const struct VtlArgs *a);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_LINK_H_ */
