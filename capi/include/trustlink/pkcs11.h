/* trustlink/pkcs11.h: partitions as PKCS#11 slots over the link
 * (docs/pkcs11.md).
 *
 * Include <trustlink/trustlink.h> rather than this file.
 *
 * Two client-side pieces for tools such as `vtl p11`:
 *   - tl_p11_setup writes p11-kit module configs, one per server, whose
 * `remote: |<bridge command> -server S` line makes p11-kit-proxy.so show every
 * partition assigned on S as a slot (or one per partition, `-partition P`);
 *   - tl_p11_bridge joins the bridge command's stdin and stdout to a byte
 * stream to the "pkcs11" service, which the caller opens with its own stream
 * API (tl_client_server_stream_open or tl_client_stream_open) and feeds
 * through tl_p11_bridge_deliver / tl_p11_bridge_end.
 */
#ifndef TRUSTLINK_PKCS11_H_
#define TRUSTLINK_PKCS11_H_

#include <stddef.h>
#include <stdint.h>

#include "trustlink/base.h"
#include "trustlink/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tl_p11_setup is a builder for one `p11 setup` run.
 * Thread safety: use a tl_p11_setup from one thread at a time. */
typedef struct tl_p11_setup tl_p11_setup;

/* tl_p11_setup_new makes an empty setup: no bridge command, no partitions, and
 * the directory $HOME/.config/pkcs11/modules. Fails only with TL_E_NO_MEMORY or
 * a NULL out. */
TL_EXPORT tl_status tl_p11_setup_new(tl_p11_setup **out) TL_NOEXCEPT;

/* tl_p11_setup_free frees setup. NULL is allowed. */
TL_EXPORT void tl_p11_setup_free(tl_p11_setup *setup) TL_NOEXCEPT;

/* tl_p11_setup_set_dir sets the module directory (made 0700 if missing).
 * p11-kit ignores user configs in programs running as root; root uses
 * "/etc/pkcs11/modules". dir is copied. */
TL_EXPORT tl_status tl_p11_setup_set_dir(tl_p11_setup *setup,
                                         const char *dir) TL_NOEXCEPT;

/* tl_p11_setup_add_bridge_arg appends one word of the bridge command that comes
 * before
 * "-server S -partition P", for example "/usr/bin/vtl", "p11", "bridge". The
 * first word must be an absolute path; no word may hold whitespace, quotes,
 * backslashes or '#' (checked by tl_p11_setup_write). arg is copied. */
TL_EXPORT tl_status tl_p11_setup_add_bridge_arg(tl_p11_setup *setup,
                                                const char *arg) TL_NOEXCEPT;

/* tl_p11_setup_add_partition adds one module for partition on server
 * (trustlink-<server>-<partition>.module, bridge command ending in "-server S
 * -partition P"). Names are checked by tl_p11_setup_write (TL_E_NAME_INVALID);
 * an empty partition is refused here. Both strings are copied. */
TL_EXPORT tl_status tl_p11_setup_add_partition(
    tl_p11_setup *setup, const char *server, const char *partition) TL_NOEXCEPT;

/* tl_p11_setup_add_server adds one module for every partition assigned to this
 * client on server: trustlink-<server>.module, whose bridge command ends in
 * "-server S" and opens one client-wide stream (tl_client_server_stream_open),
 * so a partition assigned later appears without running setup again. The name
 * is checked by tl_p11_setup_write (TL_E_NAME_INVALID). server is copied. */
TL_EXPORT tl_status tl_p11_setup_add_server(tl_p11_setup *setup,
                                            const char *server) TL_NOEXCEPT;

/* tl_p11_setup_write writes trustlink-<server>.module for every server and
 * trustlink-<server>-<partition>.module for every partition added, each
 * atomically, and removes the other trustlink-*.module files. Other files are
 * never touched. On success it writes the number of files written and removed.
 */
TL_EXPORT tl_status tl_p11_setup_write(tl_p11_setup *setup,
                                       size_t *out_num_written,
                                       size_t *out_num_removed) TL_NOEXCEPT;

TL_EXPORT tl_status tl_p11_setup_last_error(const tl_p11_setup *setup,
                                            char *buf, size_t buf_len,
                                            size_t *out_len) TL_NOEXCEPT;

