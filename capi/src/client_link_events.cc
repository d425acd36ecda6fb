// Link events through the C ABI (trustlink/client.h): the callback set on the
// settings, or a queue read with tl_client_next_link_event.
#include <utility>

#include "capi/src/client_handles.h"

namespace trustlink::capi::client_internal {

void LinkEventQueue::Push(const client::LinkEvent& event) {
  ntl::internal::MutexLock lock(&mu_);
  if (events_.size() >= TL_CLIENT_LINK_EVENTS_MAX) {
    events_.pop_front();
  }
  events_.push_back(event);
}

bool LinkEventQueue::Pop(client::LinkEvent* event) {
  ntl::internal::MutexLock lock(&mu_);
  if (events_.empty()) {
    return false;
  }
  *event = std::move(events_.front());
  events_.pop_front();
  return true;
}

// EventIndex is the index an event names through the C ABI: the server, or
// the group for group events (TL_LINK_EVENT_HA_GROUP_*).
size_t EventIndex(const client::LinkEvent& e) {
  return e.kind == client::LinkEvent::Kind::kHaGroupDown ||
                 e.kind == client::LinkEvent::Kind::kHaGroupUp
             ? e.group
             : e.server;
}

// RouteLinkEvents sets `settings`' on_link_event for a client being opened:
// to the C callback when there is one, else to `h`'s queue.
void RouteLinkEvents(const tl_client_settings& from,
                     client::ClientSettings* settings, tl_client* h) {
  if (from.link_event_cb != nullptr) {
    settings->on_link_event =
        [cb = from.link_event_cb,
         userdata = from.link_event_userdata](const client::LinkEvent& e) {
          cb(userdata, static_cast<int32_t>(e.kind), EventIndex(e),
             ntl::ToTlStatus(e.status));
        };
    return;
  }
  h->link_events = std::make_shared<LinkEventQueue>();
  settings->on_link_event =
      [queue = h->link_events](const client::LinkEvent& e) { queue->Push(e); };
}

}  // namespace trustlink::capi::client_internal

extern "C" TL_EXPORT tl_status tl_client_settings_set_link_event_callback(
    tl_client_settings* s, tl_link_event_cb cb, void* userdata) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_settings handle is NULL");
  }
  s->link_event_cb = cb;
  s->link_event_userdata = userdata;
  return TL_OK;
}

extern "C" TL_EXPORT tl_status tl_client_next_link_event(
    tl_client* c, int32_t* out_kind, size_t* out_server_index,
    tl_status* out_status) noexcept {
  TL_CLIENT_USABLE(c);
  if (out_kind == nullptr || out_server_index == nullptr ||
      out_status == nullptr) {
    return TL_ARGUMENT_ERROR(
        &c->last_error, "out_kind, out_server_index and out_status are needed");
  }
  if (c->link_events == nullptr) {
    return TL_ARGUMENT_ERROR(&c->last_error,
                             "the client's link events go to the callback set "
                             "with tl_client_settings_set_link_event_callback",
                             TL_E_FAILED_PRECONDITION);
  }
  trustlink::ntl::client::LinkEvent e;
  if (!c->link_events->Pop(&e)) {
    // Not a failure: the thread's and the handle's last errors stay as they
    // are.
    return TL_E_NOT_FOUND;
  }
  *out_kind = static_cast<int32_t>(e.kind);
  *out_server_index = trustlink::capi::client_internal::EventIndex(e);
  *out_status = trustlink::ntl::ToTlStatus(e.status);
  return TL_OK;
}
