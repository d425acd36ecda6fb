// idle_link_probe: a client that makes one link and then stays silent, for
// ntlsd's receive timeout test. It never pings (its heartbeat interval is
// longer than the wait), so only the server can end the link.
//
//   idle_link_probe HOST PORT SERVER_CERT.pem CLIENT_CERT.pem CLIENT_KEY.pem
//                   MAX_SECONDS
//
// Prints "link closed after N ms: STATUS: message" and exits 0 when the server
// closed the idle link within MAX_SECONDS; exits 1 if the link stayed open (or
// never came up), 2 on a usage error.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <fstream>
#include <sstream>
#include <string>

#include "trustlink/trustlink.h"

namespace {

// Slurp returns the file's contents, or "" after saying it cannot be read.
std::string Slurp(const char* path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  if (!f) fprintf(stderr, "idle_link_probe: cannot read %s\n", path);
  return ss.str();
}

long long NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Watch waits for the link to come up, then for the server to close it.
int Watch(tl_client* client, long long max_ms) {
  char err[TL_ERROR_MESSAGE_MAX] = "";
  size_t err_len = 0;
  int32_t state = 0;
  tl_status last = TL_OK;
  tl_client_wait_ready(client, 10000);
  tl_client_server_state(client, 0, &state, &last);
  if (state != TL_LINK_READY) {
    tl_client_server_error(client, 0, err, sizeof(err), &err_len);
    fprintf(stderr, "idle_link_probe: the link did not come up: %s: %s\n",
            tl_status_name(last), err);
    return 1;
  }
  const long long start = NowMs();
  while (NowMs() - start < max_ms) {
    tl_client_server_state(client, 0, &state, &last);
    if (state != TL_LINK_READY) {
      tl_client_server_error(client, 0, err, sizeof(err), &err_len);
      printf("link closed after %lld ms: %s: %s\n", NowMs() - start,
             tl_status_name(last), err);
      return 0;
    }
    // Polling the link's state: the C ABI has no state-change callback.
    const timespec step = {0, 20 * 1000 * 1000};
    nanosleep(&step, nullptr);
  }
  printf("link still open after %lld ms\n", max_ms);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    fprintf(stderr,
            "usage: idle_link_probe HOST PORT SERVER_CERT.pem CLIENT_CERT.pem "
            "CLIENT_KEY.pem MAX_SECONDS\n");
    return 2;
  }
  const std::string server_pem = Slurp(argv[3]);
  const std::string cert_pem = Slurp(argv[4]);
  const std::string key_pem = Slurp(argv[5]);
  const long long max_ms = atoll(argv[6]) * 1000;
  if (server_pem.empty() || cert_pem.empty() || key_pem.empty()) return 1;
  tl_client_settings* settings = nullptr;
  tl_client* client = nullptr;
  tl_status st = tl_client_settings_new(&settings);
  if (st == TL_OK) {
    st = tl_client_settings_add_server(settings, argv[1], argv[1],
                                       static_cast<uint16_t>(atoi(argv[2])), 0,
                                       server_pem.c_str());
  }
  if (st == TL_OK) {
    st = tl_client_settings_set_identity_pem(settings, cert_pem.c_str(),
                                             key_pem.c_str());
  }
  // Silent: no ping before the wait is over; no reconnect after a close.
  if (st == TL_OK) {
    st = tl_client_settings_set_timeouts(
        settings, 5000, static_cast<uint32_t>(max_ms + 60000),
        static_cast<uint32_t>(max_ms + 120000));
  }
  if (st == TL_OK) st = tl_client_settings_set_reconnect(settings, 0, 100, 100);
  if (st == TL_OK) st = tl_client_open(settings, &client);
  int rc = 1;
  if (st != TL_OK) {
    char err[TL_ERROR_MESSAGE_MAX] = "";
    size_t err_len = 0;
    tl_client_settings_last_error(settings, err, sizeof(err), &err_len);
    fprintf(stderr, "idle_link_probe: open: %s: %s\n", tl_status_name(st), err);
  } else {
    rc = Watch(client, max_ms);
  }
  tl_client_close(client);
  tl_client_settings_free(settings);
  return rc;
}
