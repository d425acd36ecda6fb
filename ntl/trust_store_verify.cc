#include "ntl/trust_store.h"

// What a snapshot of the store means: which servers it trusts and what is
// wrong with the rest (Evaluate), and the read-only views on that verdict
// (List, Show, Verify).

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ntl/status.h"
#include "ntl/trust_store_internal.h"

namespace trustlink::ntl {

using internal::FileLock;
using trust_store_internal::kLockFile;
using trust_store_internal::TimeText;

std::string trust_store_internal::TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

const char* EntryStateName(EntryState state) {
  switch (state) {
    case EntryState::kOk:
      return "ok";
    case EntryState::kNotInCAFile:
      return "not-in-cafile";
    case EntryState::kOnlyInCAFile:
      return "only-in-cafile";
    case EntryState::kUnreadable:
      return "unreadable";
    case EntryState::kDuplicateName:
      return "duplicate-name";
    case EntryState::kExpired:
      return "expired";
    case EntryState::kNotYetValid:
      return "not-yet-valid";
  }
  return "unknown";
}

bool VerifyReport::Consistent() const {
  if (!cafile_error.empty()) return false;
  for (const VerifyEntry& e : entries) {
    if (e.state != EntryState::kOk) return false;
  }
  return true;
}

TrustStore::Evaluation TrustStore::Evaluate(const Snapshot& snap,
                                            absl::Time now,
                                            const std::string& dir_path) {
  Evaluation ev;
  ev.report.cafile_missing = snap.cafile_missing;
  if (!snap.cafile_error.empty()) {
    ev.report.cafile_error =
        absl::StrCat(snap.cafile_error,
                     "; no server is trusted until it is fixed: ", kRepairFix);
  }
  std::set<std::string> cafile_der;
  for (const Certificate& c : snap.cafile) cafile_der.insert(c.Der());
  std::map<std::string, int> name_count;
  for (const auto& n : snap.named) {
    if (n.name.ok()) ++name_count[n.name->canonical];
  }
  std::set<std::string> named_der;
  for (const auto& n : snap.named) {
    VerifyEntry e;
    e.file_name = n.file_name;
    e.name = n.name.ok() ? n.name->canonical : n.stem;
    std::string path = absl::StrCat(dir_path, "/", n.file_name);
    if (!n.name.ok()) {
      e.state = EntryState::kUnreadable;
      e.message = absl::StrCat(path, " does not name a valid server (",
                               n.name.status().message(),
                               "); it is ignored. Remove it");
    } else if (!n.cert.ok()) {
      e.state = EntryState::kUnreadable;
      e.message = absl::StrCat(
          "server cert for '", e.name,
          "' cannot be used: ", n.cert.status().message(),
          "; register the server's current certificate with replace ",
          "(tl_client_root_add_server)");
    } else {
      e.fingerprint = n.cert->Sha256Fingerprint();
      std::string der = n.cert->Der();
      named_der.insert(der);
      if (name_count[n.name->canonical] > 1) {
        e.state = EntryState::kDuplicateName;
        e.message = absl::StrCat(
            "server '", e.name, "' has more than one named file (", n.file_name,
            " is one); none of them is trusted. Remove all "
            "but one, then ",
            kRepairFix);
      } else if (cafile_der.count(der) == 0) {
        e.state = EntryState::kNotInCAFile;
        e.message = absl::StrCat(
            "server cert for '", e.name,
            "' is not in CAFile.pem, so the server is not trusted; ",
            kRepairFix,
            ", or register the certificate again "
            "(tl_client_root_add_server)");
      } else if (n.cert->IsExpired(now)) {
        e.state = EntryState::kExpired;
        e.message = absl::StrCat(
            "server cert for '", e.name, "' expired on ",
            TimeText(n.cert->NotAfter()),
            "; regenerate it on the appliance and register its new "
            "certificate with replace (tl_client_root_add_server)");
      } else if (n.cert->NotBefore() > now) {
        e.state = EntryState::kNotYetValid;
        e.message =
            absl::StrCat("server cert for '", e.name, "' is not valid until ",
                         TimeText(n.cert->NotBefore()),
                         "; check the clocks of this host and the appliance");
      }
      if (e.state == EntryState::kOk || e.state == EntryState::kExpired ||
          e.state == EntryState::kNotYetValid) {
        ev.trusted.push_back(
            ServerCert{e.name, n.file_name, *n.cert, e.fingerprint});
      }
    }
    ev.report.entries.push_back(std::move(e));
  }
  std::set<std::string> seen;
  for (const Certificate& c : snap.cafile) {
    std::string der = c.Der();
    if (named_der.count(der) != 0 || !seen.insert(der).second) continue;
    VerifyEntry e;
    e.file_name = std::string(kCAFileName);
    e.fingerprint = c.Sha256Fingerprint();
    e.state = EntryState::kOnlyInCAFile;
    e.message = absl::StrCat(
        "CAFile.pem holds a certificate (CN=", c.CommonName(), ", SHA-256 ",
        e.fingerprint, ") with no named file, so it is ignored; ", kRepairFix,
        " drops it, or register it by name (tl_client_root_add_server)");
    ev.report.entries.push_back(std::move(e));
  }
  std::sort(
      ev.trusted.begin(), ev.trusted.end(),
      [](const ServerCert& a, const ServerCert& b) { return a.name < b.name; });
  return ev;
}
absl::StatusOr<std::vector<ServerCert>> TrustStore::List() const {
  absl::StatusOr<FileLock> lock = cert_dir_.LockShared(kLockFile);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<Snapshot> snap = ReadSnapshot();
  if (!snap.ok()) return snap.status();
  if (!snap->cafile_error.empty()) {
    return Error(
        absl::StatusCode::kFailedPrecondition, TL_E_TRUST_STORE_INCONSISTENT,
        absl::StrCat(
            snap->cafile_error,
            "; no server can be trusted until it is fixed: ", kRepairFix));
  }
  return Evaluate(*snap, absl::Now(), server_path_).trusted;
}

absl::StatusOr<ServerCert> TrustStore::Show(absl::string_view name) const {
  absl::StatusOr<CanonicalName> canonical = CanonicalizeNameWithHost(name, "");
  if (!canonical.ok()) return canonical.status();
  absl::StatusOr<VerifyReport> report = Verify();
  if (!report.ok()) return report.status();
  absl::StatusOr<std::vector<ServerCert>> servers = List();
  if (!servers.ok()) return servers.status();
  for (const ServerCert& s : *servers) {
    if (s.name == canonical->canonical) return s;
  }
  for (const VerifyEntry& e : report->entries) {
    if (e.name == canonical->canonical && e.state != EntryState::kOk) {
      return Error(absl::StatusCode::kFailedPrecondition,
                   TL_E_TRUST_STORE_INCONSISTENT, e.message);
    }
  }
  return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
               absl::StrCat("server '", canonical->canonical,
                            "' is not registered; register its certificate "
                            "(tl_client_root_add_server)"));
}

absl::StatusOr<VerifyReport> TrustStore::Verify(absl::Time now) const {
  absl::StatusOr<FileLock> lock = cert_dir_.LockShared(kLockFile);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<Snapshot> snap = ReadSnapshot();
  if (!snap.ok()) return snap.status();
  return Evaluate(*snap, now, server_path_).report;
}

}  // namespace trustlink::ntl
