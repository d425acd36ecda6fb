/* trustlink/client.h: the client end of the Network Trust Link (the NTLA).
 *
 * Include <trustlink/trustlink.h> rather than this file. See docs/client.md.
 *
 * A tl_client holds one mutually authenticated TLS link per configured server,
 * pinned to that server's registered certificate, and shows the partitions
 * assigned to this client as slots with stable numbers. Calls from many threads
 * are pipelined on the links. */
#ifndef TRUSTLINK_CLIENT_H_
#define TRUSTLINK_CLIENT_H_

#include "trustlink/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Settings (a builder)
 * ---------------------------------------------------------- */

/* tl_client_settings collects what tl_client_open and tl_client_verify need.
 * Thread safety: not thread-safe while being changed; once built it may be read
 * by many tl_client_open calls at once. */
typedef struct tl_client_settings tl_client_settings;

/* tl_client_settings_new makes empty settings (defaults: keep-alive on, 10 s
 * connect timeout, 10 s heartbeat interval, 30 s heartbeat timeout, reconnect
 * 100 ms..30 s, an I/O thread). Free with tl_client_settings_free. */
TL_EXPORT tl_status tl_client_settings_new(tl_client_settings **out)
    TL_NOEXCEPT;
TL_EXPORT void tl_client_settings_free(tl_client_settings *settings)
    TL_NOEXCEPT;
TL_EXPORT tl_status
tl_client_settings_last_error(const tl_client_settings *settings, char *buf,
                              size_t buf_len, size_t *out_len) TL_NOEXCEPT;

/* tl_client_settings_load_root fills `settings` from a client root: the servers
 * of trustlink.conf (in config order) with their pinned certificates from the
 * trust store (cert/server/<name>Cert.pem agreeing with CAFile.pem), the client
 * certificate and key (refused when the key is group/world readable),
 * TCPKeepAlive, ConnectTimeout and ReceiveTimeout (the longest silence allowed
 * on a link). It replaces any servers and identity set before. `root_path` NULL
 * means $TRUSTLINK_CLIENT_ROOT, else /etc/trustlink/client. */
TL_EXPORT tl_status tl_client_settings_load_root(
    tl_client_settings *settings, const char *root_path) TL_NOEXCEPT;

/* tl_client_settings_add_server appends a server (config order = slot order).
 * `host` may be NULL (then `name` is connected to). `require_htl` is 0 or 1.
 * `pinned_cert_pem` is the server certificate from the trust store; NULL means
 * the server is not in CAFile.pem: it is never contacted and its state says so.
 */
TL_EXPORT tl_status tl_client_settings_add_server(
    tl_client_settings *settings, const char *name, const char *host,
    uint16_t port, int32_t require_htl,
    const char *pinned_cert_pem) TL_NOEXCEPT;

/* tl_client_settings_set_identity_pem sets the client's certificate and private
 * key. */
TL_EXPORT tl_status tl_client_settings_set_identity_pem(
    tl_client_settings *settings, const char *cert_pem,
    const char *key_pem) TL_NOEXCEPT;

/* tl_client_settings_set_keepalive: TCP keep-alive on (1) or off (0), and its
 * idle time, probe interval (seconds) and probe count. */
TL_EXPORT tl_status tl_client_settings_set_keepalive(
    tl_client_settings *settings, int32_t enabled, int32_t idle_seconds,
    int32_t interval_seconds, int32_t count) TL_NOEXCEPT;

/* tl_client_settings_set_timeouts: connect (TCP + TLS + welcome), heartbeat
 * interval (a ping after this much silence) and heartbeat timeout (the link is
 * dead after this much silence), all in milliseconds and non-zero. */
TL_EXPORT tl_status tl_client_settings_set_timeouts(
    tl_client_settings *settings, uint32_t connect_ms,
    uint32_t heartbeat_interval_ms, uint32_t heartbeat_timeout_ms) TL_NOEXCEPT;

