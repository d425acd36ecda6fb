/* trustlink/server.h: the NTLS server (the appliance side of the link) through
 * the C ABI. Included by trustlink.h. See docs/server.md. */
#ifndef TRUSTLINK_SERVER_H_
#define TRUSTLINK_SERVER_H_

#include "trustlink/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tl_server_options is a builder for a server. Thread safety: not thread-safe;
 * build it on one thread, then it may be read by tl_server_new from any thread.
 */
typedef struct tl_server_options tl_server_options;
/* tl_server is a running (or stopped) NTLS server. Thread safety: every
 * function is safe to call from any thread, except that handler registration
 * must precede tl_server_start. */
typedef struct tl_server tl_server;
/* tl_server_responder answers one partition request. It is owned by the handler
 * until it passes it to tl_server_responder_respond, which frees it. */
typedef struct tl_server_responder tl_server_responder;
/* tl_server_stream is one byte stream from a client to a stream service. The
 * library owns it; it stays valid until the service's close callback for it has
 * returned. Thread safety: tl_server_stream_send and tl_server_stream_close may
 * be called from any thread. */
typedef struct tl_server_stream tl_server_stream;
/* tl_server_status is a snapshot of the connected clients. Thread safety:
 * immutable. */
typedef struct tl_server_status tl_server_status;

/* tl_server_request_fn handles one request on `partition` for client
 * `client_label`. It runs on an event-loop thread and must not block: keep
 * `responder` and answer later from any thread. All pointers except `responder`
 * are borrowed for the call only. */
typedef void (*tl_server_request_fn)(void *userdata, const char *client_label,
                                     const char *partition, uint32_t op,
                                     const uint8_t *data, size_t data_len,
                                     tl_server_responder *responder);

/* tl_server_stream_open_fn decides whether to open a stream to the service for
 * client `client_label` on `partition`. `partition` is "" for a client-wide
 * stream (opened with tl_client_server_stream_open), which covers every
 * partition assigned to the client; tl_server_stream_partition lists them.
 * Return TL_OK and set
 * *out_stream_userdata to accept; any other code refuses the stream with that
 * code. Runs on a loop thread; must not block. */
typedef tl_status (*tl_server_stream_open_fn)(void *userdata,
                                              const char *client_label,
                                              const char *partition,
                                              tl_server_stream *stream,
                                              void **out_stream_userdata);
/* tl_server_stream_data_fn receives bytes the client sent on the stream
 * (borrowed). */
typedef void (*tl_server_stream_data_fn)(void *userdata, void *stream_userdata,
                                         const uint8_t *data, size_t data_len);
/* tl_server_stream_close_fn says the stream ended (either side closed it, or
 * the link went away). Called exactly once per opened stream; after it returns
 * `stream` is freed. */
typedef void (*tl_server_stream_close_fn)(void *userdata,
                                          void *stream_userdata);

/* tl_server_options_new makes an empty builder (listen on [::]:1792, one loop
 * per core). */
TL_EXPORT tl_status tl_server_options_new(tl_server_options **out) TL_NOEXCEPT;
TL_EXPORT void tl_server_options_free(tl_server_options *opts) TL_NOEXCEPT;
TL_EXPORT tl_status tl_server_options_last_error(const tl_server_options *opts,
                                                 char *buf, size_t buf_len,
                                                 size_t *out_len) TL_NOEXCEPT;
/* tl_server_options_set_listen overrides the address (an IPv4 or IPv6 literal)
 * and port (0 picks a free one; read it back with tl_server_port). */
TL_EXPORT tl_status tl_server_options_set_listen(tl_server_options *opts,
                                                 const char *address,
                                                 uint16_t port) TL_NOEXCEPT;
/* tl_server_options_set_root makes the server use the appliance registry at
 * `root` (created if missing): registered clients, partitions, ipcheck, the
 * listen address and port and TCP keep-alive settings, and the server identity,
 * which is made on first start for `appliance_name` (a hostname or IP; NULL:
 * this host's name) as <root>/server/server.pem. Registry changes then apply to
 * live connections. tl_server_options_set_listen still overrides the address.
 * Clients added with tl_server_options_add_client are refused with a root. */
TL_EXPORT tl_status
tl_server_options_set_root(tl_server_options *opts, const char *root,
                           const char *appliance_name) TL_NOEXCEPT;
/* tl_server_options_set_threads sets the number of event loops (0: one per
 * core). */
TL_EXPORT tl_status tl_server_options_set_threads(tl_server_options *opts,
                                                  int32_t threads) TL_NOEXCEPT;
