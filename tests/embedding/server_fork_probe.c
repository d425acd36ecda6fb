/* server_fork_probe: a process serving links with tl_server forks.
 *
 *   server_fork_probe APPLIANCE_ROOT CLIENT_ROOT SERVER_PEM
 *
 * The parent runs a tl_server on APPLIANCE_ROOT (127.0.0.1, a port the kernel
 * picks) and a client of it (CLIENT_ROOT's identity, SERVER_PEM pinned), whose
 * two threads keep calling echo while the parent forks. The child
 *   1. calls the inherited server (tl_server_port, tl_server_start,
 *      tl_server_status_new) and must get TL_E_FORKED;
 *   2. frees the inherited server and client, after which it holds no
 *      listening socket on the parent's port (so a restarted parent could
 *      bind it again);
 *   3. runs its own server on another port and echoes through it.
 * The parent's calls must all succeed and its link never drop.
 * It prints "PASS" and exits 0, or says what failed and exits 1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe_calls.h"
#include "trustlink/trustlink.h"

#define CALLERS 2
#define PROBE_SERVER "forkprobe"

static tl_client *g_client;
static int32_t g_slot;
static char g_pem[65536];

static void last_error(char *buf, size_t len) {
  size_t n = 0;
  tl_last_error(buf, len, &n);
}

/* start_server runs a server on `root` at 127.0.0.1 and a free port. */
static tl_server *start_server(const char *root, uint16_t *port) {
  tl_server_options *opts = NULL;
  tl_server *server = NULL;
  if (tl_server_options_new(&opts) != TL_OK ||
      tl_server_options_set_root(opts, root, "127.0.0.1") != TL_OK ||
      tl_server_options_set_listen(opts, "127.0.0.1", 0) != TL_OK ||
      tl_server_options_set_threads(opts, 1) != TL_OK ||
      tl_server_new(opts, &server) != TL_OK ||
      tl_server_start(server) != TL_OK ||
      tl_server_port(server, port) != TL_OK) {
    char err[TL_ERROR_MESSAGE_MAX];
    last_error(err, sizeof(err));
    fprintf(stderr, "cannot start a server on %s: %s\n", root, err);
    tl_server_free(server);
    server = NULL;
  }
  tl_server_options_free(opts);
  return server;
}

/* open_client opens a client of the server at `port` and finds its slot. */
static tl_client *open_client(const char *client_root, uint16_t port,
                              int32_t *slot) {
  tl_client_settings *settings = NULL;
  tl_client *client = NULL;
  tl_slot_list *slots = NULL;
  char err[TL_ERROR_MESSAGE_MAX];
  /* The root gives the identity (and ntlsd, which stays up); this server is
   * added to it under its own name. */
  if (tl_client_settings_new(&settings) != TL_OK ||
      tl_client_settings_load_root(settings, client_root) != TL_OK ||
      tl_client_settings_add_server(settings, PROBE_SERVER, "127.0.0.1", port,
                                    0, g_pem) != TL_OK ||
      tl_client_open(settings, &client) != TL_OK ||
      tl_client_wait_ready(client, 20000) != TL_OK ||
      tl_client_slots(client, &slots) != TL_OK) {
    last_error(err, sizeof(err));
    fprintf(stderr, "cannot open a client of port %u: %s\n", port, err);
    tl_client_close(client);
    tl_client_settings_free(settings);
    return NULL;
  }
  tl_client_settings_free(settings);
  for (size_t i = 0; i < tl_slot_list_count(slots); i++) {
    int32_t id, state;
    tl_slot_list_get(slots, i, &id, &state);
    if (strcmp(tl_slot_list_server(slots, i), PROBE_SERVER) == 0 &&
        state == TL_SLOT_READY) {
      *slot = id;
      tl_slot_list_free(slots);
      return client;
    }
  }
  fprintf(stderr, "the client of port %u has no ready slot on it\n", port);
  tl_slot_list_free(slots);
  tl_client_close(client);
  return NULL;
}

/* listens_on says whether this process holds a listening socket on `port`. */
static int listens_on(uint16_t port) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int found = 0;
  while (d != NULL && (e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    int listening = 0;
    socklen_t len = sizeof(listening);
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    if (e->d_name[0] == '.' || fd == dirfd(d) ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
        !listening || getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
      continue;
    }
    if (a.sin_family == AF_INET && ntohs(a.sin_port) == port) {
      found = 1;
    }
  }
  if (d != NULL) {
    closedir(d);
  }
  return found;
}