/* tl_client_settings_set_reconnect: reconnect on (1) or off (0) after a
 * failure, with an exponential backoff from min_ms to max_ms and jitter. Within
 * 30 s of losing a link that was up, an attempt the server's host refused (a
 * restart in progress) waits at most 500 ms, kept within min_ms..max_ms
 * (docs/client.md, "Faults"). */
TL_EXPORT tl_status
tl_client_settings_set_reconnect(tl_client_settings *settings, int32_t enabled,
                                 uint32_t min_ms, uint32_t max_ms) TL_NOEXCEPT;

/* tl_client_settings_set_no_threads(settings, 1): the library creates no thread
 * (CKF_LIBRARY_CANT_CREATE_OS_THREADS). The embedder polls tl_client_fd for
 * readability and calls tl_client_process; blocking calls drive the I/O
 * themselves while they wait. */
TL_EXPORT tl_status tl_client_settings_set_no_threads(
    tl_client_settings *settings, int32_t no_threads) TL_NOEXCEPT;

/* tl_client_settings_set_dials_per_address: at most `max_dials` (1 to 1024;
 * default 32) connection attempts in flight, from connect to the appliance's
 * welcome, to one server address (host as configured, and port); the client's
 * other links to it wait their turn in order, which is not a failure and
 * costs no backoff. Keep it below the appliance's per-source cap of
 * connections not yet admitted (64 by default), or the appliance evicts the
 * oldest (docs/client.md, "Opening many links"). Kept by
 * tl_client_settings_load_root. */
TL_EXPORT tl_status tl_client_settings_set_dials_per_address(
    tl_client_settings *settings, uint32_t max_dials) TL_NOEXCEPT;

/* tl_client_settings_set_initial_wait: how long tl_client_open waits (with an
 * I/O thread) for the first attempt to every server, so slots are numbered in
 * config order. */
TL_EXPORT tl_status tl_client_settings_set_initial_wait(
    tl_client_settings *settings, uint32_t wait_ms) TL_NOEXCEPT;

/* tl_client_settings_set_htl_proof_socket: where the local HTL agent
 * (htlclient) answers proof requests. After every handshake with a server
 * marked for HTL (require_htl, ServerHtlNN = 1) the link asks it for a proof
 * bound to that TLS session and sends it right after hello; when no agent
 * answers, the server's last failure is TL_E_HTL_AGENT_UNAVAILABLE and its
 * message says to start htlclient. `path` NULL or "" means the default
 * (tl_htl_default_proof_socket). tl_client_settings_load_root keeps it. */
TL_EXPORT tl_status tl_client_settings_set_htl_proof_socket(
    tl_client_settings *settings, const char *path) TL_NOEXCEPT;

/* tl_client_settings_set_htl_proof_timeout: the longest a handshake waits for
 * the agent's proof, in milliseconds (non-zero; default 2000; never longer
 * than what is left of the connect timeout). The request runs on the I/O
 * thread, so it is always bounded. tl_client_settings_load_root keeps it. */
TL_EXPORT tl_status tl_client_settings_set_htl_proof_timeout(
    tl_client_settings *settings, uint32_t timeout_ms) TL_NOEXCEPT;

/* tl_client_settings_set_busy_poll: before a blocking call that is
 * alone on its link sleeps for its answer, it polls the socket without
 * blocking for at most `budget_us` microseconds (0, the default: off; at most
 * TL_BUSY_POLL_MAX_US, else TL_E_INVALID_ARGUMENT naming the limit). It saves
 * the wake-up from a sleep on one-call-at-a-time round trips, at the cost of
 * that CPU. A spin that finds no answer within the budget makes the link skip
 * spinning on its next 1, 2, 4 ... up to 1024 waits (each miss in a row
 * doubles it, each answer found halves it), so an idle or slow link spins on
 * a few waits in a thousand. For
 * latency-bound hosts with a core to spare, not for shared ones
 * (docs/client.md, "Busy-poll"). Kept by tl_client_settings_load_root. */
TL_EXPORT tl_status tl_client_settings_set_busy_poll(
    tl_client_settings *settings, uint32_t budget_us) TL_NOEXCEPT;