/* tl_server_options_set_busy_poll: after a wake-up that served
 * connections, each event loop polls without blocking for at most `budget_us`
 * microseconds before it sleeps (0, the default: off; at most
 * TL_BUSY_POLL_MAX_US, else TL_E_INVALID_ARGUMENT
 * naming the limit). A spin that finds nothing makes the loop skip spinning
 * on its next 1, 2, 4 ... up to 1024 waits (each miss in a row doubles it,
 * each find halves it), and a loop woken by nothing but its own timer never
 * spins, so an idle appliance costs nothing; the
 * log's "listening on" line names the budget when it is on
 * (docs/server.md, "Busy-poll"). */
TL_EXPORT tl_status tl_server_options_set_busy_poll(
    tl_server_options *opts, uint32_t budget_us) TL_NOEXCEPT;
/* tl_server_options_set_limits sets the caps on connections not yet admitted
 * (in total and per source address), the handshake and idle timeouts in
 * milliseconds and the largest frame payload in bytes. A 0 keeps that default.
 * At tl_server_start the caps are also held below what the descriptor limit
 * allows (docs/server.md, "Connection budget"); a full cap evicts the oldest
 * connection not yet admitted instead of refusing the new one. */
TL_EXPORT tl_status tl_server_options_set_limits(
    tl_server_options *opts, uint32_t max_unauthenticated,
    uint32_t max_unauthenticated_per_ip, uint32_t handshake_timeout_ms,
    uint32_t idle_timeout_ms, uint32_t max_frame_payload) TL_NOEXCEPT;
/* tl_server_options_set_link_limits caps the admitted links in total and per
 * client (default: 256; with a root, the registry's max_links_per_client
 * setting wins). A 0 keeps that default. Every cap is also held below what the
 * process's descriptor limit (RLIMIT_NOFILE) allows at tl_server_start; the
 * library never changes that limit itself. */
TL_EXPORT tl_status
tl_server_options_set_link_limits(tl_server_options *opts, uint32_t max_links,
                                  uint32_t max_links_per_client) TL_NOEXCEPT;
/* tl_server_options_set_certificate sets the server certificate and private key
 * (PEM). */
TL_EXPORT tl_status
tl_server_options_set_certificate(tl_server_options *opts, const char *cert_pem,
                                  const char *key_pem) TL_NOEXCEPT;
/* tl_server_options_set_ipcheck turns the source-address check on (1, the
 * default) or off. */
TL_EXPORT tl_status tl_server_options_set_ipcheck(tl_server_options *opts,
                                                  int32_t on) TL_NOEXCEPT;
/* tl_server_options_add_client registers a client for an embedder that keeps
 * its own client store: its label, its certificate (PEM), the address it must
 * connect from (NULL: any; only checked when ipcheck is on) and whether it
 * requires HTL (0 or 1). */
TL_EXPORT tl_status tl_server_options_add_client(
    tl_server_options *opts, const char *label, const char *cert_pem,
    const char *ip, int32_t require_htl) TL_NOEXCEPT;
/* tl_server_options_assign_partition gives client `client_label` (added before)
 * a partition, shown to it as a slot with `slot_label` and `serial`. */
TL_EXPORT tl_status tl_server_options_assign_partition(
    tl_server_options *opts, const char *client_label, const char *partition,
    const char *slot_label, const char *serial) TL_NOEXCEPT;

/* tl_server_new makes a server from `opts` (copied; opts may be freed after).
 * Without a request handler the built-in software partition serves requests.
 * A failure's message is the calling thread's tl_last_error (since 1.1; it is
 * no longer written into `opts`, which other threads may be reading). */
TL_EXPORT tl_status tl_server_new(const tl_server_options *opts,
                                  tl_server **out) TL_NOEXCEPT;
/* tl_server_free stops the server (no grace period) and frees it. NULL is
 * allowed. */
TL_EXPORT void tl_server_free(tl_server *server) TL_NOEXCEPT;
TL_EXPORT tl_status tl_server_last_error(const tl_server *server, char *buf,
                                         size_t buf_len,
                                         size_t *out_len) TL_NOEXCEPT;
/* tl_server_set_request_handler replaces the software partition with `fn`. Call
 * it before tl_server_start. `userdata` is passed back unchanged and must
 * outlive the server. */
TL_EXPORT tl_status tl_server_set_request_handler(tl_server *server,
                                                  tl_server_request_fn fn,
                                                  void *userdata) TL_NOEXCEPT;
/* tl_server_enable_htl makes the server serve the Host Trust Link
 * (docs/htl.md) from the HTL state under `root`/htl/, the state that
 * tl_htl_appliance_open and ntlsh use. NULL means the registry root given to
 * tl_server_options_set_root. The server then accepts htl/1 links of HTL
 * agents, checks the HTL proof on every application link of a client
 * registered with -requirehtl, and closes all of a client's links when its HTL
 * goes Down. The state is opened as the serving daemon: a new boot, so every
 * client's grace period restarts now rather than expiring during an outage.
 * Call it once, before tl_server_start. Without it, HTL clients are refused
 * with a message that says the server has no HTL state. Returns TL_OK, or an
 * error (the state cannot be opened; called twice or after start). */