/* tl_p11_bridge joins a file-descriptor pair (the bridge command's stdin and
 * stdout) to a stream the caller owns. Thread safety: tl_p11_bridge_deliver and
 * tl_p11_bridge_end may be called from any thread (the caller's stream
 * callbacks) while tl_p11_bridge_run blocks in another; everything else from
 * one thread. */
typedef struct tl_p11_bridge tl_p11_bridge;

/* tl_p11_send_fn sends bytes on the caller's stream; it returns TL_OK or the
 * failure. data is borrowed for the call. */
typedef tl_status (*tl_p11_send_fn)(void *userdata, const uint8_t *data,
                                    size_t len);
/* tl_p11_close_fn closes the caller's stream. It is called once, at the end of
 * tl_p11_bridge_run. */
typedef void (*tl_p11_close_fn)(void *userdata);

/* tl_p11_bridge_new makes a bridge. Fails only with TL_E_NO_MEMORY or a NULL
 * out. */
TL_EXPORT tl_status tl_p11_bridge_new(tl_p11_bridge **out) TL_NOEXCEPT;

/* tl_p11_bridge_free frees bridge; not while tl_p11_bridge_run is running. NULL
 * is allowed. */
TL_EXPORT void tl_p11_bridge_free(tl_p11_bridge *bridge) TL_NOEXCEPT;

/* tl_p11_bridge_set_report_fd makes the bridge write a one-line reason to fd (2
 * for stderr; -1, the default, for none) when the stream ends while the
 * application is still attached. p11-kit passes the bridge command's stderr to
 * the application's terminal. */
TL_EXPORT tl_status tl_p11_bridge_set_report_fd(tl_p11_bridge *bridge,
                                                int fd) TL_NOEXCEPT;

/* tl_p11_bridge_deliver hands the bridge bytes that arrived on the stream.
 * Bytes delivered before tl_p11_bridge_run starts are kept for it. data is
 * copied. */
TL_EXPORT tl_status tl_p11_bridge_deliver(tl_p11_bridge *bridge,
                                          const uint8_t *data,
                                          size_t len) TL_NOEXCEPT;

/* tl_p11_bridge_end tells the bridge the stream ended with status (TL_OK for a
 * clean end) and message (may be NULL; copied). */
TL_EXPORT tl_status tl_p11_bridge_end(tl_p11_bridge *bridge, tl_status status,
                                      const char *message) TL_NOEXCEPT;

/* tl_p11_bridge_run pumps in_fd to send() and delivered bytes to out_fd until
 * the application closes in_fd (TL_OK) or the stream ends (its status; TL_OK
 * for a clean end), then calls close(userdata). Each p11-kit RPC message goes
 * to send() in one call: the pieces p11-kit writes are held until the message
 * is whole, at most 20 ms (bytes that are not p11-kit's framing pass at once).
 * If the stream ends first it shuts down out_fd, so the application's call in
 * flight fails with a PKCS#11 error, and reads in_fd until EOF, so the
 * application never gets SIGPIPE. It blocks; it does not close in_fd. */
TL_EXPORT tl_status tl_p11_bridge_run(tl_p11_bridge *bridge, int in_fd,
                                      int out_fd, tl_p11_send_fn send,
                                      tl_p11_close_fn close,
                                      void *userdata) TL_NOEXCEPT;

TL_EXPORT tl_status tl_p11_bridge_last_error(const tl_p11_bridge *bridge,
                                             char *buf, size_t buf_len,
                                             size_t *out_len) TL_NOEXCEPT;

/* ---- Appliance side ----------------------------------------------------
 *
 * Every partition's PKCS#11 token is a SoftHSM2 token in one token directory,
 * <appliance root>/pkcs11/partitions/<partition>/ (the registry owns
 * <appliance root>/partitions/). The "pkcs11" stream service serves a
 * partition's token with `p11-kit remote` to clients it is assigned to. */

/* tl_p11_tokens is the appliance's token store, for admin tools such as
 * `ntlsh partition create`. Thread safety: use from one thread at a time;
 * several processes may use the same root at once (changes are serialised by a
 * file lock). */
typedef struct tl_p11_tokens tl_p11_tokens;

/* tl_p11_tokens_new makes an unopened token store. Fails only with
 * TL_E_NO_MEMORY or a NULL out. */
TL_EXPORT tl_status tl_p11_tokens_new(tl_p11_tokens **out) TL_NOEXCEPT;

