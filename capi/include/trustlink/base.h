/* trustlink/base.h: the ground every part of trustlink's C ABI stands on.
 *
 * Include <trustlink/trustlink.h> rather than this file. */
#ifndef TRUSTLINK_BASE_H_
#define TRUSTLINK_BASE_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define TL_EXPORT __declspec(dllexport)
#else
/* TL_EXPORT marks a function as part of the ABI. The library is built with
 * -fvisibility=hidden and a version script, so nothing else is exported. */
#define TL_EXPORT __attribute__((visibility("default")))
#endif

/* TL_NOEXCEPT: no function throws. noexcept only from C++11 on, so the headers
 * also compile as C++98 (where `throw()` would add a run-time check). */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define TL_NOEXCEPT noexcept
#else
#define TL_NOEXCEPT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Version. TL_VERSION_NUMBER is MAJOR * 1000000 + MINOR * 1000 + PATCH. The ABI
 * promise (docs/abi.md): within one MAJOR, symbols are only added, never
 * removed or changed, and status codes are never renumbered or reused. */
#define TL_VERSION_MAJOR 1
#define TL_VERSION_MINOR 1
#define TL_VERSION_PATCH 0
#define TL_VERSION_NUMBER \
  (TL_VERSION_MAJOR * 1000000 + TL_VERSION_MINOR * 1000 + TL_VERSION_PATCH)
#define TL_VERSION_STRING "1.1.0"

/* tl_version_number returns TL_VERSION_NUMBER of the library loaded at run
 * time, which may be newer than the header a program was compiled with. */
TL_EXPORT uint32_t tl_version_number(void) TL_NOEXCEPT;

/* tl_version_string returns the version as "MAJOR.MINOR.PATCH". The string is
 * static; the caller must not free it. */
TL_EXPORT const char *tl_version_string(void) TL_NOEXCEPT;

/* tl_status is the result of every fallible call: TL_OK (0) or one of the
 * TL_E_* codes. Codes are never renumbered or reused. A handle keeps the
 * message that goes with its last failure; see tl_*_last_error. */
typedef int32_t tl_status;

#define TL_OK 0
/* General codes (1-99). */
#define TL_E_INVALID_ARGUMENT 1
#define TL_E_NOT_FOUND 2
#define TL_E_ALREADY_EXISTS 3
#define TL_E_PERMISSION_DENIED 4
#define TL_E_FAILED_PRECONDITION 5
#define TL_E_IO 6
#define TL_E_PARSE 7
#define TL_E_INTERNAL 8
#define TL_E_UNAVAILABLE 9
#define TL_E_DEADLINE_EXCEEDED 10
#define TL_E_CANCELLED 11
#define TL_E_UNAUTHENTICATED 12
#define TL_E_OUT_OF_RANGE 13
#define TL_E_RESOURCE_EXHAUSTED 14
#define TL_E_BUFFER_TOO_SMALL 15
#define TL_E_UNIMPLEMENTED 16
#define TL_E_ABORTED 17
#define TL_E_DATA_LOSS 18
#define TL_E_NO_MEMORY 19
/* The tl_client or tl_server was made by the parent of this fork() child: its
 * links and threads belong to the parent. The child makes its own handle
 * (docs/c-api.md, "Fork"). */
#define TL_E_FORKED 20
/* Certificates, keys, names and the trust store (100-199). */
#define TL_E_CERT_INVALID 100
#define TL_E_CERT_EXPIRED 101
#define TL_E_CERT_NAME_MISMATCH 102
#define TL_E_CERT_PIN_MISMATCH 103
#define TL_E_KEY_PERMISSIONS 104
#define TL_E_TRUST_STORE_INCONSISTENT 105
#define TL_E_NAME_INVALID 106
#define TL_E_CONFIG_INVALID 107
/* Admission and the link (200-299). */
#define TL_E_NOT_REGISTERED 200
#define TL_E_IP_MISMATCH 201
#define TL_E_NO_PARTITIONS 202
#define TL_E_HTL_REQUIRED_BY_APPLIANCE 203
#define TL_E_HTL_REQUIRED_BY_CLIENT 204
#define TL_E_CONNECTION_LOST 205
#define TL_E_CONNECTION_REFUSED 206
#define TL_E_TLS_HANDSHAKE 207
#define TL_E_PROTOCOL 208
#define TL_E_PARTITION_NOT_ASSIGNED 209
/* A call on an HA group's slot was in flight when its member was lost, and its
 * op is not declared pure (docs/ha.md, "Retry rules"): it may or may not have
 * run on that member. Check its effect before repeating it. */
