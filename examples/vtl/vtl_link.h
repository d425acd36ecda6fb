/* vtl's link commands: they open links to the servers in the client root
 * (verify, listSlots, call), unlike the enrolment commands in vtl_enrol.h,
 * which only touch files. */
#ifndef TRUSTLINK_EXAMPLES_VTL_VTL_LINK_H_
#define TRUSTLINK_EXAMPLES_VTL_VTL_LINK_H_

#include "examples/vtl/vtl_common.h"
#include "trustlink/trustlink.h"

/* Each VtlCmd* runs one command on an open client root (borrowed), prints its
 * outcome and returns vtl's exit code. */
int VtlCmdVerify(tl_client_root *root, const struct VtlArgs *a);
int VtlCmdListSlots(tl_client_root *root, const struct VtlArgs *a);
int VtlCmdCall(tl_client_root *root, const struct VtlArgs *a);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_LINK_H_ */
