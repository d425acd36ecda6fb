/* service_notify: see service_notify.h. */
#define _GNU_SOURCE
#include "examples/systemd/service_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int service_notify(const char *state) {
  const char *name = getenv("NOTIFY_SOCKET");
  if (name == NULL || name[0] == '\0') {
    return 0;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  const size_t len = strlen(name);
  if ((name[0] != '/' && name[0] != '@') || len >= sizeof(addr.sun_path)) {
    errno = EINVAL;
    return -1;
  }
  memcpy(addr.sun_path, name, len);
  if (name[0] == '@') {
    addr.sun_path[0] = '\0'; /* an abstract socket */
  }
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  const socklen_t addr_len =
      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
  const ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                              (const struct sockaddr *)&addr, addr_len);
  const int saved = errno;
  close(fd);
  if (sent < 0) {
    errno = saved;
    return -1;
  }
  return 1;
}