TL_EXPORT tl_status tl_server_enable_htl(tl_server *server,
                                         const char *root) TL_NOEXCEPT;
/* tl_server_add_stream_service registers the byte-stream service `name`
 * ("pkcs11") with its callbacks; `userdata` must outlive the server. Call it
 * before tl_server_start. */
TL_EXPORT tl_status tl_server_add_stream_service(
    tl_server *server, const char *name, tl_server_stream_open_fn open_fn,
    tl_server_stream_data_fn data_fn, tl_server_stream_close_fn close_fn,
    void *userdata) TL_NOEXCEPT;
/* tl_server_stream_send sends `data` to the client on `stream` (copied). */
TL_EXPORT tl_status tl_server_stream_send(tl_server_stream *stream,
                                          const uint8_t *data,
                                          size_t data_len) TL_NOEXCEPT;
/* tl_server_stream_num_partitions writes how many partitions `stream` covers:
 * 1 for a stream opened on a partition, every partition assigned to the client
 * when it opened for a client-wide one. The server closes the stream
 * (TL_E_PARTITION_NOT_ASSIGNED) as soon as any of them is unassigned. */
TL_EXPORT tl_status tl_server_stream_num_partitions(
    const tl_server_stream *stream, size_t *out) TL_NOEXCEPT;
/* tl_server_stream_partition writes the name of the index'th partition
 * `stream` covers (sorted), borrowed from `stream` until its close callback
 * returns. TL_E_INVALID_ARGUMENT for an index out of range. */
TL_EXPORT tl_status tl_server_stream_partition(const tl_server_stream *stream,
                                               size_t index,
                                               const char **out) TL_NOEXCEPT;
/* tl_server_stream_close ends `stream` with `status` and `message` (may be
 * NULL); the close callback follows. */
TL_EXPORT tl_status tl_server_stream_close(tl_server_stream *stream,
                                           int32_t status,
                                           const char *message) TL_NOEXCEPT;
/* tl_server_start binds the listener and starts the event loops. */
TL_EXPORT tl_status tl_server_start(tl_server *server) TL_NOEXCEPT;
/* tl_server_port writes the bound port (after tl_server_start). */
TL_EXPORT tl_status tl_server_port(const tl_server *server,
                                   uint16_t *out_port) TL_NOEXCEPT;
/* tl_server_stop stops accepting, lets in-flight calls finish for up to
 * `grace_ms`, says goaway to every client and waits for the loops. Idempotent.
 */
TL_EXPORT tl_status tl_server_stop(tl_server *server,
                                   uint32_t grace_ms) TL_NOEXCEPT;

/* tl_server_responder_respond answers the request with `status` (TL_OK or a
 * TL_E_* code) and `data` (on failure, a message). It frees `responder`; call
 * it exactly once, from any thread. */
TL_EXPORT tl_status tl_server_responder_respond(tl_server_responder *responder,
                                                int32_t status,
                                                const uint8_t *data,
                                                size_t data_len) TL_NOEXCEPT;

/* tl_server_status_new takes a snapshot of the connected clients. */
TL_EXPORT tl_status tl_server_status_new(tl_server *server,
                                         tl_server_status **out) TL_NOEXCEPT;
TL_EXPORT void tl_server_status_free(tl_server_status *status) TL_NOEXCEPT;
/* tl_server_status_listen writes the listening address ("127.0.0.1:1792"),
 * borrowed from `status`. */
TL_EXPORT tl_status tl_server_status_listen(
    const tl_server_status *status, const char **out_listen) TL_NOEXCEPT;
/* tl_server_status_connections writes the number of admitted connections and of
 * connections still in the handshake or before hello. */
TL_EXPORT tl_status tl_server_status_connections(
    const tl_server_status *status, uint32_t *out_admitted,
    uint32_t *out_unauthenticated) TL_NOEXCEPT;
/* tl_server_status_num_clients writes how many distinct clients are connected.
 */
TL_EXPORT tl_status tl_server_status_num_clients(const tl_server_status *status,
                                                 size_t *out) TL_NOEXCEPT;
/* tl_server_status_client writes client `i`'s label and fingerprint (borrowed
 * from `status`, valid until it is freed) and its number of connections. */
TL_EXPORT tl_status tl_server_status_client(
    const tl_server_status *status, size_t i, const char **out_label,
    const char **out_fingerprint, uint32_t *out_connections) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_SERVER_H_ */
