/* vtl p11 setup's probe: does a slot's partition serve PKCS#11? */
#ifndef TRUSTLINK_EXAMPLES_VTL_VTL_P11_PROBE_H_
#define TRUSTLINK_EXAMPLES_VTL_VTL_P11_PROBE_H_

#include <stdint.h>

#include "trustlink/trustlink.h"

/* kVtlP11ProbeTimeoutMs is how long vtl p11 setup waits for a partition's
 * answer before it calls the partition silent. */
enum { kVtlP11ProbeTimeoutMs = 10000 };

/* VtlP11ProbeToken opens the slot's "pkcs11" stream and sends the version byte
 * that starts p11-kit's RPC transport. p11-kit remote answers with its own; a
 * partition without a token has its stream closed with TL_E_NOT_FOUND instead.
 * Returns 1 (serves PKCS#11), 0 (no token) or -1 (no answer within timeout_ms,
 * another close reason, or another failure). fds is a pipe of this probe's
 * own, borrowed: a late stream callback may still write to it, so the caller
 * closes it only after tl_client_close. */
int VtlP11ProbeToken(tl_client *client, int32_t slot, const int fds[2],
                     int timeout_ms);

#endif /* TRUSTLINK_EXAMPLES_VTL_VTL_P11_PROBE_H_ */
