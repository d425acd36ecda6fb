// idle_link_probe: a client that makes one link and then stays silent, for
// ntlsd's link tests. It never pings (its heartbeat interval is longer than
// the wait), so only the server can end the link.
//
//   idle_link_probe HOST PORT SERVER_CERT.pem CLIENT_CERT.pem CLIENT_KEY.pem
//                   MAX_SECONDS [reconnect]
//
// Prints "ready" once the link is up, then "link closed after N ms: STATUS:
// message" when the server closes it; exits 0 when that happened within
// MAX_SECONDS, 1 if the link stayed open (or never came up), 2 on a usage
// error. With `reconnect` it then reconnects, prints "link back after N ms"
// once the link is up again, and exits 0 only if that happened in time too.
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

// WaitState waits until the link's readiness is `ready`, up to `deadline`
// (NowMs); returns whether it got there.
bool WaitState(tl_client* client, bool ready, long long deadline,
               tl_status* last) {
  int32_t state = 0;
  while (NowMs() < deadline) {
    tl_client_server_state(client, 0, &state, last);
    if ((state == TL_LINK_READY) == ready) return true;
    // Polling the link's state: the C ABI has no state-change callback.
    const timespec step = {0, 20 * 1000 * 1000};
    nanosleep(&step, nullptr);
  }
  return false;
}

// Watch waits for the link to come up, then for the server to close it, then
// (with `reconnect`) for it to come back.
int Watch(tl_client* client, long long max_ms, bool reconnect) {
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
  printf("ready\n");
  fflush(stdout);
  const long long start = NowMs();
  if (!WaitState(client, false, start + max_ms, &last)) {
    printf("link still open after %lld ms\n", max_ms);
    return 1;
  }
  tl_client_server_error(client, 0, err, sizeof(err), &err_len);
  printf("link closed after %lld ms: %s: %s\n", NowMs() - start,
         tl_status_name(last), err);
  fflush(stdout);
  if (!reconnect) return 0;
  const long long closed = NowMs();
  if (!WaitState(client, true, start + max_ms, &last)) {
    tl_client_server_error(client, 0, err, sizeof(err), &err_len);
    printf("link not back after %lld ms: %s: %s\n", NowMs() - closed,
           tl_status_name(last), err);
    return 1;
  }
  printf("link back after %lld ms\n", NowMs() - closed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool reconnect = argc == 8 && std::string(argv[7]) == "reconnect";
  if (argc != 7 && !reconnect) {
    fprintf(stderr,
            "usage: idle_link_probe HOST PORT SERVER_CERT.pem CLIENT_CERT.pem "
            "CLIENT_KEY.pem MAX_SECONDS [reconnect]\n");
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
  // Silent: no ping before the wait is over; a reconnect only if asked.
  if (st == TL_OK) {
    st = tl_client_settings_set_timeouts(
        settings, 5000, static_cast<uint32_t>(max_ms + 60000),
        static_cast<uint32_t>(max_ms + 120000));
  }
  if (st == TL_OK) {
    st = tl_client_settings_set_reconnect(settings, reconnect ? 1 : 0, 50, 500);
  }
  if (st == TL_OK) st = tl_client_open(settings, &client);
  int rc = 1;
  if (st != TL_OK) {
    char err[TL_ERROR_MESSAGE_MAX] = "";
    size_t err_len = 0;
    tl_client_settings_last_error(settings, err, sizeof(err), &err_len);
    fprintf(stderr, "idle_link_probe: open: %s: %s\n", tl_status_name(st), err);
  } else {
    rc = Watch(client, max_ms, reconnect);
  }
  tl_client_close(client);
  tl_client_settings_free(settings);
  return rc;
}
