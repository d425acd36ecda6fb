/* trustlink/identity.h: key pairs and self-signed certificates for clients and
 * appliances.
 *
 * Include <trustlink/trustlink.h> rather than this file. */
#ifndef TRUSTLINK_IDENTITY_H_
#define TRUSTLINK_IDENTITY_H_

#include "trustlink/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Key types. TL_KEY_TYPE_DEFAULT is the one chosen by measurement
 * (docs/adr/0001-default-key-type.md); tl_key_type_default says which it is. */
#define TL_KEY_TYPE_DEFAULT 0
#define TL_KEY_TYPE_ED25519 1
#define TL_KEY_TYPE_ECDSA_P256 2
#define TL_KEY_TYPE_ECDSA_P384 3
#define TL_KEY_TYPE_RSA_2048 4
#define TL_KEY_TYPE_RSA_3072 5
#define TL_KEY_TYPE_RSA_4096 6

/* Validity limits in days: two years by default, twenty at most. */
#define TL_CERT_VALIDITY_DEFAULT_DAYS 730
#define TL_CERT_VALIDITY_MAX_DAYS 7305

/* tl_key_type_default returns the TL_KEY_TYPE_* that TL_KEY_TYPE_DEFAULT stands
 * for. */
TL_EXPORT int32_t tl_key_type_default(void) TL_NOEXCEPT;

/* tl_key_type_from_string parses "ed25519", "p256", "p384", "rsa2048",
 * "rsa3072", "rsa4096" (and common spellings, without regard to case) into
 * *out. Returns TL_E_INVALID_ARGUMENT for anything else. */
TL_EXPORT tl_status tl_key_type_from_string(const char *text,
                                            int32_t *out) TL_NOEXCEPT;

/* tl_key_type_name returns the canonical spelling of key_type ("ed25519", ...),
 * or "unknown". The string is static. */
TL_EXPORT const char *tl_key_type_name(int32_t key_type) TL_NOEXCEPT;

/* tl_identity_options says what tl_identity_create makes. Thread safety: use
 * one options handle from one thread at a time. */
typedef struct tl_identity_options tl_identity_options;

TL_EXPORT tl_status tl_identity_options_new(tl_identity_options **out)
    TL_NOEXCEPT;
TL_EXPORT void tl_identity_options_free(tl_identity_options *options)
    TL_NOEXCEPT;
TL_EXPORT tl_status
tl_identity_options_last_error(const tl_identity_options *options, char *buf,
                               size_t buf_len, size_t *out_len) TL_NOEXCEPT;
/* tl_identity_options_set_key_type sets a TL_KEY_TYPE_* (default
 * TL_KEY_TYPE_DEFAULT). */
TL_EXPORT tl_status tl_identity_options_set_key_type(
    tl_identity_options *options, int32_t key_type) TL_NOEXCEPT;
/* tl_identity_options_set_validity_days sets 1..TL_CERT_VALIDITY_MAX_DAYS. */
TL_EXPORT tl_status tl_identity_options_set_validity_days(
    tl_identity_options *options, int32_t days) TL_NOEXCEPT;
/* tl_identity_options_set_for_server adds the serverAuth usage (non-zero) for
 * an appliance's server.pem. */
TL_EXPORT tl_status tl_identity_options_set_for_server(
    tl_identity_options *options, int32_t for_server) TL_NOEXCEPT;

/* tl_identity is a private key and its self-signed certificate. Thread safety:
 * immutable once made; safe to read from many threads. */
typedef struct tl_identity tl_identity;

/* tl_identity_create makes a key and certificate for name (a host name, IPv4 or
 * IPv6 address; canonicalised). On failure the message is on options. */
TL_EXPORT tl_status tl_identity_create(tl_identity_options *options,
                                       const char *name,
                                       tl_identity **out) TL_NOEXCEPT;
TL_EXPORT void tl_identity_free(tl_identity *identity) TL_NOEXCEPT;
TL_EXPORT tl_status tl_identity_last_error(const tl_identity *identity,
                                           char *buf, size_t buf_len,
                                           size_t *out_len) TL_NOEXCEPT;
/* tl_identity_cert_pem returns the certificate PEM, borrowed from identity
 * (valid until it is freed). */
TL_EXPORT tl_status tl_identity_cert_pem(const tl_identity *identity,
                                         const char **out) TL_NOEXCEPT;
/* tl_identity_fingerprint returns the certificate's SHA-256 fingerprint as
 * upper-case colon-separated hex (openssl x509 -fingerprint -sha256), borrowed
 * from identity. */
TL_EXPORT tl_status tl_identity_fingerprint(const tl_identity *identity,
                                            const char **out) TL_NOEXCEPT;
/* tl_identity_write writes the key (0600, created with O_EXCL unless force) and
 * the certificate (0644) as dir/key_name and dir/cert_name. Without force an
 * existing file is TL_E_ALREADY_EXISTS and nothing is written. dir is made
 * (0755) if missing. With force, key and certificate are replaced together in
 * one atomic step, so a crash leaves the old pair or the new one, never a mix:
 * dir is rebuilt as a sibling holding the new pair and every other regular file
 * of dir, and swapped in by one rename (docs/c-api.md, "Writing an identity").
 * An entry dir cannot carry over (a subdirectory, a file over 1 MiB) is an
 * error naming it, and nothing is changed. Concurrent forced writes to one dir
 * are serialised by a lock file .<dir>.lock beside it. */
TL_EXPORT tl_status tl_identity_write(tl_identity *identity, const char *dir,
                                      const char *cert_name,
                                      const char *key_name,
                                      int32_t force) TL_NOEXCEPT;

/* tl_cert_fingerprint_pem writes the SHA-256 fingerprint of the one certificate
 * in pem (pem_len bytes) into buf as a NUL-terminated string of
 * TL_FINGERPRINT_LEN characters. TL_E_CERT_INVALID if pem is not exactly one
 * certificate; TL_E_BUFFER_TOO_SMALL if buf_len < TL_FINGERPRINT_LEN + 1. */
#define TL_FINGERPRINT_LEN 95
TL_EXPORT tl_status tl_cert_fingerprint_pem(const char *pem, size_t pem_len,
                                            char *buf,
                                            size_t buf_len) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_IDENTITY_H_ */
