#include "htl/link_connector.h"

#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "htl/exporter.h"
#include "ntl/client/framed_session.h"
#include "ntl/client/root_loader.h"
#include "ntl/client/tls_context.h"
#include "ntl/status.h"
#include "ntl/tls/policy.h"

namespace trustlink::htl {
namespace {

using ntl::client::ClientSettings;
using ntl::client::FramedSession;

class LinkSession : public HtlSession {
 public:
  LinkSession(std::unique_ptr<FramedSession> session, std::string exporter,
              absl::Duration call_timeout)
      : session_(std::move(session)),
        exporter_(std::move(exporter)),
        call_timeout_(call_timeout) {}

  std::string Exporter() const override { return exporter_; }

  absl::StatusOr<std::string> Call(uint32_t op,
                                   absl::string_view payload) override {
    // The HTL ops address no partition (docs/htl.md, "Frames").
    return session_->Call("", op, payload, absl::Now() + call_timeout_);
  }

 private:
  std::unique_ptr<FramedSession> session_;
  const std::string exporter_;
  const absl::Duration call_timeout_;
};

class LinkConnector : public HtlConnector {
 public:
  // `load` gives the settings and the call timeout for each Connect.
  using Loader = std::function<absl::StatusOr<ClientSettings>()>;
  LinkConnector(Loader load, absl::Duration call_timeout)
      : load_(std::move(load)), call_timeout_(call_timeout) {}

  absl::StatusOr<std::unique_ptr<HtlSession>> Connect(
      absl::string_view appliance) override {
    absl::StatusOr<ClientSettings> settings = load_();
    if (!settings.ok()) {
      return settings.status();
    }
    const ntl::client::ServerSettings* server = nullptr;
    for (const ntl::client::ServerSettings& s : settings->servers) {
      if (s.name == appliance) {
        server = &s;
      }
    }
    if (server == nullptr) {
      return ntl::Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat("server '", appliance,
                       "' is not in the client configuration; register it with "
                       "HTL (tl_client_root_add_server)"));
    }
    absl::StatusOr<bssl::UniquePtr<SSL_CTX>> ctx =
        ntl::client::MakeClientContext(*settings, ntl::tls::kAlpnHtl);
    if (!ctx.ok()) {
      return ctx.status();
    }
    absl::StatusOr<std::unique_ptr<FramedSession>> session =
        FramedSession::Connect(ctx->get(), *server, *settings,
                               absl::Now() + settings->connect_timeout);
    if (!session.ok()) {
      return session.status();
    }
    absl::StatusOr<std::string> exporter = ExportHtlBinding((*session)->ssl());
    if (!exporter.ok()) {
      return exporter.status();
    }
    const absl::Duration timeout = call_timeout_ > absl::ZeroDuration()
                                       ? call_timeout_
                                       : settings->connect_timeout;
    return std::unique_ptr<HtlSession>(
        new LinkSession(*std::move(session), *std::move(exporter), timeout));
  }

 private:
  const Loader load_;
  const absl::Duration call_timeout_;  // zero: the settings' connect_timeout
};

}  // namespace

std::unique_ptr<HtlConnector> NewLinkConnector(const std::string& client_root) {
  return std::make_unique<LinkConnector>(
      [client_root]() { return ntl::client::LoadClientSettings(client_root); },
      absl::ZeroDuration());
}

std::unique_ptr<HtlConnector> NewLinkConnectorForSettings(
    ClientSettings settings, absl::Duration call_timeout) {
  return std::make_unique<LinkConnector>(
      [settings = std::move(settings)]() -> absl::StatusOr<ClientSettings> {
        return settings;
      },
      call_timeout);
}

}  // namespace trustlink::htl
