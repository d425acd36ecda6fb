#ifndef TRUSTLINK_NTL_TRUST_STORE_INTERNAL_H_
#define TRUSTLINK_NTL_TRUST_STORE_INTERNAL_H_

// What the files implementing TrustStore (trust_store*.cc) share and nobody
// else needs: the store read at one moment (Snapshot), its verdict
// (Evaluation) and the layout constants. It lives here rather than in
// trust_store.h so the public header stays the API; it is private to the
// //ntl:trust_store target.

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/cert.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/names.h"
#include "ntl/trust_store.h"

namespace trustlink::ntl {

namespace trust_store_internal {

inline constexpr absl::string_view kServerDir = "server";
inline constexpr absl::string_view kLockFile = ".server.lock";
inline constexpr absl::string_view kCertSuffix = "Cert.pem";

// TimeText is how the store's messages print a validity bound.
std::string TimeText(absl::Time t);

}  // namespace trust_store_internal

// Snapshot is everything in cert/server at one moment, parsed.
struct TrustStore::Snapshot {
  struct Named {
    std::string file_name;
    std::string stem;
    absl::StatusOr<CanonicalName> name = absl::UnknownError("unset");
    absl::StatusOr<Certificate> cert = absl::UnknownError("unset");
  };
  // Every regular file by name, so an update can carry unknown files over.
  std::map<std::string, std::string> files;
  // Entries an update could not carry over (a symlink, a directory, an
  // unreadable or huge file); updates refuse to run rather than drop them.
  std::vector<std::string> uncopyable;
  std::vector<Named> named;
  bool cafile_missing = true;
  std::string cafile_error;
  std::vector<Certificate> cafile;

  std::vector<const Named*> FindAll(const std::string& canonical) const {
    std::vector<const Named*> out;
    for (const Named& n : named) {
      if (n.name.ok() && n.name->canonical == canonical) out.push_back(&n);
    }
    return out;
  }
};

// Evaluation is a Snapshot's verdict: the report and the servers it trusts.
struct TrustStore::Evaluation {
  VerifyReport report;
  std::vector<ServerCert> trusted;
};

// Generation is the next cert/server an edit builds: its files (file name ->
// contents; CAFile.pem last, built from `cafile`).
struct TrustStore::Generation {
  std::vector<Certificate> cafile;
  std::vector<std::pair<std::string, std::string>> files;
};

// LockedSnapshot is the store read under its lock, for an edit.
struct TrustStore::LockedSnapshot {
  internal::FileLock lock;
  Snapshot snap;
};

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_TRUST_STORE_INTERNAL_H_
