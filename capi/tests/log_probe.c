/* log_probe: an appliance server (registry root and HTL, as ntlsd runs it)
 * whose log goes through tl_set_log_callback. Each event is printed to stdout
 * as one line, "event level=L kind=K client=C addresses=A1,A2", after
 * "port N". It serves until SIGTERM or SIGINT. For log_htl_clone_test.sh.
 * Usage: log_probe ROOT */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "trustlink/trustlink.h"

static void PrintEvent(void *userdata, const tl_log_event *event) {
  const char *kind = "";
  const char *client = "";
  const char *address = NULL;
  char addresses[512] = "";
  size_t i;
  (void)userdata;
  tl_log_event_kind(event, &kind);
  if (tl_log_event_client(event, &client) != TL_OK) client = "-";
  for (i = 0; i < tl_log_event_num_addresses(event); ++i) {
    if (tl_log_event_address(event, i, &address) == TL_OK) {
      if (i > 0)
        strncat(addresses, ",", sizeof(addresses) - strlen(addresses) - 1);
      strncat(addresses, address, sizeof(addresses) - strlen(addresses) - 1);
    }
  }
  /* stdout is shared by the server's threads: one printf per event, flushed. */
  printf("event level=%d kind=%s client=%s addresses=%s\n",
         (int)tl_log_event_level(event), kind, client, addresses);
  fflush(stdout);
}

static int Fail(const char *what) {
  char message[TL_ERROR_MESSAGE_MAX] = "";
  size_t len = 0;
  tl_last_error(message, sizeof(message), &len);
  fprintf(stderr, "log_probe: %s: %s\n", what, message);
  return 1;
}

int main(int argc, char **argv) {
  tl_server_options *opts = NULL;
  tl_server *server = NULL;
  uint16_t port = 0;
  sigset_t stop;
  int sig = 0;
  if (argc != 2) {
    fprintf(stderr, "usage: log_probe ROOT\n");
    return 2;
  }
  /* Block the stop signals before any thread exists, so they wait for sigwait.
   */
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  if (tl_set_log_callback(PrintEvent, NULL, TL_LOG_DEBUG) != TL_OK) {
    return Fail("tl_set_log_callback");
  }
  if (tl_server_options_new(&opts) != TL_OK ||
      tl_server_options_set_root(opts, argv[1], "127.0.0.1") != TL_OK ||
      tl_server_options_set_listen(opts, "127.0.0.1", 0) != TL_OK ||
      tl_server_new(opts, &server) != TL_OK) {
    return Fail("the server");
  }
  tl_server_options_free(opts);
  if (tl_server_enable_htl(server, NULL) != TL_OK ||
      tl_server_start(server) != TL_OK ||
      tl_server_port(server, &port) != TL_OK) {
    return Fail("starting the server");
  }
  printf("port %u\n", (unsigned)port);
  fflush(stdout);
  sigwait(&stop, &sig);
  tl_server_stop(server, 5000);
  tl_server_free(server);
  tl_set_log_callback(NULL, NULL, TL_LOG_INFO);
  return 0;
}
