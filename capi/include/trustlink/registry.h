/* trustlink/registry.h: the appliance side. The registry of clients, partitions
 * and NTLS/HTL settings under an appliance root, and the appliance's server
 * identity (server.pem). docs/appliance.md describes the files and the ntlsh
 * shell built on this.
 *
 * Include <trustlink/trustlink.h> rather than this file.
 *
 * Every change (register, delete, map, assign, settings, regenerate) is atomic,
 * durable and serialised between processes when the call returns. A process
 * holding a tl_registry learns of other processes' changes through
 * tl_registry_watch_fd and tl_registry_refresh.
 *
 * Thread safety: a tl_registry may be used from many threads at once. Info,
 * list and settings handles are plain values: use each from one thread at a
 * time, or only read it. Strings returned as `const char *` are borrowed from
 * the handle they came from and live until that handle is freed. */
#ifndef TRUSTLINK_REGISTRY_H_
#define TRUSTLINK_REGISTRY_H_

#include "trustlink/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tl_registry tl_registry;
typedef struct tl_client_registration tl_client_registration;
typedef struct tl_client_info tl_client_info;
typedef struct tl_client_list tl_client_list;
typedef struct tl_partition_info tl_partition_info;
typedef struct tl_partition_list tl_partition_list;
typedef struct tl_appliance_settings tl_appliance_settings;
typedef struct tl_server_identity tl_server_identity;

/* TL_APPLIANCE_ROOT_ENV names the environment variable that overrides the
 * default root. */
#define TL_APPLIANCE_ROOT_ENV "TRUSTLINK_APPLIANCE_ROOT"
/* TL_APPLIANCE_DEFAULT_ROOT is the root when the variable is unset. */
#define TL_APPLIANCE_DEFAULT_ROOT "/var/lib/trustlink/appliance"

/* tl_registry_open flags. */
#define TL_REGISTRY_OPEN_EXISTING 0
/* TL_REGISTRY_OPEN_CREATE makes the root (mode 0700) and its directories if
 * missing. */
#define TL_REGISTRY_OPEN_CREATE 1

/* Name kinds of a client. */
#define TL_NAME_HOSTNAME 0
#define TL_NAME_IPV4 1
#define TL_NAME_IPV6 2

/* tl_appliance_default_root copies the appliance root to use when none is
 * given: $TRUSTLINK_APPLIANCE_ROOT if set and not empty, else
 * TL_APPLIANCE_DEFAULT_ROOT, by the string-getter rule of base.h
 * (TL_E_BUFFER_TOO_SMALL with the size needed in *out_len if it does not
 * fit). */
TL_EXPORT tl_status tl_appliance_default_root(char *buf, size_t buf_len,
                                              size_t *out_len) TL_NOEXCEPT;

/* tl_registry_load opens the registry at `root` (NULL:
 * tl_appliance_default_root) with TL_REGISTRY_OPEN_* `flags` and loads it. On
 * TL_OK *out is a registry to free with tl_registry_free; on failure *out is
 * untouched and the message is in tl_last_error. A damaged registry fails with
 * TL_E_DATA_LOSS and a message naming the file and line. Since 1.1. */
TL_EXPORT tl_status tl_registry_load(const char *root, int32_t flags,
                                     tl_registry **out) TL_NOEXCEPT;

/* tl_registry_open: deprecated, use tl_registry_load. It breaks trustlink.h's
 * rule that out-params are written only on success: on failure *out is still
 * set to a handle holding the error message (read it with
 * tl_registry_last_error, then free it), unless the failure is TL_E_NO_MEMORY
 * or TL_E_INVALID_ARGUMENT for a NULL `out`. */
TL_EXPORT tl_status tl_registry_open(const char *root, int32_t flags,
                                     tl_registry **out) TL_NOEXCEPT;
TL_EXPORT void tl_registry_free(tl_registry *reg) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_last_error(const tl_registry *reg, char *buf,
                                           size_t buf_len,
                                           size_t *out_len) TL_NOEXCEPT;

/* tl_registry_root returns the root directory (borrowed from `reg`). */
TL_EXPORT const char *tl_registry_root(const tl_registry *reg) TL_NOEXCEPT;

/* tl_registry_generation writes the generation of the current view: it grows
 * with every committed change, from any process. */
TL_EXPORT tl_status tl_registry_generation(tl_registry *reg,
                                           uint64_t *out) TL_NOEXCEPT;

