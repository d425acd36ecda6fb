// Client's byte streams: opened on a slot's partition or client-wide on a
// server, then sent on and closed by the 64-bit handle (server number in
// the high half, the link's stream id in the low).

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/client/client.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

absl::StatusOr<uint64_t> Client::StreamOpen(int slot, absl::string_view service,
                                            StreamCallbacks callbacks) {
  Completions done;
  absl::StatusOr<uint64_t> out;
  {
    internal::MutexLock lock(&mu_);
    std::string partition;
    absl::StatusOr<Connection*> conn =
        ConnectionForSlotLocked(slot, &partition);
    if (!conn.ok()) {
      return conn.status();
    }
    absl::StatusOr<uint32_t> id =
        (*conn)->OpenStream(partition, service, std::move(callbacks), &done);
    if (!id.ok()) {
      out = id.status();
    } else {
      out = (static_cast<uint64_t>(slots_.at(slot).server) << 32) | *id;
    }
  }
  done.RunAll();
  return out;
}

absl::StatusOr<uint64_t> Client::ServerStreamOpen(size_t server,
                                                  absl::string_view service,
                                                  StreamCallbacks callbacks) {
  Completions done;
  absl::StatusOr<uint64_t> out;
  {
    internal::MutexLock lock(&mu_);
    if (server >= conns_.size()) {
      return Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat("no server number ", server, "; this client has ",
                       conns_.size(), " servers configured"));
    }
    // An empty partition asks the server for a client-wide stream.
    absl::StatusOr<uint32_t> id =
        conns_[server]->OpenStream("", service, std::move(callbacks), &done);
    if (!id.ok()) {
      out = id.status();
    } else {
      out = (static_cast<uint64_t>(server) << 32) | *id;
    }
  }
  done.RunAll();
  return out;
}

template <typename Op>
absl::Status Client::OnStreamLink(uint64_t stream, Op op) {
  Completions done;
  absl::Status st;
  {
    internal::MutexLock lock(&mu_);
    const size_t server = static_cast<size_t>(stream >> 32);
    if (server >= conns_.size()) {
      return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                   absl::StrCat("no such stream ", stream,
                                " on this client: use the id that opening "
                                "the stream returned"));
    }
    st = op(conns_[server].get(), static_cast<uint32_t>(stream), &done);
  }
  done.RunAll();
  return st;
}

absl::Status Client::StreamSend(uint64_t stream, absl::string_view data) {
  return OnStreamLink(stream,
                      [data](Connection* c, uint32_t id, Completions* done) {
                        return c->StreamSend(id, data, done);
                      });
}

absl::Status Client::StreamClose(uint64_t stream) {
  return OnStreamLink(stream,
                      [](Connection* c, uint32_t id, Completions* done) {
                        return c->StreamClose(id, done);
                      });
}

}  // namespace trustlink::ntl::client
