/* trustlink/stats.h: counters of a server or a client, for monitoring.
 *
 * Include <trustlink/trustlink.h> rather than this file. See docs/c-api.md
 * ("Counters"), docs/server.md and docs/client.md for what each counter
 * means. Since 1.1.
 *
 * A snapshot is a list of named unsigned 64-bit values, so new counters can
 * be added in later versions without new functions: look a value up by name,
 * or list them all (a monitoring agent exports every name it finds). Names are
 * lower_snake_case and never renamed or reused once published. Counters count
 * from the moment the tl_server or tl_client was made; calls_in_flight is a
 * gauge; the call_latency_*_ns values are quantiles in nanoseconds. */
#ifndef TRUSTLINK_STATS_H_
#define TRUSTLINK_STATS_H_

#include "trustlink/base.h"
#include "trustlink/client.h"
#include "trustlink/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tl_stats is an immutable snapshot of counters, taken at one moment. Each
 * value is read atomically, but the values are not one consistent cut: a
 * call that finishes while the snapshot is taken may show in calls and not
 * yet in its latency. Thread safety: immutable; readable from any thread. */
typedef struct tl_stats tl_stats;

/* tl_server_stats takes a snapshot of `server`'s counters: handshakes (full,
 * resumed, failed), refusals by admission rule (refused_unknown_certificate,
 * refused_ip_mismatch, refused_dns, refused_certificate_validity,
 * refused_alpn, refused_htl, refused_link_cap, refused_unauthenticated_cap,
 * refused_other), evicted_unauthenticated, calls, calls_failed,
 * calls_in_flight, bytes_in, bytes_out (TLS bytes on the sockets), htl_up,
 * htl_down, htl_clone_alerts and call_latency_p50_ns, _p90_ns, _p99_ns
 * (docs/server.md, "Counters"). Cheap enough to poll every second: it takes
 * no lock the event loops use. On TL_OK *out is a new snapshot, freed with
 * tl_stats_free. */
TL_EXPORT tl_status tl_server_stats(tl_server *server,
                                    tl_stats **out) TL_NOEXCEPT;

/* tl_client_stats takes a snapshot of `client`'s counters over all its
 * links: handshakes_full, handshakes_resumed, link_up, link_down, calls,
 * calls_failed (a call that failed fast or timed out included),
 * calls_in_flight, bytes_in, bytes_out and call_latency_p50_ns, _p90_ns,
 * _p99_ns (docs/client.md, "Counters"). On TL_OK *out is a new snapshot,
 * freed with tl_stats_free. */
TL_EXPORT tl_status tl_client_stats(tl_client *client,
                                    tl_stats **out) TL_NOEXCEPT;

/* tl_stats_free frees a snapshot. NULL is allowed. */
TL_EXPORT void tl_stats_free(tl_stats *stats) TL_NOEXCEPT;

/* tl_stats_num_values returns how many named values `stats` holds (0 for
 * NULL). */
TL_EXPORT size_t tl_stats_num_values(const tl_stats *stats) TL_NOEXCEPT;

/* tl_stats_value_at writes value `index`'s name (borrowed from `stats`, valid
 * until tl_stats_free) and value, in a fixed order documented with the
 * counters. TL_E_OUT_OF_RANGE when index >= tl_stats_num_values. */
TL_EXPORT tl_status tl_stats_value_at(const tl_stats *stats, size_t index,
                                      const char **out_name,
                                      uint64_t *out_value) TL_NOEXCEPT;

/* tl_stats_value writes the value named `name`. TL_E_NOT_FOUND (with a
 * message) when this library has no such counter: an older library than the
 * documentation read, or a misspelt name. */
TL_EXPORT tl_status tl_stats_value(const tl_stats *stats, const char *name,
                                   uint64_t *out_value) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_STATS_H_ */
