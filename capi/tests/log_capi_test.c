/* tl_set_log_callback from C: a real tl_server's refusal of a client that
 * connects from the wrong address reaches the callback as a structured event
 * (kind, level, the peer's address, the reason), and tl_set_log_callback(NULL)
 * returns only once no callback runs any more. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trustlink/trustlink.h"

struct Seen {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int refused;
  int calls;
  int other_kinds;
  char address[128];
  char reason[TL_ERROR_MESSAGE_MAX];
  int32_t level;
};

static void OnLog(void *userdata, const tl_log_event *event) {
  struct Seen *seen = (struct Seen *)userdata;
  const char *kind = NULL;
  const char *address = NULL;
  const char *reason = NULL;
  pthread_mutex_lock(&seen->mu);
  seen->calls++;
  if (tl_log_event_kind(event, &kind) == TL_OK &&
      strcmp(kind, "refused") == 0 && tl_log_event_num_addresses(event) == 1 &&
      tl_log_event_address(event, 0, &address) == TL_OK &&
      tl_log_event_field(event, "reason", &reason) == TL_OK) {
    seen->refused++;
    seen->level = tl_log_event_level(event);
    snprintf(seen->address, sizeof(seen->address), "%s", address);
    snprintf(seen->reason, sizeof(seen->reason), "%s", reason);
    pthread_cond_broadcast(&seen->cv);
  } else {
    seen->other_kinds++;
  }
  pthread_mutex_unlock(&seen->mu);
}

static char *ReadFile(const char *path) {
  FILE *f = fopen(path, "rb");
  char *text = NULL;
  long n = 0;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (text = (char *)malloc((size_t)n + 1))) {
    if (fread(text, 1, (size_t)n, f) != (size_t)n) {
      free(text);
      text = NULL;
    } else {
      text[n] = '\0';
    }
  }
  fclose(f);
  return text;
}

#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      char m_[TL_ERROR_MESSAGE_MAX] = "";                              \
      size_t l_ = 0;                                                   \
      tl_last_error(m_, sizeof(m_), &l_);                              \
      fprintf(stderr, "%s:%d: %s failed (last error: %s)\n", __FILE__, \
              __LINE__, #cond, m_);                                    \
      return 1;                                                        \
    }                                                                  \
  } while (0)

int main(void) {
  static struct Seen seen;
  tl_server_options *opts = NULL;
  tl_server *server = NULL;
  tl_client_settings *settings = NULL;
  tl_client *client = NULL;
  uint16_t port = 0;
  struct timespec deadline;
  char *server_cert = ReadFile("testdata/tls/server_ed25519.cert.pem");
  char *server_key = ReadFile("testdata/tls/server_ed25519.key.pem");
  char *client_cert = ReadFile("testdata/tls/client_ed25519.cert.pem");
  char *client_key = ReadFile("testdata/tls/client_ed25519.key.pem");
  CHECK(server_cert && server_key && client_cert && client_key);
  pthread_mutex_init(&seen.mu, NULL);
  pthread_cond_init(&seen.cv, NULL);

  CHECK(tl_set_log_callback(OnLog, &seen, TL_LOG_DEBUG - 1) ==
        TL_E_INVALID_ARGUMENT);
  CHECK(tl_set_log_callback(OnLog, &seen, TL_LOG_DEBUG) == TL_OK);

  /* web1 is registered for 127.0.0.9 but connects from 127.0.0.1. */
  CHECK(tl_server_options_new(&opts) == TL_OK);
  CHECK(tl_server_options_set_listen(opts, "127.0.0.1", 0) == TL_OK);
  CHECK(tl_server_options_set_certificate(opts, server_cert, server_key) ==
        TL_OK);
  CHECK(tl_server_options_add_client(opts, "web1", client_cert, "127.0.0.9",
                                     0) == TL_OK);
  CHECK(tl_server_new(opts, &server) == TL_OK);
  tl_server_options_free(opts);
  CHECK(tl_server_start(server) == TL_OK);
  CHECK(tl_server_port(server, &port) == TL_OK);

  CHECK(tl_client_settings_new(&settings) == TL_OK);
  CHECK(tl_client_settings_add_server(settings, "hsm1", "127.0.0.1", port, 0,
                                      server_cert) == TL_OK);
  CHECK(tl_client_settings_set_identity_pem(settings, client_cert,
                                            client_key) == TL_OK);
  CHECK(tl_client_settings_set_reconnect(settings, 0, 100, 100) == TL_OK);
  CHECK(tl_client_open(settings, &client) == TL_OK);
  tl_client_wait_ready(client, 10000);

  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 20;
  pthread_mutex_lock(&seen.mu);
  while (seen.refused == 0) {
    if (pthread_cond_timedwait(&seen.cv, &seen.mu, &deadline) != 0) break;
  }
  pthread_mutex_unlock(&seen.mu);

  /* After this returns no callback runs, so `seen` may be read unlocked. */
  CHECK(tl_set_log_callback(NULL, NULL, TL_LOG_INFO) == TL_OK);
  tl_client_close(client);
  tl_client_settings_free(settings);
  tl_server_free(server);

  if (seen.refused == 0) {
    fprintf(stderr, "no refused event in 20 s (%d other events)\n",
            seen.other_kinds);
    return 1;
  }
  CHECK(seen.level == TL_LOG_WARNING);
  CHECK(strncmp(seen.address, "127.0.0.1:", 10) == 0);
  CHECK(strstr(seen.reason, "web1") != NULL);
  CHECK(strstr(seen.reason, "127.0.0.9") != NULL);
  /* "listening" came before, through the same callback. */
  CHECK(seen.other_kinds > 0);
  printf("refused event: peer %s, reason: %s\n", seen.address, seen.reason);
  free(server_cert);
  free(server_key);
  free(client_cert);
  free(client_key);
  return 0;
}
