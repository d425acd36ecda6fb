#ifndef TRUSTLINK_NTL_TRUST_STORE_H_
#define TRUSTLINK_NTL_TRUST_STORE_H_

// TrustStore: the client's pinned appliance certificates, laid out as the
// reference product lays them out so admins and their scripts find them:
//
//   <client root>/cert/server/<name>Cert.pem   one appliance certificate per
//   server name <client root>/cert/server/CAFile.pem       the trust list: the
//   same certificates, bundled
//
// A server is trusted only while both agree: its named file parses and the same
// certificate (byte for byte) is in CAFile.pem. Anything else is reported by
// Verify and fixed by Repair.
//
// Every update builds a complete new copy of cert/server beside it
// (cert/.server.next) and swaps the two directories in one atomic step
// (renameat2 RENAME_EXCHANGE; ntl/internal/dir_swap.h), so a crash at any
// point leaves either the old store or the new one, never a mix of the two
// files. An update may carry a journal (what must change with it elsewhere:
// ClientRoot's trustlink.conf), committed by the same swap. Updates are
// serialised between processes by an OFD lock on cert/.server.lock; readers
// take it shared. File systems without RENAME_EXCHANGE fall back to two
// renames, and an interrupted swap is rolled back the next time the store is
// opened for writing.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/cert.h"
#include "ntl/internal/dir_swap.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/names.h"

namespace trustlink::ntl {

// ServerCert is one trusted server: its canonical name, certificate and file.
struct ServerCert {
  std::string name;  // Canonical name (lower-case host name or canonical IP).
  std::string file_name;  // "<name>Cert.pem" as found on disk.
  Certificate cert;
  std::string fingerprint;  // SHA-256, openssl's text.
};

// AddResult says what Add did.
struct AddResult {
  ServerCert server;
  std::string path;        // Full path of the named file.
  bool unchanged = false;  // The identical certificate was already registered.
  bool replaced = false;   // A different certificate was replaced.
  std::string previous_fingerprint;  // When replaced.
  std::vector<std::string>
      warnings;  // Name canonicalisation, name/cert mismatch, validity.
};

// EntryState is the verdict on one name (or one stray CAFile.pem entry).
enum class EntryState {
  kOk,           // Named file and CAFile.pem agree.
  kNotInCAFile,  // Named file parses, but its certificate is not in CAFile.pem.
  kOnlyInCAFile,   // A CAFile.pem certificate has no named file.
  kUnreadable,     // The named file does not parse, or its name is not a valid
                   // name.
  kDuplicateName,  // Two files name the same server (e.g. HSM1Cert.pem and
                   // hsm1Cert.pem).
  kExpired,        // Agrees, but the certificate has expired.
  kNotYetValid,    // Agrees, but the certificate is not valid yet (check the
                   // clock).
};

const char* EntryStateName(EntryState state);

// VerifyEntry is one line of a Verify report.
struct VerifyEntry {
  std::string name;  // Server name, or "" for a stray CAFile.pem entry.
  std::string file_name;
  std::string fingerprint;
  EntryState state = EntryState::kOk;
  std::string message;  // Names the object and the fix; empty when kOk.
};

// VerifyReport is the whole store's state.
struct VerifyReport {
  std::vector<VerifyEntry> entries;
  bool cafile_missing = false;
  std::string cafile_error;  // CAFile.pem does not parse.
  // Consistent is true when every entry is kOk (expired or not-yet-valid
  // entries count as problems too) and CAFile.pem parses.
  bool Consistent() const;
};

// TrustStore works on <root>/cert/server.
// Thread safety: all methods may be called from many threads and processes at
// once; updates are serialised by the OFD lock, readers share it.
class TrustStore {
 public:
  // Open opens the store under the client root `root` (which must exist). With
  // `create`, cert/ and cert/server/ are made (0755; certificates are public).
  // A symlink in place of cert or cert/server is refused with
  // TL_E_PERMISSION_DENIED.
  static absl::StatusOr<TrustStore> Open(const internal::SafeDir& root,
                                         bool create);

  TrustStore(TrustStore&&) noexcept = default;
  TrustStore& operator=(TrustStore&&) noexcept = default;