/* tl_registry_watch_fd writes a descriptor (owned by `reg`; do not close or
 * read it) that becomes readable when another process may have changed the
 * registry; add it to epoll or poll, and call tl_registry_refresh when it is
 * readable. -1 if the system has no inotify: then call tl_registry_refresh on a
 * timer. */
TL_EXPORT tl_status tl_registry_watch_fd(const tl_registry *reg,
                                         int32_t *out_fd) TL_NOEXCEPT;

/* tl_registry_refresh brings the view up to date; cheap when nothing changed,
 * and only the changed files are read otherwise. On failure the previous view
 * stays in place. */
TL_EXPORT tl_status tl_registry_refresh(tl_registry *reg) TL_NOEXCEPT;

/* --- Registering a client
 * --------------------------------------------------------------- */

/* tl_client_registration_new makes an empty registration (a builder). Set a
 * label, a hostname or an IP, and a certificate; the rest is optional. */
TL_EXPORT tl_status tl_client_registration_new(tl_client_registration **out)
    TL_NOEXCEPT;
TL_EXPORT void tl_client_registration_free(tl_client_registration *r)
    TL_NOEXCEPT;
TL_EXPORT tl_status
tl_client_registration_last_error(const tl_client_registration *r, char *buf,
                                  size_t buf_len, size_t *out_len) TL_NOEXCEPT;
/* Setters copy their string arguments. They fail only for NULL arguments. */
TL_EXPORT tl_status tl_client_registration_set_label(
    tl_client_registration *r, const char *label) TL_NOEXCEPT;
TL_EXPORT tl_status tl_client_registration_set_hostname(
    tl_client_registration *r, const char *hostname) TL_NOEXCEPT;
TL_EXPORT tl_status tl_client_registration_set_ip(tl_client_registration *r,
                                                  const char *ip) TL_NOEXCEPT;
TL_EXPORT tl_status tl_client_registration_set_certificate_pem(
    tl_client_registration *r, const char *pem) TL_NOEXCEPT;
TL_EXPORT tl_status tl_client_registration_set_require_htl(
    tl_client_registration *r, int32_t require_htl) TL_NOEXCEPT;
/* 0 means the appliance default (see
 * tl_appliance_settings_htl_default_ott_expiry). */
TL_EXPORT tl_status tl_client_registration_set_ott_expiry(
    tl_client_registration *r, int64_t seconds) TL_NOEXCEPT;
/* force: register even when the certificate's CN/SAN does not match the name.
 */
TL_EXPORT tl_status tl_client_registration_set_force(tl_client_registration *r,
                                                     int32_t force) TL_NOEXCEPT;

/* tl_registry_register_client registers a client and writes the stored record,
 * with any warnings, to *out (free with tl_client_info_free; `out` may be
 * NULL). Errors: TL_E_NAME_INVALID (label, hostname or IP), TL_E_CERT_INVALID,
 * TL_E_CERT_NAME_MISMATCH, TL_E_ALREADY_EXISTS (label, certificate or IP taken;
 * the message names the client). */
TL_EXPORT tl_status
tl_registry_register_client(tl_registry *reg, const tl_client_registration *r,
                            tl_client_info **out) TL_NOEXCEPT;

/* --- Changing and reading clients. Each writes the resulting record to *out
 * when `out` is not NULL. An idempotent no-op (assigning an assigned partition)
 * succeeds, with tl_client_info_changed 0 and a warning saying so.
 * ------------------------------------- */
