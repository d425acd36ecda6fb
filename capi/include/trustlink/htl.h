/* trustlink/htl.h: the Host Trust Link (HTL) part of trustlink's C ABI
 * (docs/htl.md).
 *
 * Include <trustlink/trustlink.h> rather than this file. Three groups of
 * functions:
 * - the appliance's HTL state: one-time tokens, `htl show` data, settings, `htl
 * clear`;
 * - the client's HTL agent (htlclient): start, stop, status, and its local
 * proof service;
 * - the client-side proof hook: an application link asks the local agent for
 * its proof. */
#ifndef TRUSTLINK_HTL_H_
#define TRUSTLINK_HTL_H_

#include "trustlink/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* HTL status of a client, as `htl show` prints it (see tl_htl_status_name). */
#define TL_HTL_STATUS_UNKNOWN 0
#define TL_HTL_STATUS_UP 1
#define TL_HTL_STATUS_GRACE_PERIOD 2
#define TL_HTL_STATUS_DOWN 3

/* OTT status of a client (see tl_ott_status_name). */
#define TL_OTT_STATUS_NO_FILE 0
#define TL_OTT_STATUS_READY 1
#define TL_OTT_STATUS_IN_USE 2
#define TL_OTT_STATUS_EXPIRED 3

/* tl_htl_status_name returns "Up", "Grace Period", "Down" or "Unknown" (also
 * for codes it does not know). The string is static. */
TL_EXPORT const char *tl_htl_status_name(int32_t htl_status) TL_NOEXCEPT;
/* tl_ott_status_name returns "Ready", "In use", "Expired" or "No file". Static.
 */
TL_EXPORT const char *tl_ott_status_name(int32_t ott_status) TL_NOEXCEPT;

/* ---- The appliance
 * ---------------------------------------------------------------- */

/* tl_htl_appliance is the appliance's HTL state under <root>/htl/. Several
 * processes may open the same root (ntlsd and ntlsh); changes are serialised
 * with a file lock. Thread safety: a handle may be used from many threads at
 * once. */
typedef struct tl_htl_appliance tl_htl_appliance;

/* TL_HTL_OPEN_DAEMON: open as the process that serves HTL links (ntlsd). It
 * starts a new "boot": links recorded by an earlier run count as dropped now,
 * so their grace period starts at this boot. Administration tools (ntlsh) pass
 * 0. */
#define TL_HTL_OPEN_DAEMON 1

/* tl_htl_appliance_new makes an unopened handle; open it with
 * tl_htl_appliance_open. */
TL_EXPORT tl_status tl_htl_appliance_new(tl_htl_appliance **out) TL_NOEXCEPT;
/* tl_htl_appliance_open opens (creating if needed, mode 0700) the HTL state
 * under `root`. Every other call on an unopened handle fails with
 * TL_E_FAILED_PRECONDITION. Opening twice is TL_E_FAILED_PRECONDITION. */
TL_EXPORT tl_status tl_htl_appliance_open(tl_htl_appliance *appliance,
                                          const char *root,
                                          int32_t flags) TL_NOEXCEPT;
TL_EXPORT void tl_htl_appliance_free(tl_htl_appliance *appliance) TL_NOEXCEPT;
TL_EXPORT tl_status
tl_htl_appliance_last_error(const tl_htl_appliance *appliance, char *buf,
                            size_t buf_len, size_t *out_len) TL_NOEXCEPT;

/* tl_htl_generate_ott makes a new one-time token for `client` (the registry
 * label), voiding any earlier one, and writes the token file
 * `<out_dir>/<file_name>.ott` (mode 0600, replaced atomically) for the admin to
 * copy; `file_name` is the client's host name or IP. The appliance keeps only
 * the token's hash and expiry. `expiry_seconds` > 0 sets the client's OTT
 * expiry; 0 keeps the client's setting (or the default). */
TL_EXPORT tl_status tl_htl_generate_ott(tl_htl_appliance *appliance,
                                        const char *client,
                                        int64_t expiry_seconds,
                                        const char *out_dir,
                                        const char *file_name) TL_NOEXCEPT;
/* tl_htl_set_client_ott_expiry sets the client's OTT expiry (`client register
 * -ottexpiry`); expiry_seconds < 0 returns the client to the default. */
TL_EXPORT tl_status
tl_htl_set_client_ott_expiry(tl_htl_appliance *appliance, const char *client,
                             int64_t expiry_seconds) TL_NOEXCEPT;
/* tl_htl_clear drops the client's HTL state (`htl clear`): its links close and
 * a new OTT is needed. */
TL_EXPORT tl_status tl_htl_clear(tl_htl_appliance *appliance,
                                 const char *client) TL_NOEXCEPT;
/* Settings (`htl set gracePeriod -seconds N`, `htl set defaultOTTExpiry
 * -seconds N`). Defaults: grace period 60 s, default OTT expiry 300 s,
 * heartbeat interval 10 s. */
TL_EXPORT tl_status tl_htl_set_grace_period(tl_htl_appliance *appliance,
                                            int64_t seconds) TL_NOEXCEPT;
