/* vtl p11 for HA groups (docs/ha.md, "PKCS#11"), on the C ABI only:
 * `p11 setup` group options and the `p11 habridge` command. */
#ifndef TRUSTLINK_EXAMPLES_VTL_VTL_P11_HA_H_
#define TRUSTLINK_EXAMPLES_VTL_VTL_P11_HA_H_

#include "trustlink/trustlink.h"

#define VTL_P11_HA_MAX_MEMBERS 16

/* The group options of `p11 setup` and `p11 habridge`:
 *   -group LABEL [-serial S] -member SERVER/PARTITION ... [-haonly] */
struct VtlP11HaArgs {
  const char *group;
  const char *serial;
  const char *members[VTL_P11_HA_MAX_MEMBERS];
  int num_members;
  int ha_only;
  const char *retry_ms;
};

/* VtlP11HaTakeOption consumes argv[*i] if it is a group option: returns 1
 * (taken), 0 (not a group option) or -1 (a usage error, already printed). */
int VtlP11HaTakeOption(int argc, char **argv, int *i, struct VtlP11HaArgs *a);

/* VtlP11HaSetup adds the habridge command, the groups of the client root's
 * trustlink.conf and the group given with -group/-member, and HAOnly, to
 * setup. Returns TL_OK or the failure, whose message is setup's last error. */
tl_status VtlP11HaSetup(tl_p11_setup *setup, const char *bridge,
                        const char *root_abs, const struct VtlP11HaArgs *a);

/* VtlP11HaBridge runs `p11 habridge`: serves the group on stdin and stdout.
 * Returns vtl's exit code. */
int VtlP11HaBridge(const char *root_path, const struct VtlP11HaArgs *a);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_P11_HA_H_ */