TL_EXPORT tl_status tl_registry_delete_client(tl_registry *reg,
                                              const char *label) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_replace_certificate(
    tl_registry *reg, const char *label, const char *pem, int32_t force,
    tl_client_info **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_set_require_htl(
    tl_registry *reg, const char *label, int32_t require_htl,
    int64_t ott_expiry, tl_client_info **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_map_host_ip(tl_registry *reg, const char *label,
                                            const char *ip,
                                            tl_client_info **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_unmap_host_ip(tl_registry *reg,
                                              const char *label, const char *ip,
                                              tl_client_info **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_assign_partition(
    tl_registry *reg, const char *label, const char *partition,
    tl_client_info **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_revoke_partition(
    tl_registry *reg, const char *label, const char *partition,
    tl_client_info **out) TL_NOEXCEPT;

/* tl_registry_get_client copies the client with `label` (TL_E_NOT_FOUND if
 * none). */
TL_EXPORT tl_status tl_registry_get_client(tl_registry *reg, const char *label,
                                           tl_client_info **out) TL_NOEXCEPT;
/* tl_registry_find_client_by_fingerprint copies the client whose certificate
 * has this SHA-256 fingerprint (hex, colons optional, either case).
 * TL_E_NOT_REGISTERED if none. */
TL_EXPORT tl_status tl_registry_find_client_by_fingerprint(
    tl_registry *reg, const char *fingerprint,
    tl_client_info **out) TL_NOEXCEPT;
/* tl_registry_list_clients copies every client, sorted by label. */
TL_EXPORT tl_status tl_registry_list_clients(tl_registry *reg,
                                             tl_client_list **out) TL_NOEXCEPT;

TL_EXPORT void tl_client_list_free(tl_client_list *list) TL_NOEXCEPT;
TL_EXPORT size_t tl_client_list_count(const tl_client_list *list) TL_NOEXCEPT;
/* tl_client_list_get returns entry i (borrowed from the list), or NULL if out
 * of range. */
TL_EXPORT const tl_client_info *tl_client_list_get(const tl_client_list *list,
                                                   size_t i) TL_NOEXCEPT;

/* Client info getters. Strings are borrowed from `info`; NULL `info` gives "" /
 * 0. */
TL_EXPORT void tl_client_info_free(tl_client_info *info) TL_NOEXCEPT;
TL_EXPORT const char *tl_client_info_label(const tl_client_info *info)
    TL_NOEXCEPT;
/* The canonical hostname or IP. */
TL_EXPORT const char *tl_client_info_name(const tl_client_info *info)
    TL_NOEXCEPT;
/* TL_NAME_HOSTNAME, TL_NAME_IPV4 or TL_NAME_IPV6. */
TL_EXPORT int32_t tl_client_info_name_kind(const tl_client_info *info)
    TL_NOEXCEPT;
/* "AB:CD:..." (SHA-256 of the certificate's DER). */
TL_EXPORT const char *tl_client_info_fingerprint(const tl_client_info *info)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_client_info_certificate_pem(const tl_client_info *info)
    TL_NOEXCEPT;
TL_EXPORT int32_t tl_client_info_require_htl(const tl_client_info *info)
    TL_NOEXCEPT;
/* The client's own OTT expiry; 0 when it uses the appliance default. */
TL_EXPORT int64_t tl_client_info_ott_expiry(const tl_client_info *info)
    TL_NOEXCEPT;
/* The expiry that applies: the client's own, or the default at the time of the
 * copy. */
TL_EXPORT int64_t
tl_client_info_effective_ott_expiry(const tl_client_info *info) TL_NOEXCEPT;
TL_EXPORT int64_t tl_client_info_registered_unix(const tl_client_info *info)
    TL_NOEXCEPT;
TL_EXPORT int64_t tl_client_info_changed_unix(const tl_client_info *info)
    TL_NOEXCEPT;
TL_EXPORT size_t tl_client_info_num_host_ips(const tl_client_info *info)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_client_info_host_ip(const tl_client_info *info,
                                             size_t i) TL_NOEXCEPT;
TL_EXPORT size_t tl_client_info_num_partitions(const tl_client_info *info)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_client_info_partition(const tl_client_info *info,
                                               size_t i) TL_NOEXCEPT;
/* Warnings of the change that produced this info (empty for plain reads). */
TL_EXPORT size_t tl_client_info_num_warnings(const tl_client_info *info)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_client_info_warning(const tl_client_info *info,
                                             size_t i) TL_NOEXCEPT;
/* 1 if the change that produced this info changed anything, else 0. */
TL_EXPORT int32_t tl_client_info_changed(const tl_client_info *info)
    TL_NOEXCEPT;

/* --- Partitions
 * ------------------------------------------------------------------------ */

/* tl_registry_create_partition makes a partition. `label` may be NULL or ""; a
 * NULL or empty `serial` gets a fresh unique one. */
TL_EXPORT tl_status tl_registry_create_partition(
    tl_registry *reg, const char *name, const char *label, const char *serial,
    tl_partition_info **out) TL_NOEXCEPT;
/* tl_registry_delete_partition deletes a partition. If clients use it, it fails
 * with TL_E_FAILED_PRECONDITION naming them unless `force`; with force, *out
 * (may be NULL) receives the partition with the clients that lost access as its
 * client list. */
TL_EXPORT tl_status
tl_registry_delete_partition(tl_registry *reg, const char *name, int32_t force,
                             tl_partition_info **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_get_partition(
    tl_registry *reg, const char *name, tl_partition_info **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_list_partitions(
    tl_registry *reg, tl_partition_list **out) TL_NOEXCEPT;
TL_EXPORT void tl_partition_list_free(tl_partition_list *list) TL_NOEXCEPT;
TL_EXPORT size_t tl_partition_list_count(const tl_partition_list *list)
    TL_NOEXCEPT;
TL_EXPORT const tl_partition_info *tl_partition_list_get(
    const tl_partition_list *list, size_t i) TL_NOEXCEPT;
TL_EXPORT void tl_partition_info_free(tl_partition_info *info) TL_NOEXCEPT;
TL_EXPORT const char *tl_partition_info_name(const tl_partition_info *info)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_partition_info_label(const tl_partition_info *info)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_partition_info_serial(const tl_partition_info *info)
    TL_NOEXCEPT;
TL_EXPORT int64_t tl_partition_info_created_unix(const tl_partition_info *info)
    TL_NOEXCEPT;
/* The labels of the clients assigned the partition (sorted). */
TL_EXPORT size_t tl_partition_info_num_clients(const tl_partition_info *info)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_partition_info_client(const tl_partition_info *info,
                                               size_t i) TL_NOEXCEPT;

/* --- NTLS and HTL settings
 * -------------------------------------------------------------- A
 * tl_appliance_settings is both a result (tl_registry_get_settings fills every
 * field) and a patch (tl_appliance_settings_new starts empty;
 * tl_registry_update_settings changes only the fields that were set,
 * atomically, so two admins changing different fields do not undo each other).
 */
TL_EXPORT tl_status tl_appliance_settings_new(tl_appliance_settings **out)
    TL_NOEXCEPT;
TL_EXPORT void tl_appliance_settings_free(tl_appliance_settings *s) TL_NOEXCEPT;
TL_EXPORT tl_status
tl_appliance_settings_last_error(const tl_appliance_settings *s, char *buf,
                                 size_t buf_len, size_t *out_len) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_get_settings(
    tl_registry *reg, tl_appliance_settings **out) TL_NOEXCEPT;
/* tl_registry_update_settings applies `patch`; out-of-range values fail with
 * TL_E_OUT_OF_RANGE naming the field and the range, and nothing changes. *out
 * (may be NULL) receives the settings now in force. */
TL_EXPORT tl_status tl_registry_update_settings(
    tl_registry *reg, const tl_appliance_settings *patch,
    tl_appliance_settings **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_appliance_settings_set_bind_address(
    tl_appliance_settings *s, const char *address) TL_NOEXCEPT;
TL_EXPORT tl_status tl_appliance_settings_set_port(tl_appliance_settings *s,
                                                   int32_t port) TL_NOEXCEPT;
TL_EXPORT tl_status tl_appliance_settings_set_ipcheck(
    tl_appliance_settings *s, int32_t enabled) TL_NOEXCEPT;
TL_EXPORT tl_status tl_appliance_settings_set_tcp_keepalive(
    tl_appliance_settings *s, int32_t enabled) TL_NOEXCEPT;
TL_EXPORT tl_status tl_appliance_settings_set_keepalive_idle(
    tl_appliance_settings *s, int32_t seconds) TL_NOEXCEPT;
TL_EXPORT tl_status tl_appliance_settings_set_keepalive_interval(
    tl_appliance_settings *s, int32_t seconds) TL_NOEXCEPT;
TL_EXPORT tl_status tl_appliance_settings_set_keepalive_probes(
    tl_appliance_settings *s, int32_t probes) TL_NOEXCEPT;
TL_EXPORT tl_status tl_appliance_settings_set_receive_timeout_ms(
    tl_appliance_settings *s, int32_t ms) TL_NOEXCEPT;
/* tl_appliance_settings_set_max_links_per_client caps the admitted links one
 * client may hold at once (1 to 1000000, default 256); a running ntlsd applies
 * a change at once, to new links (links already up stay). */
TL_EXPORT tl_status tl_appliance_settings_set_max_links_per_client(
    tl_appliance_settings *s, int32_t max_links) TL_NOEXCEPT;
TL_EXPORT tl_status tl_appliance_settings_set_htl_grace_period(
    tl_appliance_settings *s, int32_t seconds) TL_NOEXCEPT;
TL_EXPORT tl_status tl_appliance_settings_set_htl_default_ott_expiry(
    tl_appliance_settings *s, int32_t seconds) TL_NOEXCEPT;
/* Getters return the value, or the default when the field was never set. */
TL_EXPORT const char *tl_appliance_settings_bind_address(
    const tl_appliance_settings *s) TL_NOEXCEPT;
TL_EXPORT int32_t tl_appliance_settings_port(const tl_appliance_settings *s)
    TL_NOEXCEPT;
TL_EXPORT int32_t tl_appliance_settings_ipcheck(const tl_appliance_settings *s)
    TL_NOEXCEPT;
TL_EXPORT int32_t
tl_appliance_settings_tcp_keepalive(const tl_appliance_settings *s) TL_NOEXCEPT;
TL_EXPORT int32_t tl_appliance_settings_keepalive_idle(
    const tl_appliance_settings *s) TL_NOEXCEPT;
TL_EXPORT int32_t tl_appliance_settings_keepalive_interval(
    const tl_appliance_settings *s) TL_NOEXCEPT;
TL_EXPORT int32_t tl_appliance_settings_keepalive_probes(
    const tl_appliance_settings *s) TL_NOEXCEPT;
TL_EXPORT int32_t tl_appliance_settings_receive_timeout_ms(
    const tl_appliance_settings *s) TL_NOEXCEPT;
TL_EXPORT int32_t tl_appliance_settings_max_links_per_client(
    const tl_appliance_settings *s) TL_NOEXCEPT;
TL_EXPORT int32_t tl_appliance_settings_htl_grace_period(
    const tl_appliance_settings *s) TL_NOEXCEPT;
TL_EXPORT int32_t tl_appliance_settings_htl_default_ott_expiry(
    const tl_appliance_settings *s) TL_NOEXCEPT;

/* --- Server identity (server.pem)
 * ------------------------------------------------------- key_type arguments
 * are names: "ed25519", "p256", "p384", "rsa2048", "rsa3072", "rsa4096", or
 * NULL for the default. */

/* tl_registry_load_server_identity reads the identity; TL_E_NOT_FOUND if there
 * is none. */
TL_EXPORT tl_status tl_registry_load_server_identity(
    tl_registry *reg, tl_server_identity **out) TL_NOEXCEPT;
/* tl_registry_ensure_server_identity loads the identity or, at first start,
 * makes it for `appliance_name` (hostname or IP). */
TL_EXPORT tl_status tl_registry_ensure_server_identity(
    tl_registry *reg, const char *appliance_name, const char *key_type,
    tl_server_identity **out) TL_NOEXCEPT;
/* tl_registry_regenerate_server_certificate makes a new identity
 * (`appliance_name` NULL or
 * "": the current name) and keeps the old one as "previous" until
 * tl_registry_drop_old_server_certificates, so clients can move over. */
TL_EXPORT tl_status tl_registry_regenerate_server_certificate(
    tl_registry *reg, const char *appliance_name, const char *key_type,
    tl_server_identity **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_registry_drop_old_server_certificates(
    tl_registry *reg, int32_t *out_dropped) TL_NOEXCEPT;

TL_EXPORT void tl_server_identity_free(tl_server_identity *id) TL_NOEXCEPT;
/* Index 0 is the current certificate; 1.. are the overlapping previous ones,
 * newest first. */
TL_EXPORT size_t
tl_server_identity_num_certificates(const tl_server_identity *id) TL_NOEXCEPT;
TL_EXPORT const char *tl_server_identity_certificate_pem(
    const tl_server_identity *id, size_t i) TL_NOEXCEPT;
TL_EXPORT const char *tl_server_identity_fingerprint(
    const tl_server_identity *id, size_t i) TL_NOEXCEPT;
TL_EXPORT const char *tl_server_identity_subject(const tl_server_identity *id,
                                                 size_t i) TL_NOEXCEPT;
TL_EXPORT const char *tl_server_identity_key_type(const tl_server_identity *id,
                                                  size_t i) TL_NOEXCEPT;
TL_EXPORT int64_t tl_server_identity_not_after_unix(
    const tl_server_identity *id, size_t i) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_REGISTRY_H_ */
