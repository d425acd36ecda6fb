/* vtl's command-line advice for a failure. The library's messages name fixes
 * in terms of its API (tl_client_root_add_server, TL_VERIFY_REPAIR), because
 * any program may be built on it; a vtl user needs the vtl command instead.
 * This file is the one place that maps a failure to that command. */
#ifndef TRUSTLINK_EXAMPLES_VTL_VTL_HINTS_H_
#define TRUSTLINK_EXAMPLES_VTL_VTL_HINTS_H_

#include "examples/vtl/vtl_common.h"

/* VtlHint prints "vtl: hint: ..." on stderr for a failure of command (as the
 * usage spells it, or NULL when not known) with status, using the names the
 * user gave in a (NULL: none). It prints nothing when the message alone says
 * all vtl could. */
void VtlHint(const char *command, const struct VtlArgs *a, tl_status status);

/* VtlServerHint prints "vtl: hint: ..." on stderr for a failure of the link
 * to server with status. */
void VtlServerHint(const char *server, tl_status status);

/* VtlVerifyHint prints, under a failing `vtl verify` check of object, the vtl
 * command that fixes it. It goes to stdout with the report it belongs to. */
void VtlVerifyHint(const char *object);

/* VtlVerifyServerHint prints, under a failing `vtl verify` line of server
 * (its trust or its link) with status, the vtl command that fixes it (stdout,
 * as VtlVerifyHint). */
void VtlVerifyServerHint(const char *server, tl_status status);

/* VtlVerifyHaMemberHint prints, under a failing `vtl verify` line of an HA
 * group member (server and partition, or serial when not ""), what fixes it
 * (stdout, as VtlVerifyHint). */
void VtlVerifyHaMemberHint(const char *group, const char *server,
                           const char *partition, const char *serial);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_HINTS_H_ */
