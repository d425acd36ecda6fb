/* reconnect_probe: one live library client for ntlsd_kill_test.sh. It opens ONE
 * tl_client from a client root (trustlink.conf, its pinned server certificate,
 * its identity) and calls echo on slot 0 in a loop until SIGTERM or the time
 * bound, never re-opening the client: when ntlsd dies and comes back, the
 * library alone must reconnect.
 *
 *   reconnect_probe CLIENT_ROOT SECONDS [THREADS]
 *
 * THREADS (default 1, at most 16) threads share the one client, each with one
 * call at a time, so calls are in flight together when the link drops.
 *
 * It writes, on stdout, one line per change and a periodic heartbeat, each with
 * CLOCK_REALTIME in milliseconds (the test compares them with its kill times):
 * "UP <ms>" at the first successful call and the first after failures;
 * "DOWN <ms> <status>" at the first failed call after successes; "OK <ms>"
 * while calls succeed (at most every 100 ms); and at the end one line
 * "SUMMARY ok=N failed=N outages=N longest_gap_ms=N wrong=N lost=N
 * unavailable=N other=N".
 * longest_gap_ms: the longest time from a first failure to the next success.
 * lost, unavailable, other: the failed calls by status: TL_E_CONNECTION_LOST
 * (in flight when the link dropped), TL_E_UNAVAILABLE (failed fast while it was
 * down), anything else (a timeout would mean a call stuck on a dead link).
 * wrong: echo answers that were not the bytes sent (a mixed-up reply).
 * Exit 0 when it ran to the end; 1 when the client could not be opened or a
 * thread not started. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trustlink/trustlink.h"

#define ECHO_OP 1u
/* A call may wait this long for an answer; a dead link fails it far sooner
 * (TL_E_CONNECTION_LOST or TL_E_UNAVAILABLE at once). */
#define CALL_TIMEOUT_MS 5000u
#define MAX_THREADS 16