TL_EXPORT tl_status tl_htl_set_default_ott_expiry(tl_htl_appliance *appliance,
                                                  int64_t seconds) TL_NOEXCEPT;
TL_EXPORT tl_status tl_htl_set_heartbeat_interval(tl_htl_appliance *appliance,
                                                  int64_t seconds) TL_NOEXCEPT;
/* tl_htl_get_settings writes the three settings, in seconds. */
TL_EXPORT tl_status
tl_htl_get_settings(tl_htl_appliance *appliance, int64_t *out_grace_period,
                    int64_t *out_default_ott_expiry,
                    int64_t *out_heartbeat_interval) TL_NOEXCEPT;

/* tl_htl_show_list holds the rows of `htl show`. Thread safety: immutable; may
 * be read from many threads. */
typedef struct tl_htl_show_list tl_htl_show_list;

/* tl_htl_show writes a list with the row of `client`, or of every client with
 * HTL state when `client` is NULL, to *out. Free it with tl_htl_show_list_free.
 */
TL_EXPORT tl_status tl_htl_show(tl_htl_appliance *appliance, const char *client,
                                tl_htl_show_list **out) TL_NOEXCEPT;
TL_EXPORT void tl_htl_show_list_free(tl_htl_show_list *list) TL_NOEXCEPT;
TL_EXPORT tl_status tl_htl_show_list_last_error(const tl_htl_show_list *list,
                                                char *buf, size_t buf_len,
                                                size_t *out_len) TL_NOEXCEPT;
TL_EXPORT size_t tl_htl_show_list_count(const tl_htl_show_list *list)
    TL_NOEXCEPT;
/* tl_htl_show_list_client returns row i's client label, borrowed from the list
 * (valid until the list is freed), or NULL when i is out of range. */
TL_EXPORT const char *tl_htl_show_list_client(const tl_htl_show_list *list,
                                              size_t i) TL_NOEXCEPT;
/* tl_htl_show_list_row writes row i's TL_HTL_STATUS_*, TL_OTT_STATUS_*, OTT
 * expiry in seconds, and 1 if that expiry is the default (0 if overridden).
 * TL_E_OUT_OF_RANGE when i is past the end. */
TL_EXPORT tl_status tl_htl_show_list_row(
    const tl_htl_show_list *list, size_t i, int32_t *out_htl_status,
    int32_t *out_ott_status, int64_t *out_ott_expiry_seconds,
    int32_t *out_ott_expiry_is_default) TL_NOEXCEPT;
/* tl_htl_show_list_detail returns row i's detail text (why Down, when the grace
 * period ends), borrowed from the list; "" when there is none; NULL when i is
 * out of range. */
TL_EXPORT const char *tl_htl_show_list_detail(const tl_htl_show_list *list,
                                              size_t i) TL_NOEXCEPT;

/* ---- The client's HTL agent
 * ----------------------------------------------------------- */

/* tl_htl_agent_options is the agent's builder. Thread safety: not thread-safe;
 * build it on one thread, then pass it to tl_htl_agent_new (which copies what
 * it needs). */
typedef struct tl_htl_agent_options tl_htl_agent_options;

TL_EXPORT tl_status tl_htl_agent_options_new(tl_htl_agent_options **out)
    TL_NOEXCEPT;
TL_EXPORT void tl_htl_agent_options_free(tl_htl_agent_options *options)
    TL_NOEXCEPT;
TL_EXPORT tl_status
tl_htl_agent_options_last_error(const tl_htl_agent_options *options, char *buf,
                                size_t buf_len, size_t *out_len) TL_NOEXCEPT;
/* The client root: tokens arrive as <client_root>/htl/<appliance>.ott.
 * Required. */
TL_EXPORT tl_status tl_htl_agent_options_set_client_root(
    tl_htl_agent_options *options, const char *path) TL_NOEXCEPT;
/* Adds an appliance marked HTL in the client configuration (ServerHtlNN = 1).
 */
TL_EXPORT tl_status tl_htl_agent_options_add_appliance(
    tl_htl_agent_options *options, const char *name) TL_NOEXCEPT;
/* The HTL polling interval (default 10000 ms). */
TL_EXPORT tl_status tl_htl_agent_options_set_poll_interval_ms(
    tl_htl_agent_options *options, int64_t ms) TL_NOEXCEPT;
/* A directory on tmpfs (e.g. $XDG_RUNTIME_DIR/trustlink) where the secrets
 * survive an agent restart, in RAM only; a directory on disk is refused. Unset:
 * process memory only, and a restarted agent needs a new OTT. */
TL_EXPORT tl_status tl_htl_agent_options_set_runtime_dir(
    tl_htl_agent_options *options, const char *path) TL_NOEXCEPT;
/* The local proof socket; NULL or unset: tl_htl_default_proof_socket. ""
 * disables it. */
TL_EXPORT tl_status tl_htl_agent_options_set_proof_socket(
    tl_htl_agent_options *options, const char *path) TL_NOEXCEPT;

