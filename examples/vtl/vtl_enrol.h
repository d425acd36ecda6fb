/* vtl's enrolment commands: the client identity and the trusted servers in
 * the client root (createCert, addServer, deleteServer, listServers, show,
 * importConfig). None of them opens a link, so they live apart from
 * vtl_link.h. */
#ifndef TRUSTLINK_EXAMPLES_VTL_VTL_ENROL_H_
#define TRUSTLINK_EXAMPLES_VTL_VTL_ENROL_H_

#include "examples/vtl/vtl_common.h"
#include "trustlink/trustlink.h"

/* Each VtlCmd* runs one command on an open client root (borrowed), prints its
 * outcome and returns vtl's exit code. */
int VtlCmdCreateCert(tl_client_root *root, const struct VtlArgs *a);
int VtlCmdAddServer(tl_client_root *root, const struct VtlArgs *a);
int VtlCmdDeleteServer(tl_client_root *root, const struct VtlArgs *a);
int VtlCmdListServers(tl_client_root *root, const struct VtlArgs *a);
int VtlCmdShow(tl_client_root *root, const struct VtlArgs *a);
int VtlCmdImportConfig(tl_client_root *root, const struct VtlArgs *a);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_ENROL_H_ */