/* Link events (since 1.1): a server's link came up (welcomed; calls on its
 * slots work), went down (status says why; tl_client_server_error has the
 * message), or its server listed a different set of partitions (read
 * tl_client_slots again). */
#define TL_LINK_EVENT_UP 1
#define TL_LINK_EVENT_DOWN 2
#define TL_LINK_EVENT_SLOTS_CHANGED 3
/* HA group events (trustlink/ha.h, docs/ha.md): a member stopped taking calls
 * (status says why) or takes them again; `server_index` is then the member's
 * server. A group lost its last member up (status TL_E_UNAVAILABLE) or has
 * one again; `server_index` is then the group's index, as
 * tl_client_ha_group_state takes. */
#define TL_LINK_EVENT_HA_MEMBER_DOWN 4
#define TL_LINK_EVENT_HA_MEMBER_UP 5
#define TL_LINK_EVENT_HA_GROUP_DOWN 6
#define TL_LINK_EVENT_HA_GROUP_UP 7
/* TL_CLIENT_LINK_EVENTS_MAX: how many events tl_client_next_link_event keeps;
 * past it the oldest are dropped (tl_client_server_state has the present). */
#define TL_CLIENT_LINK_EVENTS_MAX 256

/* tl_link_event_cb receives one link event: its TL_LINK_EVENT_* kind, the
 * server's index (config order, as tl_client_server_state takes) and, for
 * TL_LINK_EVENT_DOWN, the failure's code (TL_OK otherwise). Events arrive in
 * order, on the client's I/O thread (or inside tl_client_process), never with
 * a library lock held; it may call the client, except tl_client_close. */
typedef void (*tl_link_event_cb)(void *userdata, int32_t kind,
                                 size_t server_index, tl_status status);

/* tl_client_settings_set_link_event_callback: clients opened from `settings`
 * send their link events to `cb` (NULL: to the queue read with
 * tl_client_next_link_event, the default). Since 1.1. */
TL_EXPORT tl_status tl_client_settings_set_link_event_callback(
    tl_client_settings *settings, tl_link_event_cb cb,
    void *userdata) TL_NOEXCEPT;

/* ---- The client
 * ---------------------------------------------------------------------- */

/* tl_client is an open NTLA.
 * Thread safety: every function may be called from any thread at once, except
 * tl_client_close, which must not race with any other call on the same handle
 * and must not be called from a callback. Callbacks run on the library's I/O
 * thread (or inside tl_client_process), never with a library lock held; they
 * should return quickly. */
typedef struct tl_client tl_client;

/* tl_client_open starts the links. It fails only for unusable settings (no
 * servers, a bad client key); read the failure's message with tl_last_error.
 * Since 1.1 it is no longer kept on `settings`, which many opens may share
 * (tl_client_settings_last_error does not show it).
 * Unreachable servers are not an error: see tl_client_server_state. */
TL_EXPORT tl_status tl_client_open(const tl_client_settings *settings,
                                   tl_client **out) TL_NOEXCEPT;
/* tl_client_close stops the links; calls still in flight complete with
 * TL_E_CANCELLED. Accepts NULL. */
TL_EXPORT void tl_client_close(tl_client *client) TL_NOEXCEPT;
/* tl_client_last_error: the message of the most recent call on `client` from
 * any thread. Deprecated when several threads use the client: another call
 * may have replaced the message before it is read; use tl_last_error. */
TL_EXPORT tl_status tl_client_last_error(const tl_client *client, char *buf,
                                         size_t buf_len,
                                         size_t *out_len) TL_NOEXCEPT;

/* TL_CLIENT_NO_TIMEOUT as a timeout_ms waits without limit. */
#define TL_CLIENT_NO_TIMEOUT 0xFFFFFFFFu

/* tl_client_wait_ready waits until the first connection attempt to every server
 * has settled (TL_E_DEADLINE_EXCEEDED if timeout_ms passed first). */