/* tl_p11_tokens_free frees tokens. NULL is allowed. */
TL_EXPORT void tl_p11_tokens_free(tl_p11_tokens *tokens) TL_NOEXCEPT;

/* tl_p11_tokens_open opens (creating, 0700) the token store of the appliance
 * at appliance_root (a relative path is taken from the current directory).
 * appliance_root is copied. */
TL_EXPORT tl_status tl_p11_tokens_open(tl_p11_tokens *tokens,
                                       const char *appliance_root) TL_NOEXCEPT;

/* tl_p11_tokens_create makes partition's token, labelled with the partition
 * name, with the admin's SO PIN (the partition SO) and user PIN (the Crypto
 * Officer). PINs are 4 to 255 bytes and reach SoftHSM2 through a child's
 * environment, never its argv. TL_E_ALREADY_EXISTS if the partition has a
 * token; on failure nothing is left behind. Strings are borrowed for the call.
 */
TL_EXPORT tl_status tl_p11_tokens_create(tl_p11_tokens *tokens,
                                         const char *partition,
                                         const char *so_pin,
                                         const char *user_pin) TL_NOEXCEPT;

/* tl_p11_tokens_remove deletes partition's token and every object on it.
 * TL_E_NOT_FOUND if it has none. */
TL_EXPORT tl_status tl_p11_tokens_remove(tl_p11_tokens *tokens,
                                         const char *partition) TL_NOEXCEPT;

/* tl_p11_tokens_exists writes 1 if partition has a token, else 0. */
TL_EXPORT tl_status tl_p11_tokens_exists(const tl_p11_tokens *tokens,
                                         const char *partition,
                                         int32_t *out_exists) TL_NOEXCEPT;

TL_EXPORT tl_status tl_p11_tokens_last_error(const tl_p11_tokens *tokens,
                                             char *buf, size_t buf_len,
                                             size_t *out_len) TL_NOEXCEPT;

/* tl_p11_service is the appliance's "pkcs11" stream service: one
 * `p11-kit remote` process per stream, serving only the tokens of the
 * partitions the stream covers (one, or every partition assigned to the client
 * for a client-wide stream). The server opens a stream only on partitions
 * assigned to the client and closes it when any of those assignments is
 * revoked (or the partition deleted); the service then ends that process.
 * Thread safety: safe from any thread. */
typedef struct tl_p11_service tl_p11_service;

/* tl_p11_service_new makes a service that is not yet open. Fails only with
 * TL_E_NO_MEMORY or a NULL out. */
TL_EXPORT tl_status tl_p11_service_new(tl_p11_service **out) TL_NOEXCEPT;

/* tl_p11_service_free ends every live stream (TL_E_CANCELLED) and waits for its
 * process. Free the tl_server it was added to first. NULL is allowed. */
TL_EXPORT void tl_p11_service_free(tl_p11_service *service) TL_NOEXCEPT;

/* tl_p11_service_open opens the token store of the appliance at appliance_root
 * (as tl_p11_tokens_open). Call it once. */
TL_EXPORT tl_status tl_p11_service_open(tl_p11_service *service,
                                        const char *appliance_root) TL_NOEXCEPT;

/* tl_p11_service_add_to_server registers the service on server as the stream
 * service "pkcs11"; call it before tl_server_start. service must outlive
 * server. A stream on a partition without a token is closed with
 * TL_E_NOT_FOUND and a message naming the partition. */
TL_EXPORT tl_status tl_p11_service_add_to_server(tl_p11_service *service,
                                                 tl_server *server) TL_NOEXCEPT;

/* tl_p11_service_close_partition ends every live stream on partition at once
 * with status and message (may be NULL) and writes how many it ended. */
TL_EXPORT tl_status tl_p11_service_close_partition(
    tl_p11_service *service, const char *partition, tl_status status,
    const char *message, size_t *out_num_closed) TL_NOEXCEPT;

/* tl_p11_service_num_live writes the number of streams whose process has not
 * ended yet. */
TL_EXPORT tl_status tl_p11_service_num_live(tl_p11_service *service,
                                            size_t *out) TL_NOEXCEPT;

TL_EXPORT tl_status tl_p11_service_last_error(const tl_p11_service *service,
                                              char *buf, size_t buf_len,
                                              size_t *out_len) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_PKCS11_H_ */
