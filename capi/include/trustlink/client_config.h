/* trustlink/client_config.h: the client host's enrolment, as the vtl tool does
 * it.
 *
 * A client root is a directory holding trustlink.conf, the client identity
 * under cert/client/ and the trust store under cert/server/ (see
 * docs/client-enrolment.md). Its default is TL_CLIENT_ROOT_DEFAULT, or the
 * environment variable TL_CLIENT_ROOT_ENV when set.
 *
 * Include <trustlink/trustlink.h> rather than this file. */
#ifndef TRUSTLINK_CLIENT_CONFIG_H_
#define TRUSTLINK_CLIENT_CONFIG_H_

#include "trustlink/base.h"
#include "trustlink/identity.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_CLIENT_ROOT_DEFAULT "/etc/trustlink/client"
#define TL_CLIENT_ROOT_ENV "TRUSTLINK_CLIENT_ROOT"
#define TL_DEFAULT_SERVER_PORT 1792

/* tl_client_root_default_path copies $TRUSTLINK_CLIENT_ROOT if set and
 * non-empty, else TL_CLIENT_ROOT_DEFAULT, NUL-terminated into buf and its
 * length into *out_len, by the string-getter rule of base.h: when buf_len is
 * not larger than the length, TL_E_BUFFER_TOO_SMALL, nothing written to buf
 * and the size needed (NUL included) in *out_len. */
TL_EXPORT tl_status tl_client_root_default_path(char *buf, size_t buf_len,
                                                size_t *out_len) TL_NOEXCEPT;

/* Handles. Thread safety: a tl_client_root may be used from many threads and
 * processes at once (each operation holds the root's OFD lock); result and list
 * handles are immutable. */
typedef struct tl_client_root tl_client_root;
typedef struct tl_cert_result tl_cert_result;
typedef struct tl_server_result tl_server_result;
typedef struct tl_server_list tl_server_list;
typedef struct tl_verify_report tl_verify_report;
typedef struct tl_string_list tl_string_list;

TL_EXPORT tl_status tl_client_root_new(tl_client_root **out) TL_NOEXCEPT;
TL_EXPORT void tl_client_root_free(tl_client_root *root) TL_NOEXCEPT;
TL_EXPORT tl_status tl_client_root_last_error(const tl_client_root *root,
                                              char *buf, size_t buf_len,
                                              size_t *out_len) TL_NOEXCEPT;

/* tl_client_root_open opens path (NULL: the default). With create non-zero it
 * is made (0755) if missing. */
TL_EXPORT tl_status tl_client_root_open(tl_client_root *root, const char *path,
                                        int32_t create) TL_NOEXCEPT;

/* tl_client_root_path returns the opened root's path, borrowed from root. */
TL_EXPORT tl_status tl_client_root_path(const tl_client_root *root,
                                        const char **out) TL_NOEXCEPT;
/* tl_client_root_config_path returns <root>/trustlink.conf, borrowed from root.
 */
TL_EXPORT tl_status tl_client_root_config_path(const tl_client_root *root,
                                               const char **out) TL_NOEXCEPT;

/* tl_client_root_create_cert makes the client's key and self-signed certificate
 * for name as cert/client/<name>.pem and <name>Key.pem (key 0600, O_EXCL), and
 * records them in trustlink.conf. options may be NULL (defaults). The file
 * names keep the name's letter case (a renewal in another case keeps the
 * existing names). An existing identity is TL_E_ALREADY_EXISTS unless force
 * is non-zero; for an identity of another name the message names the
 * appliances that know this client, and with force the result's warnings do. */
TL_EXPORT tl_status tl_client_root_create_cert(
    tl_client_root *root, const tl_identity_options *options, const char *name,
    int32_t force, tl_cert_result **out) TL_NOEXCEPT;

/* TL_SERVER_HTL_KEEP, as tl_client_root_add_server's htl, keeps the HTL
 * setting of a server already registered (no HTL for a new one). */
#define TL_SERVER_HTL_KEEP (-1)

/* tl_client_root_add_server registers an appliance certificate (pem, pem_len
 * bytes) for name, and lists the server in trustlink.conf with port and htl
 * (non-zero: the link uses HTL). port 0 and htl TL_SERVER_HTL_KEEP keep what a
 * server already registered has (1792 and no HTL for a new one), so that
 * registering a renewed certificate changes nothing else. replace non-zero
 * replaces a different registered certificate. The name keeps its letter case
 * in the file names (<name>Cert.pem) and is compared without regard to case. */