  // Add registers the certificate in `pem` for server `name`. It must be
  // exactly one certificate that parses and has not expired (TL_E_CERT_INVALID,
  // TL_E_CERT_EXPIRED). If `name` already has a certificate: the identical one
  // is OK (result.unchanged); a different one is TL_E_ALREADY_EXISTS unless
  // `replace` is set. Replace of a name that is not registered is
  // TL_E_NOT_FOUND. On any error the store is unchanged. `journal` files are
  // committed by the same swap as the store (not when result.unchanged: then
  // nothing is written).
  absl::StatusOr<AddResult> Add(
      absl::string_view name, absl::string_view pem, bool replace,
      absl::Time now = absl::Now(),
      const std::vector<internal::DirFile>& journal = {});

  // Remove unregisters `name` (its named file and its CAFile.pem entry).
  // NOT_FOUND if it has neither. Returns the removed certificate's fingerprint
  // (or "" if only a damaged named file was removed). `journal` as for Add.
  absl::StatusOr<std::string> Remove(
      absl::string_view name,
      const std::vector<internal::DirFile>& journal = {});

  // Recover finishes or rolls back an update a crash interrupted (under the
  // store's lock). Updates do it themselves; ClientRoot calls it before it
  // rolls a journal forward.
  absl::Status Recover();

  // dir is <root>/cert/server's parent, <root>/cert.
  const internal::SafeDir& cert_dir() const { return cert_dir_; }

  // List returns the trusted servers (named file and CAFile.pem agree), sorted
  // by name. Entries in any other state are left out; Verify reports them.
  absl::StatusOr<std::vector<ServerCert>> List() const;

  // Show returns one trusted server; NOT_FOUND or TL_E_TRUST_STORE_INCONSISTENT
  // (with the fix) if it is not trusted.
  absl::StatusOr<ServerCert> Show(absl::string_view name) const;

  // LoadPinned returns the exact set of pinned certificates for a TLS
  // connection: one per server name, only where both files agree. Same as List;
  // named for its use.
  absl::StatusOr<std::vector<ServerCert>> LoadPinned() const { return List(); }

  // Verify checks every named file and every CAFile.pem entry.
  absl::StatusOr<VerifyReport> Verify(absl::Time now = absl::Now()) const;

  // Repair makes the store agree with its named files: CAFile.pem is rebuilt
  // from every named file that parses (they are what an admin registered by
  // name); stray CAFile.pem entries are dropped. Unreadable or duplicate named
  // files are left for the admin and stay in the report. Returns a line per
  // change made.
  absl::StatusOr<std::vector<std::string>> Repair();

  // path is <root>/cert/server.
  const std::string& path() const { return server_path_; }
  // FileNameFor returns "<name>Cert.pem", the name as FileStem gives it.
  static std::string FileNameFor(const CanonicalName& name);

 private:
  explicit TrustStore(internal::SafeDir cert_dir, std::string server_path)
      : cert_dir_(std::move(cert_dir)), server_path_(std::move(server_path)) {}

  struct Snapshot;
  struct Evaluation;
  struct LockedSnapshot;
  struct Generation;
  static Evaluation Evaluate(const Snapshot& snap, absl::Time now,
                             const std::string& dir_path);
  // Without is `snap` less server `canonical`: its named files, and the
  // certificates only they held.
  static Generation Without(const Snapshot& snap, const std::string& canonical);
  absl::StatusOr<Snapshot> ReadSnapshot() const;
  // LockForEdit takes the store's lock, which an edit holds until it has
  // committed, finishes a killed update (RecoverLocked) and reads the store;
  // refused if a file there could not be carried into the new generation, and
  // with `need_cafile` if CAFile.pem does not parse (an edit of one name built
  // on it would drop every other entry; Repair rebuilds it instead).
  absl::StatusOr<LockedSnapshot> LockForEdit(bool need_cafile);
  // Commit writes `files` (file name -> contents) and `journal` as the new
  // cert/server and swaps it in.
  absl::Status Commit(
      const std::vector<std::pair<std::string, std::string>>& files,
      const std::vector<internal::DirFile>& journal);
  absl::Status RecoverLocked();

  internal::SafeDir cert_dir_;
  std::string server_path_;
};

// kCAFileName is the trust list's file name.
inline constexpr absl::string_view kCAFileName = "CAFile.pem";

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_TRUST_STORE_H_