/* tl_htl_agent is a running (or ready) HTL agent. Thread safety: safe from many
 * threads. */
typedef struct tl_htl_agent tl_htl_agent;

/* tl_htl_agent_new makes an agent from `options`; a failure's message is
 * recorded on `options`. */
TL_EXPORT tl_status tl_htl_agent_new(tl_htl_agent_options *options,
                                     tl_htl_agent **out) TL_NOEXCEPT;
/* tl_htl_agent_free stops the agent (if running) and frees it. */
TL_EXPORT void tl_htl_agent_free(tl_htl_agent *agent) TL_NOEXCEPT;
TL_EXPORT tl_status tl_htl_agent_last_error(const tl_htl_agent *agent,
                                            char *buf, size_t buf_len,
                                            size_t *out_len) TL_NOEXCEPT;
/* tl_htl_agent_start starts the proof service and the polling thread. */
TL_EXPORT tl_status tl_htl_agent_start(tl_htl_agent *agent) TL_NOEXCEPT;
/* tl_htl_agent_stop stops both; idempotent. */
TL_EXPORT tl_status tl_htl_agent_stop(tl_htl_agent *agent) TL_NOEXCEPT;
/* tl_htl_agent_poll does one polling pass now (take up tokens, heartbeat). */
TL_EXPORT tl_status tl_htl_agent_poll(tl_htl_agent *agent) TL_NOEXCEPT;

/* Agent link states (tl_htl_agent_status). */
#define TL_HTL_AGENT_NO_TOKEN 0
#define TL_HTL_AGENT_UP 1
#define TL_HTL_AGENT_RETRYING 2
#define TL_HTL_AGENT_REFUSED 3

/* tl_htl_agent_status writes the agent's state for `appliance`
 * (TL_HTL_AGENT_*), the current secret's generation (0 when none), and the
 * tl_status of its last failure (TL_OK when none); the failure's message is
 * copied to msg_buf (may be NULL), NUL-terminated and truncated to msg_buf_len.
 * TL_E_NOT_FOUND for an appliance the agent does not serve. */
TL_EXPORT tl_status tl_htl_agent_status(
    const tl_htl_agent *agent, const char *appliance, int32_t *out_state,
    uint64_t *out_generation, tl_status *out_last_failure, char *msg_buf,
    size_t msg_buf_len) TL_NOEXCEPT;

/* ---- The client-side proof hook
 * -------------------------------------------------------- */

/* TL_HTL_PROOF_MAX bounds the size of a proof (the payload of the htl-proof
 * frame). */
#define TL_HTL_PROOF_MAX 64
/* TL_HTL_EXPORTER_LEN is the size of the TLS exporter value a proof is bound
 * to. */
#define TL_HTL_EXPORTER_LEN 32
TL_EXPORT size_t tl_htl_proof_max(void) TL_NOEXCEPT;

/* tl_htl_default_proof_socket copies the default socket path
 * ($XDG_RUNTIME_DIR/trustlink/htl-agent.sock, else
 * /tmp/trustlink-<uid>/htl-agent.sock) to buf with its length in *out_len.
 * TL_E_BUFFER_TOO_SMALL, with the size needed in *out_len, when it does not
 * fit (the string-getter rule of base.h). */
TL_EXPORT tl_status tl_htl_default_proof_socket(char *buf, size_t buf_len,
                                                size_t *out_len) TL_NOEXCEPT;

/* tl_htl_prover asks the local agent for HTL proofs. Thread safety: safe from
 * many threads.*/
typedef struct tl_htl_prover tl_htl_prover;

/* tl_htl_prover_new makes a prover for the agent at `socket_path` (NULL: the
 * default). */
TL_EXPORT tl_status tl_htl_prover_new(const char *socket_path,
                                      tl_htl_prover **out) TL_NOEXCEPT;
TL_EXPORT void tl_htl_prover_free(tl_htl_prover *prover) TL_NOEXCEPT;
TL_EXPORT tl_status tl_htl_prover_last_error(const tl_htl_prover *prover,
                                             char *buf, size_t buf_len,
                                             size_t *out_len) TL_NOEXCEPT;
/* tl_htl_prover_prove asks the agent for the proof of a link to `appliance`
 * whose TLS exporter value (TL_HTL_EXPORTER_LEN bytes) is `exporter`, and
 * copies it (at most TL_HTL_PROOF_MAX bytes) to out with its length in
 * *out_len. Errors: TL_E_HTL_AGENT_UNAVAILABLE when no agent runs for this
 * user; TL_E_HTL_DOWN when the agent holds no HTL for that appliance;
 * TL_E_BUFFER_TOO_SMALL when out_cap is too small, with the proof's length in
 * *out_len. */
TL_EXPORT tl_status tl_htl_prover_prove(tl_htl_prover *prover,
                                        const char *appliance,
                                        const uint8_t *exporter,
                                        size_t exporter_len, uint8_t *out,
                                        size_t out_cap,
                                        size_t *out_len) TL_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_HTL_H_ */
