// The client half of the C ABI (trustlink/client.h) over ntl/client:
// open/close, server state, slots, calls, fd mode and streams.
#include <new>
#include <utility>

#include "capi/src/client_handles.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::GuardThreadOnly;
namespace client = trustlink::ntl::client;
using namespace trustlink::capi::client_internal;  // NOLINT: the helpers of
                                                   // this ABI part

TL_DEFINE_LAST_ERROR(tl_client)

// ---- The client
// --------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status
tl_client_open(const tl_client_settings* settings, tl_client** out) noexcept {
  if (settings == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  // The failure goes to the calling thread only: settings may be shared by
  // many opens at once, and it is const.
  return GuardThreadOnly([&]() -> absl::Status {
    auto h = std::make_unique<tl_client>();
    client::ClientSettings copy = settings->settings;
    RouteLinkEvents(*settings, &copy, h.get());
    absl::StatusOr<std::unique_ptr<client::Client>> c =
        client::Client::Create(std::move(copy));
    if (!c.ok()) {
      return c.status();
    }
    h->client = *std::move(c);
    *out = h.release();
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT void tl_client_close(tl_client* c) noexcept {
  if (c != nullptr && c->owner.InForkedChild()) {
    // A fork() child closes only its copies of the descriptors; the links, the
    // TLS state and the threads stay the parent's (fork_owner.h).
    c->client->CloseDescriptorsInForkedChild();
    trustlink::capi::internal::KeepForever(c->client.release());
  }
  delete c;
}

extern "C" TL_EXPORT tl_status
tl_client_wait_ready(tl_client* c, uint32_t timeout_ms) noexcept {
  TL_CLIENT_USABLE(c);
  return Guard(&c->last_error, [&]() -> absl::Status {
    return c->client->WaitReady(Deadline(timeout_ms));
  });
}

extern "C" TL_EXPORT tl_status
tl_client_server_count(const tl_client* c, size_t* out_count) noexcept {
  TL_CLIENT_USABLE(c);
  if (out_count == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_count is NULL");
  }
  *out_count = c->client->Servers().size();
  return TL_OK;
}

namespace {

// WithServer runs `f` on server `index`'s status, recording failures on `c`.
template <typename F>
tl_status WithServer(const char* function, const tl_client* c, size_t index,
                     F f) {
  return WithClient(function, c, [&](client::Client& cl) -> absl::Status {
    std::vector<client::ServerStatus> servers = cl.Servers();
    if (index >= servers.size()) {
      return trustlink::capi::internal::OutOfRangeError(
          "server index", index, "the client", servers.size(), "server");
    }
    return f(servers[index]);
  });
}

}  // namespace

extern "C" TL_EXPORT tl_status
tl_client_server_state(const tl_client* c, size_t index, int32_t* out_state,
                       tl_status* out_last_status) noexcept {
  if (out_state == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_state is NULL");
  }
  if (out_last_status == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_last_status is NULL");
  }
  return WithServer(
      __func__, c, index, [&](const client::ServerStatus& s) -> absl::Status {
        *out_state = static_cast<int32_t>(s.state);
        *out_last_status = trustlink::ntl::ToTlStatus(s.last_error);
        return absl::OkStatus();
      });
}

extern "C" TL_EXPORT tl_status tl_client_server_name(const tl_client* c,
                                                     size_t index, char* buf,
                                                     size_t buf_len,
                                                     size_t* out_len) noexcept {
  return WithServer(__func__, c, index, [&](const client::ServerStatus& s) {
    return CopyOut(s.name, buf, buf_len, out_len);
  });
}

extern "C" TL_EXPORT tl_status
tl_client_server_error(const tl_client* c, size_t index, char* buf,
                       size_t buf_len, size_t* out_len) noexcept {
  return WithServer(__func__, c, index, [&](const client::ServerStatus& s) {
    return CopyOut(s.last_error.message(), buf, buf_len, out_len);
  });
}

// ---- Slots
// --------------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status tl_client_slots(tl_client* c,
                                               tl_slot_list** out) noexcept {
  TL_CLIENT_USABLE(c);
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(&c->last_error, "out is NULL");
  }
  return Guard(&c->last_error, [&]() -> absl::Status {
    auto* list = new tl_slot_list();
    list->slots = c->client->Slots();
    *out = list;
    return absl::OkStatus();
  });
}

extern "C" TL_EXPORT void tl_slot_list_free(tl_slot_list* list) noexcept {
  delete list;
}

extern "C" TL_EXPORT size_t
tl_slot_list_count(const tl_slot_list* list) noexcept {
  return list == nullptr ? 0 : list->slots.size();
}

extern "C" TL_EXPORT tl_status tl_slot_list_get(const tl_slot_list* list,
                                                size_t index,
                                                int32_t* out_slot_id,
                                                int32_t* out_state) noexcept {
  if (list == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_slot_list handle is NULL");
  }
  if (out_slot_id == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_slot_id is NULL");
  }
  if (out_state == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_state is NULL");
  }
  if (index >= list->slots.size()) {
    return trustlink::capi::internal::IndexOutOfRange(
        __func__, "index", index, "the tl_slot_list", list->slots.size(),
        "slot");
  }
  *out_slot_id = list->slots[index].id;
  *out_state = SlotStateCode(list->slots[index].state);
  return TL_OK;
}

#define TL_SLOT_STRING(field)                             \
  extern "C" TL_EXPORT const char* tl_slot_list_##field(  \
      const tl_slot_list* list, size_t index) noexcept {  \
    if (list == nullptr || index >= list->slots.size()) { \
      return nullptr;                                     \
    }                                                     \
    return list->slots[index].field.c_str();              \
  }
TL_SLOT_STRING(server)
TL_SLOT_STRING(partition)
TL_SLOT_STRING(label)
TL_SLOT_STRING(serial)
TL_SLOT_STRING(ha_group)
#undef TL_SLOT_STRING

// ---- Calls
// --------------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status tl_client_call(tl_client* c, int32_t slot,
                                              uint32_t op, const uint8_t* data,
                                              size_t data_len,
                                              uint32_t timeout_ms,
                                              tl_response** out) noexcept {
  TL_CLIENT_USABLE(c);
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(&c->last_error, "out is NULL");
  }
  if (data == nullptr && data_len != 0) {
    return TL_ARGUMENT_ERROR(&c->last_error,
                             "data is NULL but data_len is not 0");
  }
  return Guard(&c->last_error, [&]() -> absl::Status {
    absl::StatusOr<std::string> r = c->client->Call(
        slot, op,
        absl::string_view(reinterpret_cast<const char*>(data), data_len),
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

extern "C" TL_EXPORT void tl_response_free(tl_response* response) noexcept {
  delete response;
}

extern "C" TL_EXPORT const uint8_t* tl_response_data(
    const tl_response* response) noexcept {
  return response == nullptr
             ? nullptr
             : reinterpret_cast<const uint8_t*>(response->data.data());
}

extern "C" TL_EXPORT size_t
tl_response_len(const tl_response* response) noexcept {
  return response == nullptr ? 0 : response->data.size();
}

extern "C" TL_EXPORT tl_status
tl_client_call_async(tl_client* c, int32_t slot, uint32_t op,
                     const uint8_t* data, size_t data_len, uint32_t timeout_ms,
                     tl_call_cb cb, void* userdata) noexcept {
  TL_CLIENT_USABLE(c);
  if (cb == nullptr) {
    return TL_ARGUMENT_ERROR(&c->last_error, "cb is NULL");
  }
  if (data == nullptr && data_len != 0) {
    return TL_ARGUMENT_ERROR(&c->last_error,
                             "data is NULL but data_len is not 0");
  }
  // tl_call_cb has the shape of the client's raw completion: no closure and
  // no string per call (docs/client.md, "Pipelined calls").
  trustlink::ntl::client::RawCallCallback raw;
  raw.fn = cb;
  raw.arg = userdata;
  return Guard(&c->last_error, [&]() -> absl::Status {
    return c->client->CallAsyncRaw(
        slot, op,
        absl::string_view(reinterpret_cast<const char*>(data), data_len),
        Deadline(timeout_ms), raw);
  });
}

// ---- fd mode
// ------------------------------------------------------------------------------

extern "C" TL_EXPORT tl_status tl_client_fd(const tl_client* c,
                                            int* out_fd) noexcept {
  TL_CLIENT_USABLE(c);
  if (out_fd == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_fd is NULL");
  }
  *out_fd = c->client->fd();
  return TL_OK;
}

extern "C" TL_EXPORT tl_status tl_client_process(tl_client* c,
                                                 uint32_t timeout_ms) noexcept {
  TL_CLIENT_USABLE(c);
  return Guard(&c->last_error, [&]() -> absl::Status {
    return c->client->Process(timeout_ms == TL_CLIENT_NO_TIMEOUT
                                  ? absl::InfiniteDuration()
                                  : absl::Milliseconds(timeout_ms));
  });
}

// ---- Streams
// ------------------------------------------------------------------------------

namespace {

// OpenStream checks the arguments both stream opens share and wraps the C
// callbacks; `open` opens the stream with them.
template <typename OpenFn>
tl_status OpenStream(tl_client* c, const char* service,
                     tl_stream_data_cb on_data, tl_stream_close_cb on_close,
                     void* userdata, uint64_t* out_stream, OpenFn open) {
  TL_CLIENT_USABLE(c);
  if (service == nullptr) {
    return TL_ARGUMENT_ERROR(&c->last_error, "service is NULL");
  }
  if (on_data == nullptr) {
    return TL_ARGUMENT_ERROR(&c->last_error, "on_data is NULL");
  }
  if (out_stream == nullptr) {
    return TL_ARGUMENT_ERROR(&c->last_error, "out_stream is NULL");
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
    absl::StatusOr<uint64_t> id = open(std::move(cbs));
    if (!id.ok()) {
      return id.status();
    }
    *out_stream = *id;
    return absl::OkStatus();
  });
}

}  // namespace

extern "C" TL_EXPORT tl_status
tl_client_stream_open(tl_client* c, int32_t slot, const char* service,
                      tl_stream_data_cb on_data, tl_stream_close_cb on_close,
                      void* userdata, uint64_t* out_stream) noexcept {
  return OpenStream(c, service, on_data, on_close, userdata, out_stream,
                    [&](client::StreamCallbacks cbs) {
                      return c->client->StreamOpen(slot, service,
                                                   std::move(cbs));
                    });
}

extern "C" TL_EXPORT tl_status tl_client_server_stream_open(
    tl_client* c, size_t server, const char* service, tl_stream_data_cb on_data,
    tl_stream_close_cb on_close, void* userdata,
    uint64_t* out_stream) noexcept {
  return OpenStream(c, service, on_data, on_close, userdata, out_stream,
                    [&](client::StreamCallbacks cbs) {
                      return c->client->ServerStreamOpen(server, service,
                                                         std::move(cbs));
                    });
}

extern "C" TL_EXPORT tl_status tl_client_stream_send(tl_client* c,
                                                     uint64_t stream,
                                                     const uint8_t* data,
                                                     size_t data_len) noexcept {
  TL_CLIENT_USABLE(c);
  if (data == nullptr && data_len != 0) {
    return TL_ARGUMENT_ERROR(&c->last_error,
                             "data is NULL but data_len is not 0");
  }
  return Guard(&c->last_error, [&]() -> absl::Status {
    return c->client->StreamSend(
        stream,
        absl::string_view(reinterpret_cast<const char*>(data), data_len));
  });
}

extern "C" TL_EXPORT tl_status
tl_client_stream_close(tl_client* c, uint64_t stream) noexcept {
  TL_CLIENT_USABLE(c);
  return Guard(&c->last_error, [&]() -> absl::Status {
    return c->client->StreamClose(stream);
  });
}
