/* reconnect_probe: one live library client for ntlsd_kill_test.sh. It opens ONE
 * tl_client from a client root (trustlink.conf, its pinned server certificate,
 * its identity) and calls echo on slot 0 in a loop until SIGTERM or the time
 * bound, never re-opening the client: when ntlsd dies and comes back, the
 * library alone must reconnect.
 *
 *   reconnect_probe CLIENT_ROOT SECONDS
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
 * Exit 0 when it ran to the end; 1 when the client could not be opened. */
#define _POSIX_C_SOURCE 200809L
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

static volatile sig_atomic_t stop_requested = 0;

static void on_term(int sig) {
  (void)sig;
  stop_requested = 1;
}

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

int main(int argc, char **argv) {
  tl_client_settings *settings = NULL;
  tl_client *client = NULL;
  char err[TL_ERROR_MESSAGE_MAX];
  char payload[64];
  size_t err_len = 0;
  long long ok = 0, failed = 0, outages = 0, wrong = 0, longest_gap = 0;
  long long lost = 0, unavailable = 0, other = 0;
  long long end, first_fail = -1, last_ok_line = 0, seq = 0;
  int up = 0;
  struct sigaction sa;
  tl_status st;

  if (argc != 3 || atoi(argv[2]) <= 0) {
    fprintf(stderr, "usage: %s CLIENT_ROOT SECONDS\n", argv[0]);
    return 2;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  st = tl_client_settings_new(&settings);
  if (st == TL_OK) {
    st = tl_client_settings_load_root(settings, argv[1]);
  }
  if (st == TL_OK) {
    st = tl_client_open(settings, &client);
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

  end = now_ms(CLOCK_MONOTONIC) + (long long)atoi(argv[2]) * 1000;
  while (!stop_requested && now_ms(CLOCK_MONOTONIC) < end) {
    tl_response *response = NULL;
    int len = snprintf(payload, sizeof(payload), "probe %lld", seq++);
    st = tl_client_call(client, 0, ECHO_OP, (const uint8_t *)payload,
                        (size_t)len, CALL_TIMEOUT_MS, &response);
    if (st == TL_OK) {
      long long t = now_ms(CLOCK_MONOTONIC);
      if (tl_response_len(response) != (size_t)len ||
          memcmp(tl_response_data(response), payload, (size_t)len) != 0) {
        wrong++;
      }
      ok++;
      if (!up) {
        if (first_fail >= 0 && t - first_fail > longest_gap) {
          longest_gap = t - first_fail;
        }
        printf("UP %lld\n", now_ms(CLOCK_REALTIME));
        fflush(stdout);
        up = 1;
        first_fail = -1;
        last_ok_line = t;
      } else if (t - last_ok_line >= 100) {
        printf("OK %lld\n", now_ms(CLOCK_REALTIME));
        fflush(stdout);
        last_ok_line = t;
      }
    } else {
      failed++;
      if (st == TL_E_CONNECTION_LOST) {
        lost++;
      } else if (st == TL_E_UNAVAILABLE) {
        unavailable++;
      } else {
        other++;
      }
      if (first_fail < 0) {
        first_fail = now_ms(CLOCK_MONOTONIC);
      }
      if (up) {
        outages++;
        printf("DOWN %lld %s\n", now_ms(CLOCK_REALTIME), tl_status_name(st));
        fflush(stdout);
        up = 0;
      }
      pause_briefly();
    }
    tl_response_free(response);
  }
  if (!up) {
    tl_client_last_error(client, err, sizeof(err), &err_len);
    printf("LAST-ERROR %s\n", err);
  }
  printf(
      "SUMMARY ok=%lld failed=%lld outages=%lld longest_gap_ms=%lld "
      "wrong=%lld lost=%lld unavailable=%lld other=%lld\n",
      ok, failed, outages, longest_gap, wrong, lost, unavailable, other);
  fflush(stdout);
  tl_client_close(client);
  tl_client_settings_free(settings);
  return 0;
}
