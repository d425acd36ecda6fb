/* trustlink/trust_store.h: the client's pinned appliance certificates,
 * <root>/cert/server/<name>Cert.pem plus CAFile.pem. A server is trusted only
 * while both agree. Updates are atomic and serialised between processes.
 *
 * Include <trustlink/trustlink.h> rather than this file. */
#ifndef TRUSTLINK_TRUST_STORE_H_
#define TRUSTLINK_TRUST_STORE_H_

#include "trustlink/base.h"
#include "trustlink/identity.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tl_trust_store is the store under one client root. Thread safety: all calls
 * may be made from many threads (and processes) at once; the last-error message
 * is per handle. */
typedef struct tl_trust_store tl_trust_store;

/* tl_server_cert_list is a snapshot of trusted servers. Thread safety:
 * immutable. */
typedef struct tl_server_cert_list tl_server_cert_list;

/* tl_trust_store_new allocates an unopened store handle. */
TL_EXPORT tl_status tl_trust_store_new(tl_trust_store **out) TL_NOEXCEPT;
TL_EXPORT void tl_trust_store_free(tl_trust_store *store) TL_NOEXCEPT;
TL_EXPORT tl_status tl_trust_store_last_error(const tl_trust_store *store,
                                              char *buf, size_t buf_len,
                                              size_t *out_len) TL_NOEXCEPT;

/* tl_trust_store_open opens <client_root>/cert/server. With create non-zero,
 * missing directories are made. A symlink in place of cert or cert/server is
 * refused (TL_E_PERMISSION_DENIED). */
TL_EXPORT tl_status tl_trust_store_open(tl_trust_store *store,
                                        const char *client_root,
                                        int32_t create) TL_NOEXCEPT;

/* tl_trust_store_add_server registers pem (pem_len bytes: exactly one unexpired
 * certificate) for server name. The identical certificate again is TL_OK. A
 * different one is TL_E_ALREADY_EXISTS unless replace is non-zero. On success
 * *out_fingerprint (optional; may be NULL) receives the SHA-256 fingerprint,
 * NUL-terminated, in a buffer of fingerprint_len >= TL_FINGERPRINT_LEN + 1
 * bytes. On failure the store is unchanged. */
TL_EXPORT tl_status tl_trust_store_add_server(
    tl_trust_store *store, const char *name, const char *pem, size_t pem_len,
    int32_t replace, char *out_fingerprint, size_t fingerprint_len) TL_NOEXCEPT;

/* tl_trust_store_remove_server unregisters name. TL_E_NOT_FOUND if not
 * registered. */
TL_EXPORT tl_status tl_trust_store_remove_server(tl_trust_store *store,
                                                 const char *name) TL_NOEXCEPT;

/* tl_trust_store_load_pinned returns the exact set of pinned certificates, one
 * per server name, for which the named file and CAFile.pem agree.
 * TL_E_TRUST_STORE_INCONSISTENT if CAFile.pem does not parse. */
TL_EXPORT tl_status tl_trust_store_load_pinned(
    tl_trust_store *store, tl_server_cert_list **out) TL_NOEXCEPT;

/* tl_trust_store_check returns TL_OK if every entry agrees, else
 * TL_E_TRUST_STORE_INCONSISTENT with the first problem (and its fix) as the
 * message. */
TL_EXPORT tl_status tl_trust_store_check(tl_trust_store *store) TL_NOEXCEPT;

/* tl_trust_store_repair rebuilds CAFile.pem from the named files.
 * *out_num_changes gets how many entries changed. */
TL_EXPORT tl_status tl_trust_store_repair(tl_trust_store *store,
                                          size_t *out_num_changes) TL_NOEXCEPT;

TL_EXPORT void tl_server_cert_list_free(tl_server_cert_list *list) TL_NOEXCEPT;
TL_EXPORT size_t tl_server_cert_list_count(const tl_server_cert_list *list)
    TL_NOEXCEPT;
/* The getters return strings borrowed from list (valid until it is freed), or
 * TL_E_OUT_OF_RANGE for an index >= count. */
TL_EXPORT tl_status tl_server_cert_list_name(const tl_server_cert_list *list,
                                             size_t index,
                                             const char **out) TL_NOEXCEPT;
TL_EXPORT tl_status
tl_server_cert_list_fingerprint(const tl_server_cert_list *list, size_t index,
                                const char **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_server_cert_list_pem(const tl_server_cert_list *list,
                                            size_t index,
                                            const char **out) TL_NOEXCEPT;
/* tl_server_cert_list_der returns the DER bytes (borrowed) and their length. */
TL_EXPORT tl_status tl_server_cert_list_der(const tl_server_cert_list *list,
                                            size_t index, const uint8_t **out,
                                            size_t *out_len) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_TRUST_STORE_H_ */
