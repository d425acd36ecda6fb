/* idle_link_probe: a client that makes one link and then stays silent, for
 * ntlsd's receive timeout test. It never pings (its heartbeat interval is
 * longer than the wait), so only the server can end the link.
 *
 *   idle_link_probe HOST PORT SERVER_CERT.pem CLIENT_CERT.pem CLIENT_KEY.pem
 *                   MAX_SECONDS
 *
 * Prints "link closed after N ms: STATUS: message" and exits 0 when the server
 * closed the idle link within MAX_SECONDS; exits 1 if the link stayed open (or
 * never came up), 2 on a usage error. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "trustlink/trustlink.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long len;
  if (f == NULL) {
    fprintf(stderr, "idle_link_probe: cannot open %s\n", path);
    return NULL;
  }
  if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0) {
    buf = malloc((size_t)len + 1);
    if (buf != NULL && fread(buf, 1, (size_t)len, f) == (size_t)len) {
      buf[len] = '\0';
    } else {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  return buf;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr,
            "usage: idle_link_probe HOST PORT SERVER_CERT.pem CLIENT_CERT.pem "
            "CLIENT_KEY.pem MAX_SECONDS\n");
    return 2;
  }
  char *server_pem = slurp(argv[3]);
  char *cert_pem = slurp(argv[4]);
  char *key_pem = slurp(argv[5]);
  const long long max_ms = atoll(argv[6]) * 1000;
  if (server_pem == NULL || cert_pem == NULL || key_pem == NULL) return 1;
  tl_client_settings *settings = NULL;
  tl_client *client = NULL;
  char err[TL_ERROR_MESSAGE_MAX] = "";
  size_t err_len = 0;
  int rc = 1;
  tl_status st = tl_client_settings_new(&settings);
  if (st == TL_OK)
    st = tl_client_settings_add_server(settings, argv[1], argv[1],
                                       (uint16_t)atoi(argv[2]), 0, server_pem);
  if (st == TL_OK)
    st = tl_client_settings_set_identity_pem(settings, cert_pem, key_pem);
  /* Silent: no ping before the wait is over; no reconnect after a close. */
  if (st == TL_OK)
    st = tl_client_settings_set_timeouts(settings, 5000,
                                         (uint32_t)(max_ms + 60000),
                                         (uint32_t)(max_ms + 120000));
  if (st == TL_OK) st = tl_client_settings_set_reconnect(settings, 0, 100, 100);
  if (st == TL_OK) st = tl_client_open(settings, &client);
  if (st != TL_OK) {
    tl_client_settings_last_error(settings, err, sizeof(err), &err_len);
    fprintf(stderr, "idle_link_probe: open: %s: %s\n", tl_status_name(st), err);
    goto out;
  }
  tl_client_wait_ready(client, 10000);
  int32_t state = 0;
  tl_status last = TL_OK;
  tl_client_server_state(client, 0, &state, &last);
  if (state != TL_LINK_READY) {
    tl_client_server_error(client, 0, err, sizeof(err), &err_len);
    fprintf(stderr, "idle_link_probe: the link did not come up: %s: %s\n",
                tl_status_name(last), err);
    goto out;
  }
  const long long start = now_ms();
  while (now_ms() - start < max_ms) {
    tl_client_server_state(client, 0, &state, &last);
    if (state != TL_LINK_READY) {
      tl_client_server_error(client, 0, err, sizeof(err), &err_len);
      printf("link closed after %lld ms: %s: %s\n", now_ms() - start,
             tl_status_name(last), err);
      rc = 0;
      goto out;
    }
    /* Polling the link's state: the C ABI has no state-change callback. */
    struct timespec step = {0, 20 * 1000 * 1000};
    nanosleep(&step, NULL);
  }
  printf("link still open after %lld ms\n", max_ms);
out:
  tl_client_close(client);
  tl_client_settings_free(settings);
  free(server_pem);
  free(cert_pem);
  free(key_pem);
  return rc;
}