TL_EXPORT tl_status tl_client_wait_ready(tl_client *client,
                                         uint32_t timeout_ms) TL_NOEXCEPT;

/* Per-server state, in config order. */
#define TL_LINK_NOT_TRUSTED 0
#define TL_LINK_BACKOFF 1
#define TL_LINK_CONNECTING 2
#define TL_LINK_HANDSHAKING 3
#define TL_LINK_AWAITING_WELCOME 4
#define TL_LINK_READY 5
#define TL_LINK_STOPPED 6

TL_EXPORT tl_status tl_client_server_count(const tl_client *client,
                                           size_t *out_count) TL_NOEXCEPT;
/* tl_client_server_state writes the server's TL_LINK_* state and the code of
 * its last failure (TL_OK when ready). */
TL_EXPORT tl_status tl_client_server_state(
    const tl_client *client, size_t index, int32_t *out_state,
    tl_status *out_last_status) TL_NOEXCEPT;
/* tl_client_server_name and tl_client_server_error copy the server's name / its
 * last failure message into buf by the string-getter rule of base.h. */
TL_EXPORT tl_status tl_client_server_name(const tl_client *client, size_t index,
                                          char *buf, size_t buf_len,
                                          size_t *out_len) TL_NOEXCEPT;
TL_EXPORT tl_status tl_client_server_error(const tl_client *client,
                                           size_t index, char *buf,
                                           size_t buf_len,
                                           size_t *out_len) TL_NOEXCEPT;

/* tl_client_next_link_event takes the oldest queued link event of a client
 * opened without a link-event callback: TL_OK with the event written, or
 * TL_E_NOT_FOUND (not recorded as an error) when none is queued. Without
 * library threads, call it after tl_client_process; events are queued by the
 * I/O that tl_client_process (or a blocking call) does.
 * TL_E_FAILED_PRECONDITION when the client has a callback. Since 1.1. */
TL_EXPORT tl_status tl_client_next_link_event(
    tl_client *client, int32_t *out_kind, size_t *out_server_index,
    tl_status *out_status) TL_NOEXCEPT;

/* ---- Slots
 * -----------------------------------------------------------------------------
 */

#define TL_SLOT_READY 0
#define TL_SLOT_SERVER_DOWN 1
#define TL_SLOT_REMOVED 2

/* tl_slot_list is a snapshot of the slot list. Thread safety: immutable;
 * readable from any thread. */
typedef struct tl_slot_list tl_slot_list;

TL_EXPORT tl_status tl_client_slots(tl_client *client,
                                    tl_slot_list **out) TL_NOEXCEPT;
TL_EXPORT void tl_slot_list_free(tl_slot_list *list) TL_NOEXCEPT;
TL_EXPORT size_t tl_slot_list_count(const tl_slot_list *list) TL_NOEXCEPT;
/* tl_slot_list_get writes entry `index`'s slot id (what tl_client_call takes)
 * and its TL_SLOT_* state. */
TL_EXPORT tl_status tl_slot_list_get(const tl_slot_list *list, size_t index,
                                     int32_t *out_slot_id,
                                     int32_t *out_state) TL_NOEXCEPT;
/* These return strings borrowed from `list` (valid until tl_slot_list_free), or
 * NULL when index is out of range. */
TL_EXPORT const char *tl_slot_list_server(const tl_slot_list *list,
                                          size_t index) TL_NOEXCEPT;
TL_EXPORT const char *tl_slot_list_partition(const tl_slot_list *list,
                                             size_t index) TL_NOEXCEPT;
TL_EXPORT const char *tl_slot_list_label(const tl_slot_list *list,
                                         size_t index) TL_NOEXCEPT;
TL_EXPORT const char *tl_slot_list_serial(const tl_slot_list *list,
                                          size_t index) TL_NOEXCEPT;

/* ---- Calls
 * -----------------------------------------------------------------------------
 */

/* tl_response is a call's response bytes. Thread safety: immutable. */
typedef struct tl_response tl_response;

