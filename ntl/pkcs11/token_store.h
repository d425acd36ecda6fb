#ifndef TRUSTLINK_NTL_PKCS11_TOKEN_STORE_H_
#define TRUSTLINK_NTL_PKCS11_TOKEN_STORE_H_

// TokenStore: the appliance's PKCS#11 tokens, one SoftHSM2 token per
// partition, all in one SoftHSM2 token directory so that one process can serve
// every partition assigned to a client (ADR 0002):
//
//   <store>/softhsm2.conf       0600; tokendir = <store>/partitions
//   <store>/partitions/         0700; SoftHSM2's token directory
//   <store>/partitions/.lock    OFD lock serialising Create/Remove
//   <store>/partitions/<name>/  partition <name>'s token (label <name>)
//   <store>/staging/            tokens being made or moved; never served
//
// A partition's token has the partition name as its label, so `p11-kit remote`
// serves exactly the assigned tokens (pkcs11:token=<name> ...) and hides the
// others and SoftHSM2's spare empty slot.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/internal/safe_dir.h"

namespace trustlink::ntl::pkcs11 {

inline constexpr char kDefaultSoftHsmModule[] =
    "/usr/lib/softhsm/libsofthsm2.so";
inline constexpr char kDefaultPkcs11Tool[] = "/usr/bin/pkcs11-tool";
// A PKCS#11 token label is 32 bytes.
inline constexpr size_t kMaxPartitionNameLength = 32;

// ValidatePartitionName: a name that is safe as a path component, as a token
// label and as a word in a p11-kit module config: 1-32 of [A-Za-z0-9._-], not
// starting with '.' or '-'.
absl::Status ValidatePartitionName(absl::string_view name);

// ValidatePin: 4-255 bytes (SoftHSM2's limits), no NUL or newline.
absl::Status ValidatePin(absl::string_view pin, absl::string_view what);

// PartitionToken says where one partition's token lives.
struct PartitionToken {
  std::string partition;
  std::string softhsm2_conf;  // absolute path, for SOFTHSM2_CONF
  std::string token_label;
  std::string token_uri;  // "pkcs11:token=<label>", percent-encoded
};

struct TokenStoreOptions {
  std::string module_path = kDefaultSoftHsmModule;
  // Tokens are initialised with pkcs11-tool because it takes PINs from the
  // environment
  // ("env:VAR"); softhsm2-util wants them in argv, where any local user can
  // read them.
  std::string pkcs11_tool = kDefaultPkcs11Tool;
  absl::Duration tool_timeout = absl::Seconds(30);
};

// Thread safety: const methods are safe from many threads at once. Create and
// Remove take an OFD lock on <root>/partitions/.lock, so concurrent admin
// processes are serialised.
class TokenStore {
 public:
  // Open opens (creating if needed, 0700) the store at `appliance_root`: it
  // (re)writes softhsm2.conf, moves partitions of the older layout (a token
  // directory each, <name>/softhsm2.conf and <name>/tokens/) into the shared
  // one, and drops tokens whose Create did not finish. The root must be an
  // absolute path: SoftHSM2 needs absolute token directories.
  static absl::StatusOr<TokenStore> Open(const std::string& appliance_root,
                                         TokenStoreOptions options = {});

  // Create makes the partition's token directory and config, initialises the
  // token with label = partition name and the admin's SO PIN, and sets the user
  // PIN. ALREADY_EXISTS if the partition has a token. On failure nothing is
  // left behind.
  absl::Status Create(absl::string_view partition, absl::string_view so_pin,
                      absl::string_view user_pin);

  // Find returns where the partition's token lives (softhsm2_conf is the
  // store's shared one); NOT_FOUND (TL_E_NOT_FOUND) if none.
  absl::StatusOr<PartitionToken> Find(absl::string_view partition) const;

  // Remove deletes the partition's token and all its objects. Close its streams
  // first (Pkcs11Service::ClosePartition).
  absl::Status Remove(absl::string_view partition);

  // List returns the partitions that have a token, sorted.
  absl::StatusOr<std::vector<std::string>> List() const;

  const std::string& partitions_path() const { return dir_.path(); }
  const TokenStoreOptions& options() const { return options_; }

 private:
  TokenStore(internal::SafeDir root, internal::SafeDir dir,
             internal::SafeDir staging, TokenStoreOptions options)
      : root_(std::move(root)),
        dir_(std::move(dir)),
        staging_(std::move(staging)),
        options_(std::move(options)) {}
  absl::Status Prepare();
  // FinishMove moves the token in staging/<staged>/tokens/ to
  // partitions/<partition>/ and removes staging/<staged>.
  absl::Status FinishMove(const std::string& staged,
                          const std::string& partition);
  absl::Status InitToken(const PartitionToken& token, absl::string_view so_pin,
                         absl::string_view user_pin);

  internal::SafeDir root_;
  internal::SafeDir dir_;
  internal::SafeDir staging_;
  TokenStoreOptions options_;
};

// kApplianceTokenDir is the folder under an NTLS appliance root that holds the
// token store: the registry owns <appliance root>/partitions/, so the tokens
// live in <appliance root>/pkcs11/partitions/<name>/.
inline constexpr char kApplianceTokenDir[] = "pkcs11";

// OpenApplianceTokens opens the token store of the appliance at
// `appliance_root`; a relative root is taken from the current directory.
absl::StatusOr<TokenStore> OpenApplianceTokens(
    const std::string& appliance_root, TokenStoreOptions options = {});

// TokenUri returns "pkcs11:token=<label>" with the label percent-encoded (RFC
// 7512).
std::string TokenUri(absl::string_view label);

// RemoveTree deletes the directory `name` inside `parent_fd` and everything
// below it, never following symlinks.
absl::Status RemoveTree(int parent_fd, const std::string& name);

}  // namespace trustlink::ntl::pkcs11

#endif  // TRUSTLINK_NTL_PKCS11_TOKEN_STORE_H_