TL_EXPORT tl_status tl_client_root_add_server(
    tl_client_root *root, const char *name, const char *pem, size_t pem_len,
    int32_t port, int32_t htl, int32_t replace,
    tl_server_result **out) TL_NOEXCEPT;

/* tl_client_root_delete_server removes name from trustlink.conf and the trust
 * store. */
TL_EXPORT tl_status tl_client_root_delete_server(tl_client_root *root,
                                                 const char *name) TL_NOEXCEPT;

/* tl_client_root_list_servers returns every server in trustlink.conf or the
 * trust store. */
TL_EXPORT tl_status tl_client_root_list_servers(
    tl_client_root *root, tl_server_list **out) TL_NOEXCEPT;

/* tl_client_root_identity describes the configured client identity as a
 * tl_cert_result (its key path and certificate path, fingerprint, key type,
 * expiry). TL_E_NOT_FOUND if none is configured. */
TL_EXPORT tl_status tl_client_root_identity(tl_client_root *root,
                                            tl_cert_result **out) TL_NOEXCEPT;

/* tl_client_root_import_chrystoki carries the servers, TCPKeepAlive and
 * timeouts of the "LunaSA Client" section of the Chrystoki.conf text (text_len
 * bytes; file_name is used in messages) into trustlink.conf, and its HA
 * groups (VirtualToken, members kept as partition serials) and HAConfiguration
 * (client_ha_config.h). Servers and groups already configured are kept. *out
 * lists what was imported or skipped. */
TL_EXPORT tl_status tl_client_root_import_chrystoki(
    tl_client_root *root, const char *text, size_t text_len,
    const char *file_name, tl_string_list **out) TL_NOEXCEPT;

/* Flags for tl_client_root_verify (bits; unknown bits are
 * TL_E_INVALID_ARGUMENT). TL_VERIFY_REPAIR first rebuilds CAFile.pem from the
 * named files. Later bits (a network probe of each server) are added by the
 * link layer. */
#define TL_VERIFY_REPAIR 1

/* tl_client_root_verify runs the local checks: trustlink.conf, the client
 * identity (files, key permissions, key matches certificate, expiry),
 * CAFile.pem agreement and each server. flags is 0 or a combination of
 * TL_VERIFY_* bits. Returns TL_OK when the checks could run (see
 * tl_verify_report_ok for their verdict). */
TL_EXPORT tl_status tl_client_root_verify(tl_client_root *root, int32_t flags,
                                          tl_verify_report **out) TL_NOEXCEPT;

/* tl_cert_result: what createCert made (or the configured identity). Strings
 * are borrowed from the result. */
TL_EXPORT void tl_cert_result_free(tl_cert_result *result) TL_NOEXCEPT;
TL_EXPORT const char *tl_cert_result_name(const tl_cert_result *result)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_cert_result_cert_path(const tl_cert_result *result)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_cert_result_key_path(const tl_cert_result *result)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_cert_result_fingerprint(const tl_cert_result *result)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_cert_result_key_type(const tl_cert_result *result)
    TL_NOEXCEPT;
/* tl_cert_result_not_after returns the expiry as seconds since the Unix epoch.
 */
TL_EXPORT int64_t tl_cert_result_not_after(const tl_cert_result *result)
    TL_NOEXCEPT;
TL_EXPORT size_t tl_cert_result_warning_count(const tl_cert_result *result)
    TL_NOEXCEPT;
TL_EXPORT tl_status tl_cert_result_warning(const tl_cert_result *result,
                                           size_t index,
                                           const char **out) TL_NOEXCEPT;

/* tl_server_result: what addServer did. Strings are borrowed from the result.
 */
TL_EXPORT void tl_server_result_free(tl_server_result *result) TL_NOEXCEPT;
TL_EXPORT const char *tl_server_result_name(const tl_server_result *result)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_server_result_path(const tl_server_result *result)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_server_result_fingerprint(
    const tl_server_result *result) TL_NOEXCEPT;
/* tl_server_result_unchanged is 1 if the identical certificate was already
 * registered. */
