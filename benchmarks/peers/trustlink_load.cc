#include "benchmarks/peers/trustlink_load.h"

#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace trustlink::peers {
namespace {

constexpr uint32_t kCallTimeoutMs = 10000;
constexpr uint32_t kEcho = 1;  // the software partition's echo op

std::string LastError() {
  char buf[TL_ERROR_MESSAGE_MAX] = "";
  size_t len = 0;
  tl_last_error(buf, sizeof(buf), &len);
  return buf;
}

bool ReadFile(const std::string& path, std::string* out, std::string* error) {
  std::ifstream f(path);
  if (!f) {
    *error = absl::StrCat("cannot read ", path);
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

// FirstServer reads the name and port of the root's first server.
bool FirstServer(const std::string& root, std::string* name, uint16_t* port,
                 std::string* error) {
  tl_client_root* r = nullptr;
  tl_server_list* list = nullptr;
  const char* n = nullptr;
  int32_t p = 0;
  bool ok = tl_client_root_new(&r) == TL_OK &&
            tl_client_root_open(r, root.c_str(), 0) == TL_OK &&
            tl_client_root_list_servers(r, &list) == TL_OK &&
            tl_server_list_count(list) > 0 &&
            tl_server_list_name(list, 0, &n) == TL_OK &&
            tl_server_list_port(list, 0, &p) == TL_OK;
  if (ok) {
    *name = n;
    *port = static_cast<uint16_t>(p);
  } else {
    *error =
        absl::StrCat("no server in the client root ", root, ": ", LastError());
  }
  tl_server_list_free(list);
  tl_client_root_free(r);
  return ok;
}

}  // namespace

std::unique_ptr<TlLinks> TlLinks::Open(const std::string& root, int links,
                                       uint32_t busy_poll_us,
                                       std::string* error) {
  std::unique_ptr<TlLinks> t(new TlLinks());
  uint16_t port = 0;
  std::string pin;
  if (!FirstServer(root, &t->first_server_, &port, error) ||
      !ReadFile(
          absl::StrCat(root, "/cert/server/", t->first_server_, "Cert.pem"),
          &pin, error)) {
    return nullptr;
  }
  t->up_.assign(static_cast<size_t>(links), false);
  tl_client_settings* s = nullptr;
  bool ok = tl_client_settings_new(&s) == TL_OK &&
            tl_client_settings_load_root(s, root.c_str()) == TL_OK &&
            tl_client_settings_set_initial_wait(s, 0) == TL_OK &&
            tl_client_settings_set_busy_poll(s, busy_poll_us) == TL_OK &&
            tl_client_settings_set_link_event_callback(s, &TlLinks::OnEvent,
                                                       t.get()) == TL_OK;
  // The extra links are more servers with the first one's address and pin:
  // one client, one I/O thread, `links` TLS links.
  for (int i = 1; ok && i < links; ++i) {
    ok = tl_client_settings_add_server(
             s, absl::StrCat(t->first_server_, "#", i).c_str(),
             t->first_server_.c_str(), port, 0, pin.c_str()) == TL_OK;
  }
  if (ok) {
    ok = tl_client_open(s, &t->client_) == TL_OK;
    if (!ok) {
      *error = absl::StrCat("tl_client_open: ", LastError());
    }
  } else {
    char buf[TL_ERROR_MESSAGE_MAX] = "";
    size_t len = 0;
    tl_client_settings_last_error(s, buf, sizeof(buf), &len);
    *error = absl::StrCat("client settings from ", root, ": ", buf);
  }
  tl_client_settings_free(s);
  return ok ? std::move(t) : nullptr;
}

TlLinks::~TlLinks() { tl_client_close(client_); }

void TlLinks::OnEvent(void* self, int32_t kind, size_t server, tl_status) {
  auto* t = static_cast<TlLinks*>(self);
  if (kind != TL_LINK_EVENT_UP && kind != TL_LINK_EVENT_DOWN) {
    return;
  }
  std::lock_guard<std::mutex> lock(t->mu_);
  if (server >= t->up_.size() || t->up_[server] == (kind == TL_LINK_EVENT_UP)) {
    return;
  }
  t->up_[server] = kind == TL_LINK_EVENT_UP;
  t->num_up_ += kind == TL_LINK_EVENT_UP ? 1 : -1;
  t->cv_.notify_all();
}

Result TlLinks::WaitFor(int want_up, double timeout) {
  const Clock::time_point start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(timeout));
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_until(lock, deadline, [&] { return num_up_ == want_up; })) {
    return Result::Fail(absl::StrCat(num_up_, " of ", up_.size(),
                                     " links up after ", timeout,
                                     " s (waiting for ", want_up, ")"));
  }
  return Result::Of(SecondsSince(start));
}

Result TlLinks::WaitAllUp(double timeout) {
  return WaitFor(static_cast<int>(up_.size()), timeout);
}
Result TlLinks::WaitAllDown(double timeout) { return WaitFor(0, timeout); }

