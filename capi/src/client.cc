// The client half of the C ABI (trustlink/client.h) over ntl/client.
#include "trustlink/client.h"

#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/internal/last_error.h"
#include "ntl/client/client.h"
#include "ntl/client/pin.h"
#include "ntl/client/root_loader.h"
#include "ntl/config_root.h"
#include "ntl/client/verify.h"
#include "ntl/status.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::Handle;
namespace client = trustlink::ntl::client;

struct tl_client_settings : Handle {
  client::ClientSettings settings;
};

struct tl_client : Handle {
  std::unique_ptr<client::Client> client;
};

struct tl_slot_list : Handle {
  std::vector<client::Slot> slots;
};

struct tl_response : Handle {
  std::string data;
};

struct tl_verify_results : Handle {
  std::vector<client::VerifyResult> results;
};

TL_DEFINE_LAST_ERROR(tl_client_settings)
TL_DEFINE_LAST_ERROR(tl_client)

namespace {

absl::Status NullArgument(absl::string_view what) {
  return trustlink::ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                               absl::StrCat(what, " must not be NULL"));
}

absl::Status BadArgument(absl::string_view what) {
  return trustlink::ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                               what);
}

absl::Time Deadline(uint32_t timeout_ms) {
  if (timeout_ms == TL_CLIENT_NO_TIMEOUT) {
    return absl::InfiniteFuture();
  }
  return absl::Now() + absl::Milliseconds(timeout_ms);
}

absl::Status CopyOut(absl::string_view text, char* buf, size_t buf_len, size_t* out_len) {
  if (buf == nullptr || out_len == nullptr) {
    return NullArgument("buf and out_len");
  }
  if (buf_len <= text.size()) {
    return trustlink::ntl::Error(
        absl::StatusCode::kOutOfRange, TL_E_BUFFER_TOO_SMALL,
        absl::StrCat("a buffer of ", text.size() + 1, " bytes is needed"));
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  *out_len = text.size();
  return absl::OkStatus();
}

int32_t SlotStateCode(client::SlotState s) {
  switch (s) {
    case client::SlotState::kReady:
      return TL_SLOT_READY;
    case client::SlotState::kServerDown:
      return TL_SLOT_SERVER_DOWN;
    case client::SlotState::kRemoved:
      return TL_SLOT_REMOVED;
  }
  return TL_SLOT_SERVER_DOWN;
}

}  // namespace

// ---- Settings ----------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status tl_client_settings_new(tl_client_settings** out) noexcept {
  if (out == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  auto* s = new (std::nothrow) tl_client_settings();
  if (s == nullptr) {
    return TL_E_NO_MEMORY;
  }
  *out = s;
  return TL_OK;
}

extern "C" TL_EXPORT void tl_client_settings_free(tl_client_settings* settings) noexcept {
  delete settings;
}

