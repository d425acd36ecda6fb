/* service_log: the log lines of a long-running example program (ntlsd,
 * htlclient). Under systemd, stderr goes to the journal, which reads a leading
 * "<N>" as the line's syslog priority; elsewhere lines go plain to stderr or to
 * a --log file that SIGHUP reopens (for logrotate). */
#ifndef TRUSTLINK_EXAMPLES_SYSTEMD_SERVICE_LOG_H_
#define TRUSTLINK_EXAMPLES_SYSTEMD_SERVICE_LOG_H_

#include <syslog.h> /* LOG_ERR (3), LOG_WARNING (4), LOG_INFO (6) */

#ifdef __cplusplus
extern "C" {
#endif

/* service_log_init sets the program name that starts each line and whether
 * lines carry priority prefixes: `prefixes` 1 yes, 0 no, -1 when stderr is the
 * journal's stream (JOURNAL_STREAM names stderr's device and inode, as systemd
 * sets it). Call it once, before any thread logs. */
void service_log_init(const char *program, int prefixes);

/* service_log_prefixes says whether lines carry priority prefixes. */
int service_log_prefixes(void);

/* service_log writes one line: "<priority>program: message" for the journal
 * (which adds its own time), "<UTC time> program: message" to a log file
 * (after service_log_open), else "program: message". Thread safety: safe from
 * any thread (one write per line). */
void service_log(int priority, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* service_log_open opens `path` for appending (0640, created if missing) and
 * makes it stderr, so every later line, the library's included, goes there.
 * Called again (on SIGHUP) it starts a new file after a rotation. Returns 0,
 * or -1 with errno set, leaving stderr as it was. */
int service_log_open(const char *path);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRUSTLINK_EXAMPLES_SYSTEMD_SERVICE_LOG_H_ */