bool TlLinks::EchoSlot(int32_t* slot, std::string* error) {
  tl_slot_list* list = nullptr;
  if (tl_client_slots(client_, &list) != TL_OK) {
    *error = absl::StrCat("tl_client_slots: ", LastError());
    return false;
  }
  bool found = false;
  for (size_t i = 0; i < tl_slot_list_count(list) && !found; ++i) {
    int32_t id = 0, state = 0;
    found = tl_slot_list_get(list, i, &id, &state) == TL_OK &&
            state == TL_SLOT_READY &&
            first_server_ == tl_slot_list_server(list, i) &&
            strcmp(tl_slot_list_partition(list, i), "echo") == 0;
    if (found) {
      *slot = id;
    }
  }
  tl_slot_list_free(list);
  if (!found) {
    *error = absl::StrCat("no ready slot for partition 'echo' on server '",
                          first_server_, "'");
  }
  return found;
}

namespace {

// Sequential makes blocking calls for w.seconds; the result is calls/s.
Result Sequential(TlLinks* links, const Work& w) {
  int32_t slot = 0;
  std::string error;
  if (!links->EchoSlot(&slot, &error)) {
    return Result::Fail(error);
  }
  const std::string data(w.size, 'x');
  int64_t n = 0;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  while ((elapsed = SecondsSince(start)) < w.seconds) {
    tl_response* r = nullptr;
    const tl_status st =
        tl_client_call(links->client(), slot, kEcho,
                       reinterpret_cast<const uint8_t*>(data.data()),
                       data.size(), kCallTimeoutMs, &r);
    if (st != TL_OK) {
      return Result::Fail(absl::StrCat("tl_client_call: ", tl_status_name(st),
                                       ": ", LastError()));
    }
    const size_t got = tl_response_len(r);
    tl_response_free(r);
    if (got != w.size) {
      return Result::Fail(
          absl::StrCat("echo of ", w.size, " bytes returned ", got));
    }
    ++n;
  }
  return Result::Of(static_cast<double>(n) / elapsed);
}

// Window keeps `depth` asynchronous calls in flight until `end`.
struct Window {
  tl_client* client;
  int32_t slot;
  std::string data;
  Clock::time_point end;
  std::atomic<int64_t> done{0};
  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;  // guarded by mu
  std::string error;    // guarded by mu

  bool Send() {
    return tl_client_call_async(client, slot, kEcho,
                                reinterpret_cast<const uint8_t*>(data.data()),
                                data.size(), kCallTimeoutMs, &Window::OnDone,
                                this) == TL_OK;
  }

  // OnDone counts the answer and, while time is left, sends the next call
  // from the callback: the way an asynchronous embedder keeps its window full.
  static void OnDone(void* arg, tl_status st, const uint8_t* bytes,
                     size_t len) {
    auto* w = static_cast<Window*>(arg);
    bool resend = false;
    if (st == TL_OK && len == w->data.size()) {
      w->done.fetch_add(1, std::memory_order_relaxed);
      resend = Clock::now() < w->end && w->Send();
    }
    std::lock_guard<std::mutex> lock(w->mu);
    if (st != TL_OK && w->error.empty()) {
      w->error =
          absl::StrCat(tl_status_name(st), ": ",
                       std::string(reinterpret_cast<const char*>(bytes), len));
    } else if (st == TL_OK && len != w->data.size() && w->error.empty()) {
      w->error =
          absl::StrCat("echo of ", w->data.size(), " bytes returned ", len);
    }
    if (!resend) {
      --w->outstanding;
      w->cv.notify_all();
    }
  }
};

}  // namespace

Result TlRoundTrips(TlLinks* links, const Work& w) {
  return Sequential(links, w);
}

Result TlBulk(TlLinks* links, const Work& w) {
  Result r = Sequential(links, w);
  if (r.ok) {
    r.value = r.value * static_cast<double>(w.size) / 1e6;
  }
  return r;
}

Result TlInFlight(TlLinks* links, const Work& w) {
  Window win;
  win.client = links->client();
  std::string error;
  if (!links->EchoSlot(&win.slot, &error)) {
    return Result::Fail(error);
  }
  win.data.assign(w.size, 'x');
  const Clock::time_point start = Clock::now();
  win.end = start + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(w.seconds));
  for (int i = 0; i < w.depth; ++i) {
    {
      std::lock_guard<std::mutex> lock(win.mu);
      ++win.outstanding;
    }
    if (!win.Send()) {
      std::lock_guard<std::mutex> lock(win.mu);
      --win.outstanding;
      win.error = absl::StrCat("tl_client_call_async: ", LastError());
      break;
    }
  }
  std::unique_lock<std::mutex> lock(win.mu);
  // Every call ends by its timeout at the latest, so this wait is bounded.
  win.cv.wait(lock, [&] { return win.outstanding == 0; });
  const double elapsed = SecondsSince(start);
  if (!win.error.empty()) {
    return Result::Fail(win.error);
  }
  return Result::Of(static_cast<double>(win.done.load()) / elapsed);
}

}  // namespace trustlink::peers