static long long now_ms(int clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pause_briefly: between failed calls, so a down server does not turn the
 * loop into a spin (a failed call returns at once). */
static void pause_briefly(void) {
  struct timespec ts = {0, 5 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

/* The client's record, shared by its threads under `mu`. "Up" is the client's
 * view: its last recorded call succeeded. */
struct probe {
  tl_client *client;
  long long end; /* CLOCK_MONOTONIC ms */
  pthread_mutex_t mu;
  long long ok, failed, outages, wrong, longest_gap;
  long long lost, unavailable, other;
  long long first_fail; /* CLOCK_MONOTONIC ms of the outage's first failure */
  long long last_ok_line;
  int up;
  int stop; /* set by main at SIGTERM or the time bound */
};

/* record: one call's outcome. `sent` is when the call was made: a success of a
 * call made before the outage began was answered by the old link and does not
 * end the outage. */
static int record(struct probe *p, tl_status st, long long sent, int wrong) {
  int stop;
  long long t = now_ms(CLOCK_MONOTONIC);
  pthread_mutex_lock(&p->mu);
  if (st == TL_OK) {
    p->ok++;
    p->wrong += wrong;
    if (!p->up && sent > p->first_fail) {
      if (p->first_fail >= 0 && t - p->first_fail > p->longest_gap) {
        p->longest_gap = t - p->first_fail;
      }
      printf("UP %lld\n", now_ms(CLOCK_REALTIME));
      fflush(stdout);
      p->up = 1;
      p->first_fail = -1;
      p->last_ok_line = t;
    } else if (p->up && t - p->last_ok_line >= 100) {
      printf("OK %lld\n", now_ms(CLOCK_REALTIME));
      fflush(stdout);
      p->last_ok_line = t;
    }
  } else {
    p->failed++;
    if (st == TL_E_CONNECTION_LOST) {
      p->lost++;
    } else if (st == TL_E_UNAVAILABLE) {
      p->unavailable++;
    } else {
      p->other++;
    }
    if (p->up || p->first_fail < 0) {
      p->first_fail = t;
    }
    if (p->up) {
      p->outages++;
      printf("DOWN %lld %s\n", now_ms(CLOCK_REALTIME), tl_status_name(st));
      fflush(stdout);
      p->up = 0;
    }
  }
  stop = p->stop;
  pthread_mutex_unlock(&p->mu);
  return stop;
}

static void *caller(void *arg) {
  struct probe *p = arg;
  char payload[64];
  long long seq = 0;
  /* Each thread's payloads differ, so a reply meant for another is caught. */
  unsigned long self = (unsigned long)(size_t)&seq;
  int stop = 0;
  while (!stop) {
    tl_response *response = NULL;
    int len = snprintf(payload, sizeof(payload), "probe %lx %lld", self, seq++);
    long long sent = now_ms(CLOCK_MONOTONIC);
    tl_status st =
        tl_client_call(p->client, 0, ECHO_OP, (const uint8_t *)payload,
                       (size_t)len, CALL_TIMEOUT_MS, &response);
    int wrong = st == TL_OK &&
                (tl_response_len(response) != (size_t)len ||
                 memcmp(tl_response_data(response), payload, (size_t)len) != 0);
    stop = record(p, st, sent, wrong);
    tl_response_free(response);
    if (st != TL_OK) {
      pause_briefly();
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  tl_client_settings *settings = NULL;
  struct probe p;
  pthread_t threads[MAX_THREADS];
  char err[TL_ERROR_MESSAGE_MAX];
  size_t err_len = 0;
  int nthreads = argc > 3 ? atoi(argv[3]) : 1, i;
  sigset_t term;
  struct timespec left;
  int start_failed = 0;
  long long now;
  tl_status st;

  if (argc < 3 || argc > 4 || atoi(argv[2]) <= 0 || nthreads < 1 ||
      nthreads > MAX_THREADS) {
    fprintf(stderr, "usage: %s CLIENT_ROOT SECONDS [THREADS (1..%d)]\n",
            argv[0], MAX_THREADS);
    return 2;
  }
  memset(&p, 0, sizeof(p));
  p.first_fail = -1;
  pthread_mutex_init(&p.mu, NULL);
  /* SIGTERM and SIGINT are blocked in every thread and taken by main with
   * sigtimedwait: no handler runs beside the callers. */
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  pthread_sigmask(SIG_BLOCK, &term, NULL);

  st = tl_client_settings_new(&settings);
  if (st == TL_OK) {
    st = tl_client_settings_load_root(settings, argv[1]);
  }
  if (st == TL_OK) {
    st = tl_client_open(settings, &p.client);
  }
  if (st != TL_OK) {
    tl_last_error(err, sizeof(err), &err_len);
    fprintf(stderr, "reconnect_probe: open failed: %s: %s\n",
            tl_status_name(st), err);
    tl_client_settings_free(settings);
    return 1;
  }
  printf("OPEN %lld\n", now_ms(CLOCK_REALTIME));
  fflush(stdout);

  p.end = now_ms(CLOCK_MONOTONIC) + (long long)atoi(argv[2]) * 1000;
  for (i = 0; i < nthreads; i++) {
    if (pthread_create(&threads[i], NULL, caller, &p) != 0) {
      fprintf(stderr, "reconnect_probe: cannot start thread %d\n", i);
      start_failed = 1;
      nthreads = i;
      break;
    }
  }
  while (!start_failed && (now = now_ms(CLOCK_MONOTONIC)) < p.end) {
    left.tv_sec = (time_t)((p.end - now) / 1000);
    left.tv_nsec = (long)((p.end - now) % 1000) * 1000000L;
    if (sigtimedwait(&term, NULL, &left) >= 0) {
      break; /* asked to stop */
    }
  }
  pthread_mutex_lock(&p.mu);
  p.stop = 1;
  pthread_mutex_unlock(&p.mu);
  for (i = 0; i < nthreads; i++) {
    pthread_join(threads[i], NULL);
  }
  if (!p.up) {
    tl_client_last_error(p.client, err, sizeof(err), &err_len);
    printf("LAST-ERROR %s\n", err);
  }
  printf(
      "SUMMARY ok=%lld failed=%lld outages=%lld longest_gap_ms=%lld "
      "wrong=%lld lost=%lld unavailable=%lld other=%lld\n",
      p.ok, p.failed, p.outages, p.longest_gap, p.wrong, p.lost, p.unavailable,
      p.other);
  fflush(stdout);
  tl_client_close(p.client);
  tl_client_settings_free(settings);
  pthread_mutex_destroy(&p.mu);
  return start_failed;
}