#define TL_E_OUTCOME_UNKNOWN 210
/* Host Trust Link (300-399). */
#define TL_E_HTL_DOWN 300
#define TL_E_OTT_EXPIRED 301
#define TL_E_OTT_USED 302
#define TL_E_OTT_INVALID 303
#define TL_E_HTL_CLONE_DETECTED 304
#define TL_E_HTL_AGENT_UNAVAILABLE 305

/* tl_status_name returns the symbolic name of status ("TL_E_NOT_FOUND"), or
 * "TL_E_UNKNOWN" for a code this library does not know. The string is static.
 */
TL_EXPORT const char *tl_status_name(tl_status status) TL_NOEXCEPT;

/* Errors (docs/c-api.md, docs/adr/0005). Every failing call keeps its message
 * in two places:
 *
 * - The calling thread's last error, read with tl_last_error. It is the
 *   message of the most recent call on this thread that failed, whatever other
 *   threads do meanwhile, with any handle; a successful call leaves it alone
 *   (like errno). Argument errors (a NULL pointer, data == NULL with
 *   data_len > 0) and calls with no handle (tl_client_open, tl_status_name's
 *   neighbours) set it too. Read it right after the failing call, on the same
 *   OS thread: a binding whose green threads can move between OS threads
 *   (goroutines, say) reads it in the same native call or pins the thread.
 *
 * - The handle's last error. Every handle type tl_T offers
 *
 *     tl_status tl_T_last_error(const tl_T *h, char *buf, size_t buf_len,
 *                               size_t *out_len);
 *
 *   which holds the message of the most recent call on that handle from any
 *   thread, "" after a successful one. Deprecated for handles that several
 *   threads use at once (tl_client): another thread's call may have replaced
 *   the message before it is read. Use tl_last_error.
 *
 * Both getters, like every function that copies a string into a caller's
 * buffer, copy the message and a NUL into buf and write its length (without
 * the NUL) to *out_len. When buf_len is too small, nothing is written to buf,
 * *out_len gets the buffer size needed (NUL included) and the result is
 * TL_E_BUFFER_TOO_SMALL; buf may be NULL when buf_len is 0, to ask for the
 * size. Messages are at most TL_ERROR_MESSAGE_MAX bytes including the NUL, so a
 * buffer of that size always suffices. Reading an error never changes it.
 *
 * Constructors (tl_T_new) only allocate and fail only with TL_E_NO_MEMORY or a
 * NULL argument. */
#define TL_ERROR_MESSAGE_MAX 1024

/* tl_error_message_max returns TL_ERROR_MESSAGE_MAX, for bindings without a C
 * preprocessor. */
TL_EXPORT size_t tl_error_message_max(void) TL_NOEXCEPT;

/* tl_last_error copies the message of the most recent call made on the
 * calling thread that failed (see Errors above); "" if none has. Returns TL_OK,
 * TL_E_BUFFER_TOO_SMALL (with the size needed in *out_len) or
 * TL_E_INVALID_ARGUMENT (out_len NULL, or buf NULL with buf_len > 0); its own
 * failures do not replace the message. Since 1.1. */
TL_EXPORT tl_status tl_last_error(char *buf, size_t buf_len,
                                  size_t *out_len) TL_NOEXCEPT;

/* tl_last_error_status returns the code of that same failure (TL_OK if no call
 * on this thread has failed). Since 1.1. */
TL_EXPORT tl_status tl_last_error_status(void) TL_NOEXCEPT;

/* TL_BUSY_POLL_MAX_US is the largest busy-poll budget, in microseconds, that
 * tl_client_settings_set_busy_poll and tl_server_options_set_busy_poll
 * accept: beyond it a sleep's wake-up cost is noise and the spin only burns a
 * core. */
#define TL_BUSY_POLL_MAX_US 1000

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_BASE_H_ */
