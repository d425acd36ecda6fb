#ifndef TRUSTLINK_NTL_CONFIG_CLIENT_H_
#define TRUSTLINK_NTL_CONFIG_CLIENT_H_

// ClientConfig: the client's settings in <client root>/trustlink.conf, one
// section in the block syntax admins know from Chrystoki.conf (ConfigDocument
// keeps the file lossless):
//
//   Trustlink Client = {
//      ClientCertFile = cert/client/web1.pem;     # relative paths are under
//      the root ClientPrivKeyFile = cert/client/web1Key.pem; ServerCAFile =
//      cert/server/CAFile.pem; TCPKeepAlive = 1;                          # 0
//      or 1, default 1 ReceiveTimeout = 20000;                    #
//      milliseconds ConnectTimeout = 10000;                    # milliseconds
//      ServerName00 = hsm1.example.com;
//      ServerPort00 = 1792;                       # default 1792
//      ServerHtl00 = 0;                           # 1: this link uses HTL
//   }

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/config_document.h"

namespace trustlink::ntl {

inline constexpr absl::string_view kClientSection = "Trustlink Client";
inline constexpr absl::string_view kChrystokiClientSection = "LunaSA Client";
inline constexpr absl::string_view kConfigFileName = "trustlink.conf";
inline constexpr int kDefaultServerPort = 1792;
inline constexpr int kDefaultReceiveTimeoutMs = 20000;
inline constexpr int kDefaultConnectTimeoutMs = 10000;

// ServerConfig is one numbered server entry.
struct ServerConfig {
  std::string name;  // Canonical.
  int port = kDefaultServerPort;
  bool htl = false;
  std::string index;  // "00", "01", ...; set by the config.
};

// ClientConfig is the model over the document.
// Thread safety: a value type; not safe for concurrent mutation. Processes
// serialise read-modify-write of the file with the client root's lock.
class ClientConfig {
 public:
  // Default returns a fresh config with a comment header and the defaults
  // written out.
  static ClientConfig Default();
  // Parse parses and validates `text`. Errors carry TL_E_CONFIG_INVALID and
  // "<file>:<line>:<column>".
  static absl::StatusOr<ClientConfig> Parse(absl::string_view text,
                                            absl::string_view file_name);

  std::string Serialize() const { return doc_.Serialize(); }

  // Validate checks every known key's value (ports, 0/1 flags, timeouts, server
  // names, a ServerPortNN or ServerHtlNN without its ServerNameNN, one name
  // listed twice) and the HA groups (ValidateHa in config_ha.h).
  absl::Status Validate() const;

  // Servers returns the numbered servers in index order.
  absl::StatusOr<std::vector<ServerConfig>> Servers() const;
  // FindServer returns the server named `name` (compared as SameName), or
  // NOT_FOUND.
  absl::StatusOr<ServerConfig> FindServer(absl::string_view name) const;
  // AddServer adds `server` with the next free index, or updates port and HTL
  // if the name is already listed. Returns the entry as stored.
  absl::StatusOr<ServerConfig> AddServer(const ServerConfig& server);
  // RemoveServer deletes the server's three entries and renumbers the ones
  // after it down, so the list stays contiguous as the reference product
  // expects. NOT_FOUND if absent; FAILED_PRECONDITION while an HA group has a
  // member on it (remove the member first).
  absl::Status RemoveServer(absl::string_view name);

  bool TcpKeepAlive() const;
  int ReceiveTimeoutMs() const;
  int ConnectTimeoutMs() const;
  // Get returns a key of the client section ("" if missing).
  std::string Get(absl::string_view key) const;
  void Set(absl::string_view key, absl::string_view value);

  // ImportChrystoki carries over the servers, TCPKeepAlive and the timeouts of
  // the "LunaSA Client" section of a Chrystoki.conf, and its HA groups and
  // HAConfiguration (ImportChrystokiHa). Servers and groups already listed are
  // kept as they are. Returns one line per thing imported or skipped.
  absl::StatusOr<std::vector<std::string>> ImportChrystoki(
      absl::string_view text, absl::string_view file_name);

  const ConfigDocument& document() const { return doc_; }
  // mutable_document is for the editors of the other sections (config_ha.h);
  // they Validate() before anything is written.
  ConfigDocument* mutable_document() { return &doc_; }

 private:
  explicit ClientConfig(ConfigDocument doc) : doc_(std::move(doc)) {}
  ConfigDocument doc_;
};

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_CONFIG_CLIENT_H_