TL_EXPORT int32_t tl_server_result_unchanged(const tl_server_result *result)
    TL_NOEXCEPT;
/* tl_server_result_replaced is 1 if a different certificate was replaced; its
 * fingerprint is tl_server_result_previous_fingerprint ("" otherwise). */
TL_EXPORT int32_t tl_server_result_replaced(const tl_server_result *result)
    TL_NOEXCEPT;
TL_EXPORT const char *tl_server_result_previous_fingerprint(
    const tl_server_result *result) TL_NOEXCEPT;
TL_EXPORT size_t tl_server_result_warning_count(const tl_server_result *result)
    TL_NOEXCEPT;
TL_EXPORT tl_status tl_server_result_warning(const tl_server_result *result,
                                             size_t index,
                                             const char **out) TL_NOEXCEPT;

/* tl_server_list: servers with their port, HTL flag, fingerprint and local
 * state. Getters return TL_E_OUT_OF_RANGE for index >= count; strings are
 * borrowed from the list. */
TL_EXPORT void tl_server_list_free(tl_server_list *list) TL_NOEXCEPT;
TL_EXPORT size_t tl_server_list_count(const tl_server_list *list) TL_NOEXCEPT;
TL_EXPORT tl_status tl_server_list_name(const tl_server_list *list,
                                        size_t index,
                                        const char **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_server_list_port(const tl_server_list *list,
                                        size_t index, int32_t *out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_server_list_htl(const tl_server_list *list, size_t index,
                                       int32_t *out) TL_NOEXCEPT;
/* tl_server_list_fingerprint gives "" when the server has no trusted
 * certificate. */
TL_EXPORT tl_status tl_server_list_fingerprint(const tl_server_list *list,
                                               size_t index,
                                               const char **out) TL_NOEXCEPT;
/* tl_server_list_local_status gives the server's local state: TL_OK, or the
 * problem's code with its message (naming the fix) in *out_message. */
TL_EXPORT tl_status tl_server_list_local_status(
    const tl_server_list *list, size_t index, tl_status *out_status,
    const char **out_message) TL_NOEXCEPT;
/* tl_server_list_probe_status gives the result of a network probe of the
 * server, when a probe ran (*out_probed = 1); the link layer adds the probe to
 * tl_client_root_verify. */
TL_EXPORT tl_status tl_server_list_probe_status(
    const tl_server_list *list, size_t index, int32_t *out_probed,
    tl_status *out_status, const char **out_message) TL_NOEXCEPT;

/* Verify report levels. */
#define TL_CHECK_OK 0
#define TL_CHECK_WARNING 1
#define TL_CHECK_ERROR 2

/* tl_verify_report: the checks that are not about one server, and the servers.
 */
TL_EXPORT void tl_verify_report_free(tl_verify_report *report) TL_NOEXCEPT;
/* tl_verify_report_ok is 1 if no check and no server has an error (warnings
 * allowed). */
TL_EXPORT int32_t tl_verify_report_ok(const tl_verify_report *report)
    TL_NOEXCEPT;
TL_EXPORT size_t tl_verify_report_check_count(const tl_verify_report *report)
    TL_NOEXCEPT;
TL_EXPORT tl_status tl_verify_report_check(
    const tl_verify_report *report, size_t index, int32_t *out_level,
    const char **out_object, const char **out_message) TL_NOEXCEPT;
/* tl_verify_report_servers returns a copy of the report's server list; free it.
 */
TL_EXPORT tl_status tl_verify_report_servers(const tl_verify_report *report,
                                             tl_server_list **out) TL_NOEXCEPT;
/* tl_verify_report_repairs returns what repair changed (empty without repair).
 */
TL_EXPORT tl_status tl_verify_report_repairs(const tl_verify_report *report,
                                             tl_string_list **out) TL_NOEXCEPT;

/* tl_string_list: a list of messages. */
TL_EXPORT void tl_string_list_free(tl_string_list *list) TL_NOEXCEPT;
TL_EXPORT size_t tl_string_list_count(const tl_string_list *list) TL_NOEXCEPT;
TL_EXPORT tl_status tl_string_list_get(const tl_string_list *list, size_t index,
                                       const char **out) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_CLIENT_CONFIG_H_ */
