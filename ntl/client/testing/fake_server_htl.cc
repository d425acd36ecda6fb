// The HTL half of the FakeServer: the htl/1 handler and the link-proof check,
// doing what docs/htl.md ("Integration") asks of the real server, with the
// same steps as htl/testing/loopback.cc but over a real TLS connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "htl/exporter.h"
#include "htl/messages.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/status.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::client::testing {
namespace {

std::string PeerAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    if (addr.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
      port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
      port = ntohs(a->sin6_port);
    }
  }
  return absl::StrCat(host, ":", port);
}

bool WriteAllTo(SSL* ssl, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const int n =
        SSL_write(ssl, data.data() + off, static_cast<int>(data.size() - off));
    if (n <= 0) {
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

// WaitDelayOrHangup waits `delay`, or less if the client hangs up first.
void WaitDelayOrHangup(int fd, absl::Duration delay) {
  pollfd p{fd, POLLRDHUP, 0};
  poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(delay)));
}

}  // namespace

absl::Status FakeServer::CheckLinkProof(void* ssl_ptr,
                                        absl::string_view payload) {
  SSL* ssl = static_cast<SSL*>(ssl_ptr);
  absl::StatusOr<htl::LinkProof> proof = htl::DecodeLinkProof(payload);
  if (!proof.ok()) {
    return proof.status();
  }
  absl::StatusOr<std::string> exporter = htl::ExportHtlBinding(ssl);
  if (!exporter.ok()) {
    return exporter.status();
  }
  return options_.htl_appliance->CheckLinkProof(options_.client_label,
                                                *exporter, *proof);
}

void FakeServer::ServeHtl(void* ssl_ptr, int fd) {
  static std::atomic<int> next_session{0};
  SSL* ssl = static_cast<SSL*>(ssl_ptr);
  htl_sessions_.fetch_add(1);
  htl::Appliance* appliance = options_.htl_appliance;
  const std::string& client = options_.client_label;
  htl::SessionInfo info;
  info.id = absl::StrCat("fake-htl-", next_session.fetch_add(1));
  info.source = PeerAddress(fd);
  absl::StatusOr<std::string> exporter = htl::ExportHtlBinding(ssl);
  if (!exporter.ok()) {
    return;
  }
  info.exporter = *exporter;
  std::string in;
  char buf[16384];
  if (options_.goaway_status != 0) {
    // Refused after the handshake (e.g. TL_E_HTL_REQUIRED_BY_CLIENT for a
    // client not registered -requirehtl); read on until the client hangs up,
    // so the goaway is not lost to a reset.
    std::string out;
    wire::Closing c{options_.goaway_status, options_.goaway_message};
    wire::AppendFrame(wire::FrameType::kGoAway, 0, 0, wire::EncodeClosing(c),
                      &out);
    if (WriteAllTo(ssl, out)) {
      while (SSL_read(ssl, buf, sizeof(buf)) > 0) {
      }
    }
    ERR_clear_error();
    return;
  }
  bool open = true;
  while (open) {
    const int n = SSL_read(ssl, buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    in.append(buf, static_cast<size_t>(n));
    size_t off = 0;
    for (;;) {
      wire::DecodeResult r = wire::DecodeFrame(
          absl::string_view(in).substr(off), wire::kDefaultMaxPayload);
      if (r.kind != wire::DecodeResult::Kind::kFrame) {
        open = r.kind != wire::DecodeResult::Kind::kError;
        break;
      }
      off += r.consumed;
      const wire::FrameView& f = r.frame;
      std::string out;
      if (f.type == wire::FrameType::kPing) {
        wire::AppendFrame(wire::FrameType::kPong, 0, f.id, f.payload, &out);
      } else if (f.type == wire::FrameType::kRequest) {
        absl::StatusOr<wire::Request> req = wire::DecodeRequest(f.payload);
        if (!req.ok()) {
          open = false;
          break;
        }
        absl::StatusOr<htl::Grant> grant =
            Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                  absl::StrCat("op ", req->op, " is not an HTL op"));
        if (req->op == htl::kOpEstablish) {
          absl::StatusOr<htl::EstablishRequest> e =
              htl::DecodeEstablishRequest(req->data);
          grant = e.ok() ? appliance->Establish(client, info, *e)
                         : absl::StatusOr<htl::Grant>(e.status());
        } else if (req->op == htl::kOpHeartbeat) {
          absl::StatusOr<htl::HeartbeatRequest> h =
              htl::DecodeHeartbeatRequest(req->data);
          grant = h.ok() ? appliance->Heartbeat(client, info, *h)
                         : absl::StatusOr<htl::Grant>(h.status());
        }
        htl_requests_.fetch_add(1);
        const FakeServerOptions::HtlReply fate =
            options_.htl_reply ? options_.htl_reply(req->op)
                               : FakeServerOptions::HtlReply::kSend;
        if (fate == FakeServerOptions::HtlReply::kDrop) {
          open = false;  // processed, but the reply is lost with the link
          break;
        }
        if (fate == FakeServerOptions::HtlReply::kDelay) {
          WaitDelayOrHangup(fd, options_.htl_delay);
        }
        wire::Response resp;
        if (grant.ok()) {
          resp.data = htl::EncodeGrant(*grant);
        } else {
          resp.status = ToTlStatus(grant.status());
          resp.data = std::string(grant.status().message());
        }
        wire::AppendFrame(wire::FrameType::kResponse, 0, f.id,
                          wire::EncodeResponse(resp), &out);
      }
      if (!out.empty() && !WriteAllTo(ssl, out)) {
        open = false;
        break;
      }
    }
    in.erase(0, off);
  }
  ERR_clear_error();
  appliance->OnHtlLinkClosed(client, info.id);
}

}  // namespace trustlink::ntl::client::testing
