/* probe_calls.h: what the fork probes share, compiled into each of them: an
 * echo call that says why it failed, and caller threads that keep calling one
 * client until told to stop, counting calls and failures (atomics: the main
 * thread reads the counts while they run). */
#ifndef TRUSTLINK_TESTS_EMBEDDING_PROBE_CALLS_H_
#define TRUSTLINK_TESTS_EMBEDDING_PROBE_CALLS_H_

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "trustlink/trustlink.h"

#define ECHO_OP 1u

/* echo calls ECHO_OP with `msg` and checks the answer; on failure `why` says
 * what happened and it returns 0. */
static inline int echo(tl_client *c, int32_t slot, const char *msg, char *why,
                       size_t why_len) {
  tl_response *r = NULL;
  tl_status st = tl_client_call(c, slot, ECHO_OP, (const uint8_t *)msg,
                                strlen(msg), 10000, &r);
  if (st != TL_OK) {
    char err[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    tl_last_error(err, sizeof(err), &len);
    snprintf(why, why_len, "%s: %s", tl_status_name(st), err);
    return 0;
  }
  int ok = tl_response_len(r) == strlen(msg) &&
           memcmp(tl_response_data(r), msg, strlen(msg)) == 0;
  if (!ok) {
    snprintf(why, why_len, "echo returned other bytes");
  }
  tl_response_free(r);
  return ok;
}

/* A caller keeps echoing on `client`'s `slot` until `stop` is set. */
struct caller {
  pthread_t thread;
  tl_client *client;
  int32_t slot;
  int stop;      /* atomic */
  long calls;    /* atomic */
  long failures; /* written by the caller thread only; read after the join */
  char first_failure[TL_ERROR_MESSAGE_MAX + 64];
};

static inline void *call_until_stopped(void *arg) {
  struct caller *c = arg;
  char why[TL_ERROR_MESSAGE_MAX + 64];
  while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
    __atomic_fetch_add(&c->calls, 1, __ATOMIC_RELAXED);
    if (!echo(c->client, c->slot, "parent", why, sizeof(why)) &&
        c->failures++ == 0) {
      snprintf(c->first_failure, sizeof(c->first_failure), "%s", why);
    }
  }
  return NULL;
}

static inline void start_callers(struct caller *callers, int n,
                                 tl_client *client, int32_t slot) {
  memset(callers, 0, sizeof(*callers) * (size_t)n);
  for (int i = 0; i < n; i++) {
    callers[i].client = client;
    callers[i].slot = slot;
    pthread_create(&callers[i].thread, NULL, call_until_stopped, &callers[i]);
  }
}

/* await_calls returns once the first caller has made `more` calls. */
static inline void await_calls(struct caller *callers, long more) {
  long target = __atomic_load_n(&callers[0].calls, __ATOMIC_RELAXED) + more;
  while (__atomic_load_n(&callers[0].calls, __ATOMIC_RELAXED) < target) {
    sched_yield();
  }
}

/* stop_callers joins them, says which failed, and returns the calls made, or
 * -1 when any failed. */
static inline long stop_callers(struct caller *callers, int n) {
  long calls = 0;
  int failed = 0;
  for (int i = 0; i < n; i++) {
    __atomic_store_n(&callers[i].stop, 1, __ATOMIC_RELEASE);
  }
  for (int i = 0; i < n; i++) {
    pthread_join(callers[i].thread, NULL);
    calls += callers[i].calls;
    if (callers[i].failures != 0) {
      fprintf(stderr,
              "parent: %ld of %ld calls on thread %d failed; the "
              "first: %s\n",
              callers[i].failures, callers[i].calls, i,
              callers[i].first_failure);
      failed = 1;
    }
  }
  return failed ? -1 : calls;
}

/* read_file reads `path` into `buf` (NUL-terminated); 0 when it cannot. */
static inline int read_file(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "r");
  size_t n = f != NULL ? fread(buf, 1, size - 1, f) : 0;
  if (f != NULL) {
    fclose(f);
  }
  buf[n] = '\0';
  if (n == 0) {
    fprintf(stderr, "cannot read %s\n", path);
  }
  return n != 0;
}

#endif /* TRUSTLINK_TESTS_EMBEDDING_PROBE_CALLS_H_ */
