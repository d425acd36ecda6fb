/* ha_bench: pure calls (echo) on one slot of a client root, for the HA group
 * figures of docs/benchmarks.md ("HA groups"); ha_benchmark.sh drives it.
 *
 *   ha_bench ROOT SLOT THREADS SECONDS
 *
 * THREADS threads call echo on SLOT for SECONDS through one tl_client opened
 * from ROOT (C ABI only). SIGUSR1 marks "a member's appliance is being killed
 * now" (the driver sends it just before kill -9). At the end it prints
 *
 *   RATE calls=N failed=F seconds=S rate=R
 *   KILL i pause_us=P caught=C
 *
 * where, for kill i, C calls were in flight at the mark and P is the longest
 * of them took from the mark to its answer: the pause a call sees from an
 * appliance's death to its next successful attempt. Calls slower than
 * kSlowUs are kept (bounded per thread) to find them; a call in flight at a
 * mark that answered within kSlowUs of it counts as not caught. While it runs
 * it prints each HA member event ("EVENT member-up server=N"), so the driver
 * knows a killed member is back before the next kill. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trustlink/trustlink.h"

enum { kMaxThreads = 64, kMaxKills = 64, kMaxSlow = 200000 };
static const int64_t kSlowUs = 300;

struct Slow {
  int64_t start_us, end_us;
  int ok;
};

struct Worker {
  pthread_t thread;
  tl_client *client;
  int32_t slot;
  int64_t end_us;
  uint64_t calls, failed;
  struct Slow *slow;
  size_t num_slow;
};

static volatile sig_atomic_t g_num_kills = 0;
static int64_t g_kills_us[kMaxKills];

static int64_t NowUs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* OnKill runs in the signal handler: clock_gettime is async-signal-safe. */
static void OnKill(int sig) {
  (void)sig;
  if (g_num_kills < kMaxKills) {
    g_kills_us[g_num_kills] = NowUs();
    g_num_kills = g_num_kills + 1;
  }
}

static void OnEvent(void *userdata, int32_t kind, size_t index,
                    tl_status status) {
  (void)userdata;
  const char *what = kind == TL_LINK_EVENT_HA_MEMBER_UP     ? "member-up"
                     : kind == TL_LINK_EVENT_HA_MEMBER_DOWN ? "member-down"
                     : kind == TL_LINK_EVENT_HA_GROUP_UP    ? "group-up"
                     : kind == TL_LINK_EVENT_HA_GROUP_DOWN  ? "group-down"
                                                            : NULL;
  if (what != NULL) {
    printf("EVENT %s server=%zu status=%s\n", what, index,
           tl_status_name(status));
    fflush(stdout);
  }
}

static void *Run(void *arg) {
  struct Worker *w = arg;
  static const uint8_t kData[] = "ha-bench";
  while (NowUs() < w->end_us) {
    tl_response *r = NULL;
    int64_t start = NowUs();
    tl_status s = tl_client_call(w->client, w->slot, 1, kData,
                                 sizeof(kData) - 1, 30000, &r);
    int64_t end = NowUs();
    tl_response_free(r);
    ++w->calls;
    if (s != TL_OK) ++w->failed;
    if ((end - start > kSlowUs || s != TL_OK) && w->num_slow < kMaxSlow) {
      w->slow[w->num_slow].start_us = start;
      w->slow[w->num_slow].end_us = end;
      w->slow[w->num_slow].ok = s == TL_OK;
      ++w->num_slow;
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: ha_bench ROOT SLOT THREADS SECONDS\n");
    return 2;
  }
  const int32_t slot = atoi(argv[2]);
  const int threads = atoi(argv[3]);
  const double seconds = atof(argv[4]);
  if (threads < 1 || threads > kMaxThreads || seconds <= 0) {
    fprintf(stderr, "ha_bench: THREADS is 1..%d, SECONDS more than 0\n",
            kMaxThreads);
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnKill;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);

  tl_client_settings *settings = NULL;
  tl_client *client = NULL;
  if (tl_client_settings_new(&settings) != TL_OK ||
      tl_client_settings_load_root(settings, argv[1]) != TL_OK ||
      tl_client_settings_set_link_event_callback(settings, OnEvent, NULL) !=
          TL_OK ||
      tl_client_open(settings, &client) != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    tl_last_error(message, sizeof(message), &len);
    fprintf(stderr, "ha_bench: %s\n", message);
    return 1;
  }
  tl_client_settings_free(settings);
  printf("READY\n");
  fflush(stdout);

  static struct Worker workers[kMaxThreads];
  const int64_t start = NowUs();
  for (int t = 0; t < threads; ++t) {
    workers[t].client = client;
    workers[t].slot = slot;
    workers[t].end_us = start + (int64_t)(seconds * 1e6);
    workers[t].slow = calloc(kMaxSlow, sizeof(struct Slow));
    if (workers[t].slow == NULL) return 1;
    pthread_create(&workers[t].thread, NULL, Run, &workers[t]);
  }
  uint64_t calls = 0, failed = 0;
  for (int t = 0; t < threads; ++t) {
    pthread_join(workers[t].thread, NULL);
    calls += workers[t].calls;
    failed += workers[t].failed;
  }
  const double elapsed = (double)(NowUs() - start) / 1e6;
  printf("RATE calls=%llu failed=%llu seconds=%.3f rate=%.0f\n",
         (unsigned long long)calls, (unsigned long long)failed, elapsed,
         (double)calls / elapsed);
  for (int k = 0; k < g_num_kills; ++k) {
    const int64_t at = g_kills_us[k];
    int64_t pause = 0;
    int caught = 0;
    for (int t = 0; t < threads; ++t) {
      for (size_t i = 0; i < workers[t].num_slow; ++i) {
        const struct Slow *s = &workers[t].slow[i];
        if (s->start_us <= at && s->end_us > at) {
          ++caught;
          if (s->end_us - at > pause) pause = s->end_us - at;
        }
      }
    }
    printf("KILL %d pause_us=%lld caught=%d\n", k, (long long)pause, caught);
  }
  for (int t = 0; t < threads; ++t) free(workers[t].slow);
  tl_client_close(client);
  return failed == 0 ? 0 : 3;
}
