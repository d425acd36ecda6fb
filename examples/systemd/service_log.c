/* service_log: see service_log.h. */
#define _GNU_SOURCE
#include "examples/systemd/service_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *g_program = "";
static int g_prefixes = 0;
static int g_timestamps = 0; /* a --log file: nobody else stamps its lines */

/* stderr_is_journal compares JOURNAL_STREAM ("DEVICE:INODE") with stderr:
 * systemd sets it for the service's own stderr, and a child whose stderr was
 * redirected must not inherit the prefixes. */
static int stderr_is_journal(void) {
  const char *v = getenv("JOURNAL_STREAM");
  unsigned long long dev = 0, ino = 0;
  struct stat st;
  if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2 ||
      fstat(STDERR_FILENO, &st) != 0) {
    return 0;
  }
  return (unsigned long long)st.st_dev == dev &&
         (unsigned long long)st.st_ino == ino;
}

void service_log_init(const char *program, int prefixes) {
  g_program = program;
  g_prefixes = prefixes < 0 ? stderr_is_journal() : prefixes != 0;
}

int service_log_prefixes(void) { return g_prefixes; }

void service_log(int priority, const char *format, ...) {
  char line[2048];
  int n;
  if (g_prefixes) {
    /* The journal stamps each line itself. */
    n = snprintf(line, sizeof(line), "<%d>%s: ", priority, g_program);
  } else if (g_timestamps) {
    struct timespec now;
    struct tm parts;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &parts);
    n = snprintf(
        line, sizeof(line),
        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ", parts.tm_year + 1900,
        parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min,
        parts.tm_sec, now.tv_nsec / 1000000L, g_program);
  } else {
    n = snprintf(line, sizeof(line), "%s: ", g_program);
  }
  if (n < 0) {
    return;
  }
  va_list ap;
  va_start(ap, format);
  const int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, format, ap);
  va_end(ap);
  if (m < 0) {
    return;
  }
  n += m;
  if (n > (int)sizeof(line) - 2) {
    n = (int)sizeof(line) - 2; /* truncated: still one line */
  }
  line[n++] = '\n';
  /* One write per line, so lines of several threads never interleave. */
  ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
  (void)ignored;
}

int service_log_open(const char *path) {
  const int fd =
      open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) {
    return -1;
  }
  if (dup2(fd, STDERR_FILENO) < 0) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  close(fd);
  g_timestamps = 1;
  return 0;
}
