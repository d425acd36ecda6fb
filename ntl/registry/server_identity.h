#ifndef TRUSTLINK_NTL_REGISTRY_SERVER_IDENTITY_H_
#define TRUSTLINK_NTL_REGISTRY_SERVER_IDENTITY_H_

// The appliance's own identity: its key and server.pem (CN and SAN = the
// appliance name), under <appliance root>/server/. `sysconf regenCert` makes a
// new one and keeps the old pair in server/previous/ until `sysconf
// dropOldCert`, so a TLS server can keep serving the old certificate to clients
// that have not yet registered the new one.
//
//   server/server.pem, server/serverKey.pem      the current identity
//   server/new.pem, server/newKey.pem            only during a regeneration
//   (see Load) server/previous/<fingerprint hex>.pem, ...Key.pem   overlapping
//   old identities

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/identity.h"

namespace trustlink::ntl::registry {

// ServerIdentities is the current identity and the overlapping old ones, newest
// first. Thread safety: immutable after load; const access from many threads is
// safe.
struct ServerIdentities {
  Identity current;
  std::vector<Identity> previous;
};

// LoadServerIdentity reads the identities; NOT_FOUND (with the command to run)
// if the appliance has none yet. A regeneration interrupted by a crash is
// completed here: if the current key belongs to server/new.pem, the new
// certificate is moved into place.
absl::StatusOr<ServerIdentities> LoadServerIdentity(const std::string& root);

// EnsureServerIdentity loads the identity, creating it for `appliance_name` (a
// hostname or IP, canonicalised) with `key_type` when there is none: what the
// appliance does at first start. `created` (may be null) says whether it was
// made now.
absl::StatusOr<ServerIdentities> EnsureServerIdentity(
    const std::string& root, absl::string_view appliance_name, KeyType key_type,
    bool* created);

// RegenerateServerIdentity makes a new identity for `appliance_name` (empty:
// the name in the current certificate) and keeps the current one in
// server/previous/. The caller serialises
// (Registry::RegenerateServerCertificate holds the registry lock).
absl::StatusOr<ServerIdentities> RegenerateServerIdentity(
    const std::string& root, absl::string_view appliance_name,
    KeyType key_type);

// DropPreviousServerIdentities removes the overlapping old identities; returns
// how many.
absl::StatusOr<int> DropPreviousServerIdentities(const std::string& root);

}  // namespace trustlink::ntl::registry

#endif  // TRUSTLINK_NTL_REGISTRY_SERVER_IDENTITY_H_
