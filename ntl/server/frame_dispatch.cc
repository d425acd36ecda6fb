// Decoding the plaintext a connection read into frames, and sending each to
// the handler for the link's state: hello, HTL proof, htl/1, or the ntl/1
// requests, pings and streams (docs/wire.md).

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server::internal_engine {

void Loop::ProcessFrames(Conn* c) {
  const uint32_t max = server_->options_.max_frame_payload;
  while (!c->dead && c->state != Conn::State::kDraining &&
         c->state != Conn::State::kCheckingHtl) {
    wire::DecodeResult d = wire::DecodeFrame(c->in.view(), max);
    if (d.kind == wire::DecodeResult::Kind::kNeedMore) {
      return;
    }
    if (d.kind == wire::DecodeResult::Kind::kError) {
      Log(absl::StrCat("protocol-error peer=", c->peer, " reason=\"",
                       d.error.message(), "\""));
      GoAway(c, TL_E_PROTOCOL, d.error.message());
      return;
    }
    HandleFrame(c, d.frame);
    c->in.Consume(d.consumed);
  }
}

void Loop::HandleFrame(Conn* c, const wire::FrameView& f) {
  using wire::FrameType;
  if (c->state == Conn::State::kAwaitHello) {
    if (f.type != FrameType::kHello) {
      GoAway(c, TL_E_PROTOCOL, "the first frame must be hello");
      return;
    }
    HandleHello(c, f);
    return;
  }
  if (c->state == Conn::State::kAwaitHtlProof) {
    HandleHtlProof(c, f);
    return;
  }
  if (c->htl_link) {
    HandleHtlFrame(c, f);
    return;
  }
  switch (f.type) {
    case FrameType::kRequest:
      HandleRequest(c, f);
      return;
    case FrameType::kPing:
      SendFrame(c, FrameType::kPong, f.id, f.payload);
      return;
    case FrameType::kPong:
      return;
    case FrameType::kStreamOpen:
      HandleStreamOpen(c, f);
      return;
    case FrameType::kStreamData: {
      auto it = c->streams.find(f.id);
      if (it == c->streams.end()) {
        return;  // a stream the server already closed; its data is late, not an
                 // error
      }
      it->second.session->OnData(f.payload);
      return;
    }
    case FrameType::kStreamClose: {
      auto it = c->streams.find(f.id);
      if (it != c->streams.end()) {
        std::unique_ptr<StreamSession> s = std::move(it->second.session);
        c->streams.erase(it);
        s->OnClose();
      }
      return;
    }
    case FrameType::kHtlProof:
      GoAway(c, TL_E_PROTOCOL,
             "htl-proof is valid only right after a hello that sets the HTL "
             "bit");
      return;
    default:
      GoAway(c, TL_E_PROTOCOL,
             absl::StrCat("a client may not send ", wire::FrameTypeName(f.type),
                          " frames"));
  }
}

}  // namespace trustlink::ntl::server::internal_engine