/* tl_client_call sends `op` with `data` to the slot's partition and waits for
 * the answer or timeout_ms. Fails fast with TL_E_UNAVAILABLE when the slot's
 * server is not connected, TL_E_CONNECTION_LOST when the link drops during the
 * call, TL_E_DEADLINE_EXCEEDED at the timeout, and the partition's own status
 * otherwise. */
TL_EXPORT tl_status tl_client_call(tl_client *client, int32_t slot, uint32_t op,
                                   const uint8_t *data, size_t data_len,
                                   uint32_t timeout_ms,
                                   tl_response **out) TL_NOEXCEPT;
TL_EXPORT void tl_response_free(tl_response *response) TL_NOEXCEPT;
/* tl_response_data returns the bytes, borrowed from `response`. */
TL_EXPORT const uint8_t *tl_response_data(const tl_response *response)
    TL_NOEXCEPT;
TL_EXPORT size_t tl_response_len(const tl_response *response) TL_NOEXCEPT;

/* tl_call_cb receives an asynchronous call's outcome, exactly once. On TL_OK
 * data holds the response; otherwise it holds the failure message (UTF-8, not
 * NUL-terminated). The bytes are borrowed for the duration of the callback. */
typedef void (*tl_call_cb)(void *userdata, tl_status status,
                           const uint8_t *data, size_t data_len);

/* tl_client_call_async sends the call and returns at once. On TL_OK, `cb` runs
 * exactly once later (also at the timeout, on connection loss and at
 * tl_client_close); on any other return it is never called. */
TL_EXPORT tl_status tl_client_call_async(tl_client *client, int32_t slot,
                                         uint32_t op, const uint8_t *data,
                                         size_t data_len, uint32_t timeout_ms,
                                         tl_call_cb cb,
                                         void *userdata) TL_NOEXCEPT;

/* ---- Driving I/O without library threads
 * ----------------------------------------------- */

/* tl_client_fd writes a file descriptor (an epoll fd) that is readable whenever
 * tl_client_process has work. It belongs to the client: do not close it. */
TL_EXPORT tl_status tl_client_fd(const tl_client *client,
                                 int *out_fd) TL_NOEXCEPT;
/* tl_client_process waits up to timeout_ms for work, does it and runs due
 * callbacks on the calling thread. */
TL_EXPORT tl_status tl_client_process(tl_client *client,
                                      uint32_t timeout_ms) TL_NOEXCEPT;

/* ---- Byte streams (e.g. the "pkcs11" service)
 * ----------------------------------------- */

typedef void (*tl_stream_data_cb)(void *userdata, const uint8_t *data,
                                  size_t data_len);
/* tl_stream_close_cb: the stream ended (TL_OK: closed by the server cleanly).
 */
typedef void (*tl_stream_close_cb)(void *userdata, tl_status status,
                                   const char *message);

TL_EXPORT tl_status tl_client_stream_open(tl_client *client, int32_t slot,
                                          const char *service,
                                          tl_stream_data_cb on_data,
                                          tl_stream_close_cb on_close,
                                          void *userdata,
                                          uint64_t *out_stream) TL_NOEXCEPT;
/* tl_client_server_stream_open opens a client-wide byte stream to `service` on
 * server number `server` (0 .. tl_client_server_count - 1): one stream that
 * covers every partition assigned to this client on that server when it opens
 * (the "pkcs11" service serves all their tokens on it). The server closes it
 * with TL_E_PARTITION_NOT_ASSIGNED as soon as any of those partitions is
 * unassigned, and refuses it when none is assigned. Callbacks, the stream
 * handle and the other calls are as for tl_client_stream_open.
 * TL_E_NOT_FOUND for a server number out of range, TL_E_UNAVAILABLE when that
 * server's link is down. */
TL_EXPORT tl_status tl_client_server_stream_open(
    tl_client *client, size_t server, const char *service,
    tl_stream_data_cb on_data, tl_stream_close_cb on_close, void *userdata,
    uint64_t *out_stream) TL_NOEXCEPT;
