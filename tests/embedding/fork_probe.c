/* fork_probe: a host process that forks while its trustlink link is busy.
 *
 *   fork_probe CLIENT_ROOT
 *
 * The parent opens a client on CLIENT_ROOT and keeps calling echo on two
 * threads while it forks. The child
 *   1. calls the inherited client (tl_client_call, tl_client_slots,
 *      tl_client_process, tl_client_fd) and must get TL_E_FORKED with a message
 *      that says to open a new client;
 *   2. closes the inherited client, after which its copy of the client's
 *      descriptor is closed (the parent's is not);
 *   3. opens its own client from the inherited settings and echoes on it.
 * The parent's calls must all succeed before, during and after the child's
 * life, and its link must never go down (no TL_LINK_EVENT_DOWN, one UP).
 * It prints "PASS" and exits 0, or says what failed and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe_calls.h"
#include "trustlink/trustlink.h"

#define CALLERS 2
#define CHILDREN 3

static tl_client *g_client;
static int32_t g_slot;

static int first_slot(tl_client *c, int32_t *out) {
  tl_slot_list *slots = NULL;
  int32_t state;
  if (tl_client_slots(c, &slots) != TL_OK || tl_slot_list_count(slots) == 0) {
    tl_slot_list_free(slots);
    return 0;
  }
  tl_slot_list_get(slots, 0, out, &state);
  tl_slot_list_free(slots);
  return 1;
}

/* expect_forked checks that a call on the inherited client said TL_E_FORKED,
 * with the fix in the message. */
static int expect_forked(const char *what, tl_status st) {
  char err[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  tl_last_error(err, sizeof(err), &len);
  if (st != TL_E_FORKED) {
    fprintf(stderr,
            "child: %s on the inherited client gave %s, not "
            "TL_E_FORKED: %s\n",
            what, tl_status_name(st), err);
    return 0;
  }
  if (strstr(err, "tl_client_open") == NULL || strstr(err, "fork") == NULL) {
    fprintf(stderr,
            "child: %s: the TL_E_FORKED message does not name the "
            "fix: %s\n",
            what, err);
    return 0;
  }
  return 1;
}

static int child(const tl_client_settings *settings, int inherited_fd) {
  tl_response *r = NULL;
  tl_slot_list *slots = NULL;
  int fd = -1;
  char why[TL_ERROR_MESSAGE_MAX + 64];
  if (!expect_forked("tl_client_call",
                     tl_client_call(g_client, g_slot, ECHO_OP,
                                    (const uint8_t *)"child", 5, 2000, &r)) ||
      !expect_forked("tl_client_slots", tl_client_slots(g_client, &slots)) ||
      !expect_forked("tl_client_process", tl_client_process(g_client, 0)) ||
      !expect_forked("tl_client_fd", tl_client_fd(g_client, &fd))) {
    return 10;
  }
  { /* the message is on the calling thread, and printable */
    char err[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    tl_last_error(err, sizeof(err), &len);
    printf("child %d: %s\n", (int)getpid(), err);
    fflush(stdout); /* the child leaves with _exit */
  }
  tl_client_close(g_client);
  if (fcntl(inherited_fd, F_GETFD) != -1 || errno != EBADF) {
    fprintf(stderr,
            "child: the inherited client's descriptor %d is still "
            "open after tl_client_close\n",
            inherited_fd);
    return 11;
  }
  tl_client *own = NULL;
  int32_t slot;
  tl_status st = tl_client_open(settings, &own);
  if (st != TL_OK) {
    char err[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    tl_last_error(err, sizeof(err), &len);
    fprintf(stderr, "child: its own tl_client_open: %s: %s\n",
            tl_status_name(st), err);
    return 12;
  }
  /* Its link comes up on its own thread, as any new client's does: wait for it
   * before reading the slots, or a slow machine finds none yet. */
  st = tl_client_wait_ready(own, 20000);
  if (st != TL_OK || !first_slot(own, &slot)) {
    char err[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    tl_last_error(err, sizeof(err), &len);
    fprintf(stderr, "child: its own client has no slot (%s: %s)\n",
            tl_status_name(st), err);
    return 13;
  }
  for (int i = 0; i < 20; i++) {
    if (!echo(own, slot, "child", why, sizeof(why))) {
      fprintf(stderr, "child: a call on its own client failed: %s\n", why);
      return 14;
    }
  }
  tl_client_close(own);
  return 0;
}

int main(int argc, char **argv) {
  tl_client_settings *settings = NULL;
  struct caller callers[CALLERS];
  char why[TL_ERROR_MESSAGE_MAX + 64];
  int client_fd = -1, failed = 0;
  if (argc != 2) {
    fprintf(stderr, "usage: %s CLIENT_ROOT\n", argv[0]);
    return 2;
  }
  if (tl_client_settings_new(&settings) != TL_OK ||
      tl_client_settings_load_root(settings, argv[1]) != TL_OK ||
      tl_client_open(settings, &g_client) != TL_OK ||
      tl_client_wait_ready(g_client, 20000) != TL_OK ||
      !first_slot(g_client, &g_slot) ||
      tl_client_fd(g_client, &client_fd) != TL_OK) {
    char err[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    tl_last_error(err, sizeof(err), &len);
    fprintf(stderr, "parent: cannot open the link: %s\n", err);
    return 1;
  }
  if (!echo(g_client, g_slot, "parent", why, sizeof(why))) {
    fprintf(stderr, "parent: the first call failed: %s\n", why);
    return 1;
  }
  start_callers(callers, CALLERS, g_client, g_slot);
  for (int n = 0; n < CHILDREN; n++) {
    /* Fork only once calls are flowing, so one is in flight at the fork. */
    await_calls(callers, 20);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0) {
      _exit(child(settings, client_fd));
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      fprintf(stderr, "parent: child %d ended with status %#x\n", (int)pid,
              status);
      failed = 1;
    }
  }
  await_calls(callers, 50); /* more calls after the last child is gone */
  const long calls = stop_callers(callers, CALLERS);
  failed |= calls < 0;
  /* The link stayed up through every child: one UP, never DOWN. */
  int32_t kind;
  size_t server;
  tl_status link_status;
  int ups = 0;
  while (tl_client_next_link_event(g_client, &kind, &server, &link_status) ==
         TL_OK) {
    if (kind == TL_LINK_EVENT_UP) {
      ups++;
    } else if (kind == TL_LINK_EVENT_DOWN) {
      fprintf(stderr, "parent: the link went down (%s)\n",
              tl_status_name(link_status));
      failed = 1;
    }
  }
  if (ups != 1) {
    fprintf(stderr, "parent: the link came up %d times, not once\n", ups);
    failed = 1;
  }
  if (!echo(g_client, g_slot, "parent", why, sizeof(why))) {
    fprintf(stderr, "parent: the last call failed: %s\n", why);
    failed = 1;
  }
  tl_client_close(g_client);
  tl_client_settings_free(settings);
  if (failed) {
    return 1;
  }
  printf("parent: %ld calls on %d threads across %d forks, none failed\n",
         calls, CALLERS, CHILDREN);
  printf("PASS\n");
  return 0;
}