static int expect_forked(const char *what, tl_status st) {
  char err[TL_ERROR_MESSAGE_MAX];
  last_error(err, sizeof(err));
  if (st != TL_E_FORKED || strstr(err, "tl_server_new") == NULL) {
    fprintf(stderr, "child: %s on the inherited server gave %s: %s\n", what,
            tl_status_name(st), err);
    return 0;
  }
  return 1;
}

static int child(tl_server *inherited, uint16_t parent_port,
                 const char *appliance_root, const char *client_root) {
  uint16_t port = 0;
  tl_server_status *status = NULL;
  char why[TL_ERROR_MESSAGE_MAX + 64];
  if (!expect_forked("tl_server_port", tl_server_port(inherited, &port)) ||
      !expect_forked("tl_server_start", tl_server_start(inherited)) ||
      !expect_forked("tl_server_status_new",
                     tl_server_status_new(inherited, &status))) {
    return 10;
  }
  if (!listens_on(parent_port)) {
    fprintf(stderr,
            "child: no inherited listener on %u before the free: the "
            "check below would prove nothing\n",
            parent_port);
    return 11;
  }
  tl_client_close(g_client);
  tl_server_free(inherited);
  if (listens_on(parent_port)) {
    fprintf(stderr,
            "child: still holds the parent's listener on port %u "
            "after tl_server_free\n",
            parent_port);
    return 12;
  }
  tl_server *own = start_server(appliance_root, &port);
  if (own == NULL) {
    return 13;
  }
  int32_t slot;
  tl_client *client = open_client(client_root, port, &slot);
  if (client == NULL) {
    return 14;
  }
  for (int i = 0; i < 20; i++) {
    if (!echo(client, slot, "child", why, sizeof(why))) {
      fprintf(stderr, "child: a call through its own server failed: %s\n", why);
      return 15;
    }
  }
  tl_client_close(client);
  tl_server_stop(own, 1000);
  tl_server_free(own);
  printf("child: its own server on port %u served 20 calls\n", port);
  fflush(stdout); /* the child leaves with _exit */
  return 0;
}

int main(int argc, char **argv) {
  struct caller callers[CALLERS];
  char why[TL_ERROR_MESSAGE_MAX + 64];
  uint16_t port = 0;
  int failed = 0;
  if (argc != 4) {
    fprintf(stderr, "usage: %s APPLIANCE_ROOT CLIENT_ROOT SERVER_PEM\n",
            argv[0]);
    return 2;
  }
  if (!read_file(argv[3], g_pem, sizeof(g_pem))) {
    return 1;
  }
  tl_server *server = start_server(argv[1], &port);
  if (server == NULL ||
      (g_client = open_client(argv[2], port, &g_slot)) == NULL) {
    return 1;
  }
  start_callers(callers, CALLERS, g_client, g_slot);
  await_calls(callers, 20);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    _exit(child(server, port, argv[1], argv[2]));
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    fprintf(stderr, "parent: the child ended with status %#x\n", status);
    failed = 1;
  }
  await_calls(callers, 50);
  const long calls = stop_callers(callers, CALLERS);
  failed |= calls < 0;
  int32_t kind;
  size_t index;
  tl_status link_status;
  while (tl_client_next_link_event(g_client, &kind, &index, &link_status) ==
         TL_OK) {
    if (kind == TL_LINK_EVENT_DOWN) {
      fprintf(stderr, "parent: a link went down (%s)\n",
              tl_status_name(link_status));
      failed = 1;
    }
  }
  if (!echo(g_client, g_slot, "parent", why, sizeof(why))) {
    fprintf(stderr, "parent: the last call failed: %s\n", why);
    failed = 1;
  }
  tl_client_close(g_client);
  tl_server_stop(server, 1000);
  tl_server_free(server);
  if (failed) {
    return 1;
  }
  printf(
      "parent: its server on port %u served %ld calls across the fork, "
      "none failed\n",
      port, calls);
  printf("PASS\n");
  return 0;
}