/* tl_client_stream_send queues data_len bytes of data (copied) on the stream.
 * Returns TL_OK once queued, which does not mean the server has read them.
 * Returns TL_E_NOT_FOUND when the stream has already ended, which the caller
 * cannot rule out: the server may close a stream at any time, even before the
 * first send (for example an open it refuses). If it ended from the server's
 * side or by a lost link, on_close is called exactly once with the server's
 * status and reason; it may run after this call has returned TL_E_NOT_FOUND,
 * because the stream is marked ended before its callback runs, so a caller
 * that wants the reason waits for on_close rather than treating the failed
 * send as the end. If it ended by tl_client_stream_close, on_close is not
 * called. */
TL_EXPORT tl_status tl_client_stream_send(tl_client *client, uint64_t stream,
                                          const uint8_t *data,
                                          size_t data_len) TL_NOEXCEPT;
/* tl_client_stream_close ends the stream from this side; on_close is not
 * called. Returns TL_OK also when the stream has already ended. */
TL_EXPORT tl_status tl_client_stream_close(tl_client *client,
                                           uint64_t stream) TL_NOEXCEPT;

/* ---- Verify (vtl verify)
 * ---------------------------------------------------------------- */

/* tl_verify_results: one entry per configured server. Thread safety: immutable.
 */
typedef struct tl_verify_results tl_verify_results;

/* tl_client_verify connects once to every server in `settings` (in parallel,
 * within timeout_ms) and reports per server: TL_OK with its slots,
 * TL_E_CONNECTION_REFUSED, TL_E_DEADLINE_EXCEEDED, TL_E_CERT_PIN_MISMATCH,
 * TL_E_NOT_REGISTERED, TL_E_IP_MISMATCH, TL_E_NO_PARTITIONS,
 * TL_E_HTL_REQUIRED_BY_APPLIANCE, TL_E_HTL_REQUIRED_BY_CLIENT,
 * TL_E_TRUST_STORE_INCONSISTENT, or another TLS/protocol failure. When the
 * call itself fails, its message is in tl_last_error (since 1.1 not on
 * `settings`). */
TL_EXPORT tl_status tl_client_verify(const tl_client_settings *settings,
                                     uint32_t timeout_ms,
                                     tl_verify_results **out) TL_NOEXCEPT;
TL_EXPORT void tl_verify_results_free(tl_verify_results *results) TL_NOEXCEPT;
TL_EXPORT size_t tl_verify_results_count(const tl_verify_results *results)
    TL_NOEXCEPT;
/* tl_verify_results_num_failed counts servers whose outcome is not TL_OK. */
TL_EXPORT size_t tl_verify_results_num_failed(const tl_verify_results *results)
    TL_NOEXCEPT;
/* tl_verify_results_get writes server `index`'s outcome, port and number of
 * slots. */
TL_EXPORT tl_status tl_verify_results_get(const tl_verify_results *results,
                                          size_t index, tl_status *out_outcome,
                                          uint16_t *out_port,
                                          size_t *out_num_slots) TL_NOEXCEPT;
/* Strings borrowed from `results` (valid until tl_verify_results_free), NULL
 * when out of range. The message is "" for TL_OK. */
TL_EXPORT const char *tl_verify_results_server(const tl_verify_results *results,
                                               size_t index) TL_NOEXCEPT;
TL_EXPORT const char *tl_verify_results_host(const tl_verify_results *results,
                                             size_t index) TL_NOEXCEPT;
TL_EXPORT const char *tl_verify_results_message(
    const tl_verify_results *results, size_t index) TL_NOEXCEPT;
TL_EXPORT const char *tl_verify_results_slot_partition(
    const tl_verify_results *results, size_t index, size_t slot) TL_NOEXCEPT;
TL_EXPORT const char *tl_verify_results_slot_label(
    const tl_verify_results *results, size_t index, size_t slot) TL_NOEXCEPT;
TL_EXPORT const char *tl_verify_results_slot_serial(
    const tl_verify_results *results, size_t index, size_t slot) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_CLIENT_H_ */
