/* trustlink.h: the C ABI of trustlink, the library for Network Trust Links
 * between the hosts that use a network HSM and the HSM appliance.
 *
 * Rules that hold for every function (see README and docs/c-api.md):
 * - Every fallible call returns tl_status; TL_OK is 0. The failure's message
 * is the calling thread's: read it with tl_last_error right after the call.
 * - Handles are opaque. tl_T_new(..., tl_T **out) makes one; tl_T_free(tl_T *)
 * frees it and accepts NULL.
 * - Parameters go handle first, then inputs, then outputs. Out-params are
 * written only when the call returns TL_OK.
 * - Pointer parameters are borrowed for the duration of the call unless the
 * function's comment says otherwise. Strings are NUL-terminated UTF-8.
 * - No function throws or longjmps; no callback is called while the library
 * holds a lock.
 * docs/c-api.md gives lifecycle, errors, threads, fork, ownership, hooks and
 * the one string-getter convention of new functions. */
#ifndef TRUSTLINK_TRUSTLINK_H_
#define TRUSTLINK_TRUSTLINK_H_

#include "trustlink/base.h"
#include "trustlink/client.h"
#include "trustlink/client_config.h"
#include "trustlink/client_ha_config.h"
#include "trustlink/file.h"
#include "trustlink/ha.h"
#include "trustlink/htl.h"
#include "trustlink/identity.h"
#include "trustlink/log.h"
#include "trustlink/pkcs11.h"
#include "trustlink/pkcs11_ha.h"
#include "trustlink/registry.h"
#include "trustlink/server.h"
#include "trustlink/stats.h"
#include "trustlink/trust_store.h"

#endif /* TRUSTLINK_TRUSTLINK_H_ */
