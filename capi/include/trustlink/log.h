/* trustlink/log.h: the library's log lines and events, delivered to the host.
 *
 * Include <trustlink/trustlink.h> rather than this file. See docs/c-api.md.
 *
 * A tl_server (and the HTL appliance inside it) logs one line per event:
 * listening, authenticated, refused, closing, slots-changed, htl-down, HTL
 * clone alerts. Without a callback the lines go to stderr with a timestamp, as
 * the example programs expect. With one, each line arrives as a tl_log_event:
 * a level, a kind, the client, the addresses involved and the other key=value
 * fields of the line. Since 1.1. */
#ifndef TRUSTLINK_LOG_H_
#define TRUSTLINK_LOG_H_

#include "trustlink/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Levels. */
#define TL_LOG_DEBUG 0
#define TL_LOG_INFO 1
/* TL_LOG_WARNING: a refused peer, a failed handshake, a protocol error, a
 * client whose HTL went down. */
#define TL_LOG_WARNING 2
/* TL_LOG_ERROR: the server itself is impaired (say, a certificate it cannot
 * load). */
#define TL_LOG_ERROR 3
/* TL_LOG_ALERT: a security event that needs a person: an HTL clone alert. */
#define TL_LOG_ALERT 4

/* tl_log_event is one log line. Thread safety: immutable; borrowed by the
 * callback it is passed to, valid until that callback returns. */
typedef struct tl_log_event tl_log_event;

/* tl_log_cb receives an event. It may be called from any of the library's
 * threads, several at once, never while the library holds a lock; it may call
 * the library (tl_set_log_callback included), and should return quickly. */
typedef void (*tl_log_cb)(void *userdata, const tl_log_event *event);

/* tl_set_log_callback sends every event at `min_level` or above to `cb` in
 * place of stderr, process-wide; events below min_level are dropped. `cb` NULL
 * restores stderr (every level). When it returns, the previous callback is not
 * running on any other thread and is not called again, so its userdata may be
 * freed (a call from inside a callback waits for the other threads' calls,
 * not for its own). Safe to call
 * from any thread. Returns TL_E_INVALID_ARGUMENT for a level outside
 * TL_LOG_DEBUG..TL_LOG_ALERT. */
TL_EXPORT tl_status tl_set_log_callback(tl_log_cb cb, void *userdata,
                                        int32_t min_level) TL_NOEXCEPT;

/* tl_log_event_level returns the event's TL_LOG_* level (TL_LOG_INFO for
 * NULL). */
TL_EXPORT int32_t tl_log_event_level(const tl_log_event *event) TL_NOEXCEPT;

/* The getters below follow the borrowed-string convention (docs/c-api.md):
 * on TL_OK *out is a NUL-terminated string owned by the event.
 *
 * tl_log_event_source: what logged it ("ntls", the server).
 * tl_log_event_kind: what happened: "listening", "authenticated", "refused",
 *   "handshake-failed", "protocol-error", "closing", "slots-changed",
 *   "htl-down", "htl-alert", "admitted-htl", "certificate-error", "stopped",
 *   ... (new kinds may appear; treat unknown ones by level).
 * tl_log_event_line: the whole line, as it would go to stderr without the
 *   timestamp.
 * tl_log_event_client: the client's label; TL_E_NOT_FOUND when the event
 *   names none (a peer not yet authenticated, say). */
TL_EXPORT tl_status tl_log_event_source(const tl_log_event *event,
                                        const char **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_log_event_kind(const tl_log_event *event,
                                      const char **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_log_event_line(const tl_log_event *event,
                                      const char **out) TL_NOEXCEPT;
TL_EXPORT tl_status tl_log_event_client(const tl_log_event *event,
                                        const char **out) TL_NOEXCEPT;

/* tl_log_event_num_addresses and tl_log_event_address: the network addresses
 * ("127.0.0.2:51234", "[::1]:51234") the event is about: the peer of a
 * connection; for an HTL clone alert, where the stale proof came from
 * first, then where the live secret was issued. */
TL_EXPORT size_t tl_log_event_num_addresses(const tl_log_event *event)
    TL_NOEXCEPT;
TL_EXPORT tl_status tl_log_event_address(const tl_log_event *event,
                                         size_t index,
                                         const char **out) TL_NOEXCEPT;

/* tl_log_event_field looks up one key=value field of the line ("reason",
 * "fingerprint", "peer", ...): TL_E_NOT_FOUND when absent.
 * tl_log_event_num_fields and tl_log_event_field_at list them in line order.
 */
TL_EXPORT tl_status tl_log_event_field(const tl_log_event *event,
                                       const char *key,
                                       const char **out) TL_NOEXCEPT;
TL_EXPORT size_t tl_log_event_num_fields(const tl_log_event *event) TL_NOEXCEPT;
TL_EXPORT tl_status tl_log_event_field_at(const tl_log_event *event,
                                          size_t index, const char **out_key,
                                          const char **out_value) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_LOG_H_ */
