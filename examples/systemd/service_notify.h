/* service_notify: readiness and state for a service manager, by the
 * NOTIFY_SOCKET protocol of sd_notify(3): one datagram of "KEY=value" lines
 * on the unix datagram socket named by $NOTIFY_SOCKET. A few lines of code
 * instead of libsystemd, which ntlsd and htlclient would otherwise link for
 * this alone. Used by the units in this directory (docs/server.md). */
#ifndef TRUSTLINK_EXAMPLES_SYSTEMD_SERVICE_NOTIFY_H_
#define TRUSTLINK_EXAMPLES_SYSTEMD_SERVICE_NOTIFY_H_

#ifdef __cplusplus
extern "C" {
#endif

/* service_notify sends `state` (for example "READY=1\nMAINPID=42") to the
 * socket named by $NOTIFY_SOCKET: a path, or an abstract name written with a
 * leading '@'. Returns 1 when sent, 0 when NOTIFY_SOCKET is unset (no manager
 * is listening), and -1 with errno set when the send failed. Thread safety:
 * safe from any thread. */
int service_notify(const char *state);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_EXAMPLES_SYSTEMD_SERVICE_NOTIFY_H_ */
