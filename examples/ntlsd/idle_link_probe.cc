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

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

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

// A link event as it happened: the time, the code and, for a DOWN, the
// server's message read inside the callback.
struct Event {
  int32_t kind = 0;
  tl_status status = TL_OK;
  std::string message;
  long long at_ms = 0;
};

// Recorder keeps every link event in order. The probe used to poll
// tl_client_server_state, which shows only the present: on a loaded machine a
// poll could miss a whole drain-and-reconnect, or come after the reconnect
// attempt had replaced the goaway's message with "Connection refused". The
// events see every transition, and the message read inside the DOWN callback
// is still the one that closed the link (the I/O thread delivers the event
// before it can start the next attempt, which waits for the backoff).
class Recorder {
 public:
  void SetClient(tl_client* client) { client_.store(client); }

  static void OnEvent(void* self, int32_t kind, size_t server_index,
                      tl_status status) {
    static_cast<Recorder*>(self)->Add(kind, server_index, status);
  }

  // WaitFor waits until the event after the first `skip` ones has `kind`, up to
  // `deadline` (NowMs); returns its index, or -1 when the deadline passed or
  // another kind of event came first.
  int WaitFor(int32_t kind, size_t skip, long long deadline, Event* out) {
    std::unique_lock<std::mutex> lock(mu_);
    for (size_t i = skip;; ++i) {
      while (events_.size() <= i) {
        const long long left = deadline - NowMs();
        if (left <= 0) return -1;
        cv_.wait_for(lock, std::chrono::milliseconds(left));
      }
      *out = events_[i];
      if (events_[i].kind == kind) return static_cast<int>(i);
      // A slots change while up is not a transition; anything else is.
      if (events_[i].kind != TL_LINK_EVENT_SLOTS_CHANGED) return -1;
    }
  }

 private:
  void Add(int32_t kind, size_t server_index, tl_status status) {
    Event e;
    e.kind = kind;
    e.status = status;
    e.at_ms = NowMs();
    tl_client* client = client_.load();
    if (kind == TL_LINK_EVENT_DOWN && client != nullptr) {
      char err[TL_ERROR_MESSAGE_MAX] = "";
      size_t err_len = 0;
      tl_client_server_error(client, server_index, err, sizeof(err), &err_len);
      e.message = err;
    }
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }

  std::atomic<tl_client*> client_{nullptr};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

// LinkNow is the link's present failure, "STATUS: message", for a wait that
// ran out.
std::string LinkNow(tl_client* client) {
  char err[TL_ERROR_MESSAGE_MAX] = "";
  size_t err_len = 0;
  int32_t state = 0;
  tl_status last = TL_OK;
  tl_client_server_state(client, 0, &state, &last);
  tl_client_server_error(client, 0, err, sizeof(err), &err_len);
  return std::string(tl_status_name(last)) + ": " + err;
}

// Watch waits for the link to come up, then for the server to close it, then
// (with `reconnect`) for it to come back.
int Watch(tl_client* client, Recorder* events, long long max_ms,
          bool reconnect) {
  Event e;
  int at = events->WaitFor(TL_LINK_EVENT_UP, 0, NowMs() + 10000, &e);
  if (at < 0) {
    fprintf(stderr, "idle_link_probe: the link did not come up: %s\n",
            LinkNow(client).c_str());
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  // From the UP event, not from now: this thread can wake long after it (a
  // sanitizer build on a busy host), while the server's idle clock runs from
  // its last receive, before UP.
  const long long start = e.at_ms;
  at = events->WaitFor(TL_LINK_EVENT_DOWN, at + 1, start + max_ms, &e);
  if (at < 0) {
    printf("link still open after %lld ms\n", max_ms);
    return 1;
  }
  printf("link closed after %lld ms: %s: %s\n", e.at_ms - start,
         tl_status_name(e.status), e.message.c_str());
  fflush(stdout);
  if (!reconnect) return 0;
  const long long closed = e.at_ms;
  at = events->WaitFor(TL_LINK_EVENT_UP, at + 1, start + max_ms, &e);
  if (at < 0) {
    printf("link not back after %lld ms: %s\n", NowMs() - closed,
           LinkNow(client).c_str());
    return 1;
  }
  printf("link back after %lld ms\n", e.at_ms - closed);
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
  Recorder events;
  if (st == TL_OK) {
    st = tl_client_settings_set_link_event_callback(settings, Recorder::OnEvent,
                                                    &events);
  }
  if (st == TL_OK) st = tl_client_open(settings, &client);
  int rc = 1;
  if (st != TL_OK) {
    char err[TL_ERROR_MESSAGE_MAX] = "";
    size_t err_len = 0;
    tl_client_settings_last_error(settings, err, sizeof(err), &err_len);
    fprintf(stderr, "idle_link_probe: open: %s: %s\n", tl_status_name(st), err);
  } else {
    events.SetClient(client);
    rc = Watch(client, &events, max_ms, reconnect);
  }
  tl_client_close(client);
  tl_client_settings_free(settings);
  return rc;
}
