/* trustlink/pkcs11_ha.h: an HA group as one PKCS#11 slot (docs/ha.md,
 * "PKCS#11").
 *
 * Include <trustlink/trustlink.h> rather than this file.
 *
 *   - tl_p11_setup (trustlink/pkcs11.h) also writes one module config per HA
 * group, `remote: |<habridge command> -group G -member S/P ...`, and with
 * HAOnly hides the per-server modules from every program but the bridge;
 *   - tl_p11_ha serves a group's virtual module on the habridge command's stdin
 * and stdout: one slot over the member partitions, whose per-server modules
 * it loads through p11-kit. Single-part operations fail over between members;
 * writes are copied to every member up before they return.
 */
#ifndef TRUSTLINK_PKCS11_HA_H_
#define TRUSTLINK_PKCS11_HA_H_

#include <stddef.h>
#include <stdint.h>

#include "trustlink/base.h"
#include "trustlink/client.h"
#include "trustlink/pkcs11.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tl_p11_setup_add_habridge_arg appends one word of the command that serves a
 * group, before "-group G -member S/P ...", for example "/usr/bin/vtl",
 * "--root", R, "p11", "habridge". Same rules as tl_p11_setup_add_bridge_arg.
 * arg is copied. */
TL_EXPORT tl_status tl_p11_setup_add_habridge_arg(tl_p11_setup *setup,
                                                  const char *arg) TL_NOEXCEPT;

/* tl_p11_setup_add_group adds a module config for the HA group label
 * (trustlink-group-<label>.module). serial may be NULL or "" (one is derived
 * from the label). Members follow with tl_p11_setup_add_group_member, in order
 * of preference. Strings are copied; names are checked by tl_p11_setup_write.
 */
TL_EXPORT tl_status tl_p11_setup_add_group(tl_p11_setup *setup,
                                           const char *label,
                                           const char *serial) TL_NOEXCEPT;

/* tl_p11_setup_add_group_member adds partition on server to the group label
 * added before. TL_E_NOT_FOUND if no such group was added. */
TL_EXPORT tl_status tl_p11_setup_add_group_member(
    tl_p11_setup *setup, const char *label, const char *server,
    const char *partition) TL_NOEXCEPT;

/* tl_p11_setup_set_ha_only: with ha_only 1, every per-server module config
 * gets "enable-in: <bridge program>": only the bridges of groups load them,
 * and applications see the groups' slots only. 0 (the default) shows both. */
TL_EXPORT tl_status tl_p11_setup_set_ha_only(tl_p11_setup *setup,
                                             int32_t ha_only) TL_NOEXCEPT;

/* tl_p11_setup_add_groups_from_settings adds every HA group of settings (from
 * trustlink.conf, tl_client_settings_load_root) with its members, and its
 * HAOnly setting. */
TL_EXPORT tl_status tl_p11_setup_add_groups_from_settings(
    tl_p11_setup *setup, const tl_client_settings *settings) TL_NOEXCEPT;

/* tl_p11_ha serves one HA group's PKCS#11 module. Thread safety: use from one
 * thread at a time; one tl_p11_ha_serve per process at a time. */
typedef struct tl_p11_ha tl_p11_ha;

/* tl_p11_ha_new makes an empty group. Fails only with TL_E_NO_MEMORY or a NULL
 * out. */
TL_EXPORT tl_status tl_p11_ha_new(tl_p11_ha **out) TL_NOEXCEPT;

/* tl_p11_ha_free frees ha; not while tl_p11_ha_serve runs. NULL is allowed. */
TL_EXPORT void tl_p11_ha_free(tl_p11_ha *ha) TL_NOEXCEPT;

/* tl_p11_ha_set_group sets the group's label (the slot's token label) and
 * serial (NULL or "": derived from the label). Strings are copied. */
TL_EXPORT tl_status tl_p11_ha_set_group(tl_p11_ha *ha, const char *label,
                                        const char *serial) TL_NOEXCEPT;

/* tl_p11_ha_add_member adds the member partition on server, after those
 * added before (the first member up is the primary). Strings are copied. */
TL_EXPORT tl_status tl_p11_ha_add_member(tl_p11_ha *ha, const char *server,
                                         const char *partition) TL_NOEXCEPT;

/* tl_p11_ha_load_group sets the group label, its serial, members (active ones,
 * then standby ones) and retry interval (AutoReconnectInterval) from settings
 * (trustlink.conf); label is compared without regard to case. TL_E_NOT_FOUND,
 * naming the groups there, if settings has no group label;
 * TL_E_CONFIG_INVALID for a member given by serial only. */
TL_EXPORT tl_status tl_p11_ha_load_group(tl_p11_ha *ha,
                                         const tl_client_settings *settings,
                                         const char *label) TL_NOEXCEPT;

/* tl_p11_ha_set_retry_interval_ms sets the first wait before a failed member
 * is tried again by the group's probe thread (default 1000; it doubles up to
 * 8 times that). */
TL_EXPORT tl_status tl_p11_ha_set_retry_interval_ms(tl_p11_ha *ha,
                                                    int64_t ms) TL_NOEXCEPT;

/* tl_p11_ha_set_log_fd makes the group write one line per event (a member
 * down or up, a lost multi-part operation, a refused write) to fd (2 for
 * stderr, which p11-kit passes to the application; -1, the default, none). */
TL_EXPORT tl_status tl_p11_ha_set_log_fd(tl_p11_ha *ha, int fd) TL_NOEXCEPT;

/* tl_p11_ha_serve loads the members' modules (trustlink-<server>, written by
 * tl_p11_setup) through libp11-kit and serves the group's module with p11-kit's
 * RPC on in_fd and out_fd until in_fd ends. It blocks. TL_E_NOT_FOUND if a
 * member has no module config, TL_E_FAILED_PRECONDITION without libp11-kit. */
TL_EXPORT tl_status tl_p11_ha_serve(tl_p11_ha *ha, int in_fd,
                                    int out_fd) TL_NOEXCEPT;

TL_EXPORT tl_status tl_p11_ha_last_error(const tl_p11_ha *ha, char *buf,
                                         size_t buf_len,
                                         size_t *out_len) TL_NOEXCEPT;

/* ---- Appliance side: the cloning domain ---------------------------------- */

/* tl_p11_tokens_join_cloning_domain gives partition's token (made with
 * tl_p11_tokens_create) the group's cloning-domain key: an AES-256 key with
 * CKA_TRUSTED, made by the partition SO (so_pin), that alone can wrap keys
 * with CKA_WRAP_WITH_TRUSTED, so that a group's bridge can copy keys between
 * members. The key is read from key_file (64 hex digits, 0600); if key_file
 * does not exist it is made with a new random key (*out_created 1): copy it
 * to the group's other appliances. It loads SoftHSM2 in this process: call it
 * from a single-threaded admin tool. TL_E_KEY_PERMISSIONS if others can read
 * key_file, TL_E_ALREADY_EXISTS if the token has a cloning-domain key. */
TL_EXPORT tl_status tl_p11_tokens_join_cloning_domain(
    tl_p11_tokens *tokens, const char *partition, const char *so_pin,
    const char *key_file, int32_t *out_created) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_PKCS11_HA_H_ */