extern "C" TL_EXPORT tl_status tl_client_settings_load_root(tl_client_settings* s,
                                                            const char* root_path) noexcept {
  if (s == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    absl::StatusOr<client::ClientSettings> loaded = client::LoadClientSettings(
        root_path != nullptr ? std::string(root_path) : trustlink::ntl::DefaultClientRoot());
    if (!loaded.ok()) {
      return loaded.status();
    }
    // Keep what the embedder chose about threads and the initial wait.
    loaded->use_io_thread = s->settings.use_io_thread;
    loaded->initial_wait = s->settings.initial_wait;
    s->settings = *std::move(loaded);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_add_server(
    tl_client_settings* s, const char* name, const char* host, uint16_t port,
    int32_t require_htl, const char* pinned_cert_pem) noexcept {
  if (s == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (name == nullptr || name[0] == '\0') {
      return BadArgument("the server name must not be empty");
    }
    if (port == 0) {
      return BadArgument(absl::StrCat("server '", name, "' needs a non-zero port"));
    }
    if (require_htl != 0 && require_htl != 1) {
      return BadArgument("require_htl must be 0 or 1");
    }
    client::ServerSettings server;
    server.name = name;
    server.host = host != nullptr ? host : name;
    server.port = port;
    server.htl = require_htl == 1;
    if (pinned_cert_pem != nullptr) {
      absl::StatusOr<std::string> der = client::CertPemToDer(
          pinned_cert_pem, absl::StrCat("the pinned certificate for server '", name, "'"));
      if (!der.ok()) {
        return der.status();
      }
      server.pinned_cert_der = *std::move(der);
    }
    s->settings.servers.push_back(std::move(server));
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_identity_pem(
    tl_client_settings* s, const char* cert_pem, const char* key_pem) noexcept {
  if (s == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (cert_pem == nullptr || key_pem == nullptr) {
      return NullArgument("cert_pem and key_pem");
    }
    s->settings.client_cert_pem = cert_pem;
    s->settings.client_key_pem = key_pem;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_keepalive(tl_client_settings* s,
                                                                int32_t enabled,
                                                                int32_t idle_seconds,
                                                                int32_t interval_seconds,
                                                                int32_t count) noexcept {
  if (s == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if ((enabled != 0 && enabled != 1) || idle_seconds <= 0 || interval_seconds <= 0 ||
        count <= 0) {
      return BadArgument("keep-alive: enabled is 0 or 1 and the times and count are > 0");
    }
    s->settings.tcp_keepalive = enabled == 1;
    s->settings.keepalive_idle_seconds = idle_seconds;
    s->settings.keepalive_interval_seconds = interval_seconds;
    s->settings.keepalive_count = count;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_timeouts(
    tl_client_settings* s, uint32_t connect_ms, uint32_t heartbeat_interval_ms,
    uint32_t heartbeat_timeout_ms) noexcept {
  if (s == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (connect_ms == 0 || heartbeat_interval_ms == 0 ||
        heartbeat_timeout_ms <= heartbeat_interval_ms) {
      return BadArgument(
          "timeouts must be non-zero and the heartbeat timeout longer than its interval");
    }
    s->settings.connect_timeout = absl::Milliseconds(connect_ms);
    s->settings.heartbeat_interval = absl::Milliseconds(heartbeat_interval_ms);
    s->settings.heartbeat_timeout = absl::Milliseconds(heartbeat_timeout_ms);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_reconnect(tl_client_settings* s,
                                                                int32_t enabled,
                                                                uint32_t min_ms,
                                                                uint32_t max_ms) noexcept {
  if (s == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if ((enabled != 0 && enabled != 1) || min_ms == 0 || max_ms < min_ms) {
      return BadArgument("reconnect: enabled is 0 or 1 and 0 < min_ms <= max_ms");
    }
    s->settings.reconnect = enabled == 1;
    s->settings.reconnect_min = absl::Milliseconds(min_ms);
    s->settings.reconnect_max = absl::Milliseconds(max_ms);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_no_threads(tl_client_settings* s,
                                                                 int32_t no_threads) noexcept {
  if (s == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (no_threads != 0 && no_threads != 1) {
      return BadArgument("no_threads must be 0 or 1");
    }
    s->settings.use_io_thread = no_threads == 0;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_settings_set_initial_wait(tl_client_settings* s,
                                                                   uint32_t wait_ms) noexcept {
  if (s == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    s->settings.initial_wait = absl::Milliseconds(wait_ms);
    return absl::OkStatus();
  });
}

// ---- The client --------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status tl_client_open(const tl_client_settings* settings,
                                              tl_client** out) noexcept {
  if (settings == nullptr || out == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  auto* mutable_settings = const_cast<tl_client_settings*>(settings);
  return Guard(&mutable_settings->last_error, [&]() -> absl::Status {
    absl::StatusOr<std::unique_ptr<client::Client>> c =
        client::Client::Create(settings->settings);
    if (!c.ok()) {
      return c.status();
    }
    auto* h = new tl_client();
    h->client = *std::move(c);
    *out = h;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT void tl_client_close(tl_client* c) noexcept { delete c; }

extern "C" TL_EXPORT tl_status tl_client_wait_ready(tl_client* c, uint32_t timeout_ms) noexcept {
  if (c == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&c->last_error,
               [&]() -> absl::Status { return c->client->WaitReady(Deadline(timeout_ms)); });
}

extern "C" TL_EXPORT tl_status tl_client_server_count(const tl_client* c,
                                                      size_t* out_count) noexcept {
  if (c == nullptr || out_count == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  *out_count = c->client->Servers().size();
  return TL_OK;
}

namespace {

// WithServer runs `f` on server `index`'s status, recording failures on `c`.
template <typename F>
tl_status WithServer(const tl_client* c, size_t index, F f) {
  if (c == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  auto* h = const_cast<tl_client*>(c);
  return Guard(&h->last_error, [&]() -> absl::Status {
    std::vector<client::ServerStatus> servers = h->client->Servers();
    if (index >= servers.size()) {
      return trustlink::ntl::Error(absl::StatusCode::kOutOfRange, TL_E_OUT_OF_RANGE,
                                   absl::StrCat("server index ", index, " is out of range (",
                                                servers.size(), " servers)"));
    }
    return f(servers[index]);
  });
}

}  // namespace

extern "C" TL_EXPORT tl_status tl_client_server_state(const tl_client* c, size_t index,
                                                      int32_t* out_state,
                                                      tl_status* out_last_status) noexcept {
  if (out_state == nullptr || out_last_status == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return WithServer(c, index, [&](const client::ServerStatus& s) -> absl::Status {
    *out_state = static_cast<int32_t>(s.state);
    *out_last_status = trustlink::ntl::ToTlStatus(s.last_error);
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_server_name(const tl_client* c, size_t index,
                                                     char* buf, size_t buf_len,
                                                     size_t* out_len) noexcept {
  return WithServer(c, index, [&](const client::ServerStatus& s) {
    return CopyOut(s.name, buf, buf_len, out_len);
  });
}

extern "C" TL_EXPORT tl_status tl_client_server_error(const tl_client* c, size_t index,
                                                      char* buf, size_t buf_len,
                                                      size_t* out_len) noexcept {
  return WithServer(c, index, [&](const client::ServerStatus& s) {
    return CopyOut(s.last_error.message(), buf, buf_len, out_len);
  });
}

// ---- Slots --------------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status tl_client_slots(tl_client* c, tl_slot_list** out) noexcept {
  if (c == nullptr || out == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&c->last_error, [&]() -> absl::Status {
    auto* list = new tl_slot_list();
    list->slots = c->client->Slots();
    *out = list;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT void tl_slot_list_free(tl_slot_list* list) noexcept { delete list; }

extern "C" TL_EXPORT size_t tl_slot_list_count(const tl_slot_list* list) noexcept {
  return list == nullptr ? 0 : list->slots.size();
}

extern "C" TL_EXPORT tl_status tl_slot_list_get(const tl_slot_list* list, size_t index,
                                                int32_t* out_slot_id,
                                                int32_t* out_state) noexcept {
  if (list == nullptr || out_slot_id == nullptr || out_state == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  if (index >= list->slots.size()) {
    return TL_E_OUT_OF_RANGE;
  }
  *out_slot_id = list->slots[index].id;
  *out_state = SlotStateCode(list->slots[index].state);
  return TL_OK;
}

#define TL_SLOT_STRING(field)                                                         \
  extern "C" TL_EXPORT const char* tl_slot_list_##field(const tl_slot_list* list,     \
                                                        size_t index) noexcept {      \
    if (list == nullptr || index >= list->slots.size()) {                             \
      return nullptr;                                                                 \
    }                                                                                 \
    return list->slots[index].field.c_str();                                          \
  }
TL_SLOT_STRING(server)
TL_SLOT_STRING(partition)
TL_SLOT_STRING(label)
TL_SLOT_STRING(serial)
#undef TL_SLOT_STRING

// ---- Calls --------------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status tl_client_call(tl_client* c, int32_t slot, uint32_t op,
                                              const uint8_t* data, size_t data_len,
                                              uint32_t timeout_ms, tl_response** out) noexcept {
  if (c == nullptr || out == nullptr || (data == nullptr && data_len != 0)) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&c->last_error, [&]() -> absl::Status {
    absl::StatusOr<std::string> r = c->client->Call(
        slot, op, absl::string_view(reinterpret_cast<const char*>(data), data_len),
        Deadline(timeout_ms));
    if (!r.ok()) {
      return r.status();
    }
    auto* resp = new tl_response();
    resp->data = *std::move(r);
    *out = resp;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT void tl_response_free(tl_response* response) noexcept { delete response; }

extern "C" TL_EXPORT const uint8_t* tl_response_data(const tl_response* response) noexcept {
  return response == nullptr ? nullptr
                             : reinterpret_cast<const uint8_t*>(response->data.data());
}

extern "C" TL_EXPORT size_t tl_response_len(const tl_response* response) noexcept {
  return response == nullptr ? 0 : response->data.size();
}

extern "C" TL_EXPORT tl_status tl_client_call_async(tl_client* c, int32_t slot, uint32_t op,
                                                    const uint8_t* data, size_t data_len,
                                                    uint32_t timeout_ms, tl_call_cb cb,
                                                    void* userdata) noexcept {
  if (c == nullptr || cb == nullptr || (data == nullptr && data_len != 0)) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&c->last_error, [&]() -> absl::Status {
    return c->client->CallAsync(
        slot, op, absl::string_view(reinterpret_cast<const char*>(data), data_len),
        Deadline(timeout_ms), [cb, userdata](absl::StatusOr<std::string> r) {
          if (r.ok()) {
            cb(userdata, TL_OK, reinterpret_cast<const uint8_t*>(r->data()), r->size());
          } else {
            const absl::string_view m = r.status().message();
            cb(userdata, trustlink::ntl::ToTlStatus(r.status()),
               reinterpret_cast<const uint8_t*>(m.data()), m.size());
          }
        });
  });
}

// ---- fd mode ------------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status tl_client_fd(const tl_client* c, int* out_fd) noexcept {
  if (c == nullptr || out_fd == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  *out_fd = c->client->fd();
  return TL_OK;
}

extern "C" TL_EXPORT tl_status tl_client_process(tl_client* c, uint32_t timeout_ms) noexcept {
  if (c == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&c->last_error, [&]() -> absl::Status {
    return c->client->Process(timeout_ms == TL_CLIENT_NO_TIMEOUT
                                  ? absl::InfiniteDuration()
                                  : absl::Milliseconds(timeout_ms));
  });
}

// ---- Streams ------------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status tl_client_stream_open(tl_client* c, int32_t slot,
                                                     const char* service,
                                                     tl_stream_data_cb on_data,
                                                     tl_stream_close_cb on_close,
                                                     void* userdata,
                                                     uint64_t* out_stream) noexcept {
  if (c == nullptr || service == nullptr || on_data == nullptr || out_stream == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&c->last_error, [&]() -> absl::Status {
    client::StreamCallbacks cbs;
    cbs.on_data = [on_data, userdata](absl::string_view d) {
      on_data(userdata, reinterpret_cast<const uint8_t*>(d.data()), d.size());
    };
    if (on_close != nullptr) {
      cbs.on_close = [on_close, userdata](const absl::Status& s) {
        const std::string m(s.message());
        on_close(userdata, trustlink::ntl::ToTlStatus(s), m.c_str());
      };
    }
    absl::StatusOr<uint64_t> id = c->client->StreamOpen(slot, service, std::move(cbs));
    if (!id.ok()) {
      return id.status();
    }
    *out_stream = *id;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT tl_status tl_client_stream_send(tl_client* c, uint64_t stream,
                                                     const uint8_t* data,
                                                     size_t data_len) noexcept {
  if (c == nullptr || (data == nullptr && data_len != 0)) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&c->last_error, [&]() -> absl::Status {
    return c->client->StreamSend(
        stream, absl::string_view(reinterpret_cast<const char*>(data), data_len));
  });
}

extern "C" TL_EXPORT tl_status tl_client_stream_close(tl_client* c, uint64_t stream) noexcept {
  if (c == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&c->last_error,
               [&]() -> absl::Status { return c->client->StreamClose(stream); });
}

// ---- Verify -------------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status tl_client_verify(const tl_client_settings* settings,
                                                uint32_t timeout_ms,
                                                tl_verify_results** out) noexcept {
  if (settings == nullptr || out == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  auto* mutable_settings = const_cast<tl_client_settings*>(settings);
  return Guard(&mutable_settings->last_error, [&]() -> absl::Status {
    absl::StatusOr<std::vector<client::VerifyResult>> r = client::Verify(
        settings->settings, timeout_ms == TL_CLIENT_NO_TIMEOUT
                                ? absl::Hours(24)
                                : absl::Milliseconds(timeout_ms));
    if (!r.ok()) {
      return r.status();
    }
    auto* results = new tl_verify_results();
    results->results = *std::move(r);
    *out = results;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT void tl_verify_results_free(tl_verify_results* results) noexcept {
  delete results;
}

extern "C" TL_EXPORT size_t tl_verify_results_count(const tl_verify_results* r) noexcept {
  return r == nullptr ? 0 : r->results.size();
}

extern "C" TL_EXPORT size_t tl_verify_results_num_failed(const tl_verify_results* r) noexcept {
  size_t n = 0;
  if (r != nullptr) {
    for (const auto& e : r->results) {
      n += e.code != TL_OK ? 1 : 0;
    }
  }
  return n;
}

extern "C" TL_EXPORT tl_status tl_verify_results_get(const tl_verify_results* r, size_t index,
                                                     tl_status* out_outcome,
                                                     uint16_t* out_port,
                                                     size_t* out_num_slots) noexcept {
  if (r == nullptr || out_outcome == nullptr || out_port == nullptr ||
      out_num_slots == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  if (index >= r->results.size()) {
    return TL_E_OUT_OF_RANGE;
  }
  *out_outcome = r->results[index].code;
  *out_port = r->results[index].port;
  *out_num_slots = r->results[index].slots.size();
  return TL_OK;
}

#define TL_VERIFY_STRING(name, field)                                                 \
  extern "C" TL_EXPORT const char* tl_verify_results_##name(const tl_verify_results* r, \
                                                            size_t index) noexcept {  \
    if (r == nullptr || index >= r->results.size()) {                                 \
      return nullptr;                                                                 \
    }                                                                                 \
    return r->results[index].field.c_str();                                           \
  }
TL_VERIFY_STRING(server, server)
TL_VERIFY_STRING(host, host)
TL_VERIFY_STRING(message, message)
#undef TL_VERIFY_STRING

#define TL_VERIFY_SLOT_STRING(field)                                                    \
  extern "C" TL_EXPORT const char* tl_verify_results_slot_##field(                      \
      const tl_verify_results* r, size_t index, size_t slot) noexcept {                 \
    if (r == nullptr || index >= r->results.size() ||                                   \
        slot >= r->results[index].slots.size()) {                                       \
      return nullptr;                                                                   \
    }                                                                                   \
    return r->results[index].slots[slot].field.c_str();                                 \
  }
TL_VERIFY_SLOT_STRING(partition)
TL_VERIFY_SLOT_STRING(label)
TL_VERIFY_SLOT_STRING(serial)
#undef TL_VERIFY_SLOT_STRING
