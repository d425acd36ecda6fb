#include "ntl/trust_store.h"

// The store's edits: Add, Remove and Repair. Each reads the store under its
// lock, builds the whole next generation of cert/server (named files plus a
// CAFile.pem rebuilt to match) and commits it in one swap
// (trust_store.cc), so a failed edit changes nothing.

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ntl/status.h"
#include "ntl/trust_store_internal.h"

namespace trustlink::ntl {
namespace {

using trust_store_internal::TimeText;

std::string BuildCAFile(const std::vector<Certificate>& certs) {
  std::string out;
  std::set<std::string> seen;
  for (const Certificate& c : certs) {
    if (seen.insert(c.Der()).second) out += c.Pem();
  }
  return out;
}

}  // namespace

// Without keeps CAFile.pem out of the files: the edit appends the one it
// builds. A certificate another name still holds stays in the CAFile list.
TrustStore::Generation TrustStore::Without(const Snapshot& snap,
                                           const std::string& canonical) {
  std::set<std::string> drop_files;
  std::set<std::string> drop_der;
  for (const Snapshot::Named* n : snap.FindAll(canonical)) {
    drop_files.insert(n->file_name);
    if (n->cert.ok()) drop_der.insert(n->cert->Der());
  }
  for (const Snapshot::Named& n : snap.named) {
    if (drop_files.count(n.file_name) == 0 && n.cert.ok()) {
      drop_der.erase(n.cert->Der());
    }
  }
  Generation next;
  for (const Certificate& c : snap.cafile) {
    if (drop_der.count(c.Der()) == 0) next.cafile.push_back(c);
  }
  for (const auto& [f, contents] : snap.files) {
    if (f == kCAFileName || drop_files.count(f) != 0) continue;
    next.files.emplace_back(f, contents);
  }
  return next;
}

absl::StatusOr<AddResult> TrustStore::Add(
    absl::string_view name, absl::string_view pem, bool replace, absl::Time now,
    const std::vector<internal::DirFile>& journal) {
  absl::StatusOr<CanonicalName> canonical = CanonicalizeNameWithHost(name, "");
  if (!canonical.ok()) return canonical.status();
  std::vector<std::string> warnings = canonical->warnings;
  absl::StatusOr<Certificate> cert = Certificate::ParsePem(
      pem, absl::StrCat("certificate for server '", name, "'"));
  if (!cert.ok()) return cert.status();
  if (cert->IsExpired(now)) {
    return Error(
        absl::StatusCode::kFailedPrecondition, TL_E_CERT_EXPIRED,
        absl::StrCat(
            "certificate for server '", canonical->canonical, "' expired on ",
            TimeText(cert->NotAfter()),
            "; regenerate it on the appliance "
            "(tl_registry_regenerate_server_certificate) and register the "
            "new one. The store is unchanged"));
  }
  if (cert->NotBefore() > now) {
    warnings.push_back(absl::StrCat("certificate for '", canonical->canonical,
                                    "' is not valid until ",
                                    TimeText(cert->NotBefore()),
                                    "; check the clocks of this host and the "
                                    "appliance"));
  }
  if (!cert->MatchesName(*canonical)) {
    std::vector<std::string> names = cert->DnsNames();
    for (const std::string& ip : cert->IpAddresses()) names.push_back(ip);
    if (names.empty()) names.push_back(cert->CommonName());
    warnings.push_back(absl::StrCat("certificate for '", canonical->canonical,
                                    "' names ", absl::StrJoin(names, ", "),
                                    ", not '", canonical->canonical,
                                    "'; it is pinned by fingerprint, so this "
                                    "works, but check it is the right file"));
  }
  std::string der = cert->Der();
  std::string file_name = FileNameFor(*canonical);

  absl::StatusOr<LockedSnapshot> locked = LockForEdit(/*need_cafile=*/true);
  if (!locked.ok()) return locked.status();
  Snapshot* snap = &locked->snap;

  std::vector<const Snapshot::Named*> existing =
      snap->FindAll(canonical->canonical);
  // A server registered before keeps its file name (and so its letter case),
  // whatever case it is typed in now.
  if (existing.size() == 1) file_name = existing[0]->file_name;
  bool identical = existing.size() == 1 && existing[0]->cert.ok() &&
                   existing[0]->cert->Der() == der &&
                   existing[0]->file_name == file_name;
  bool in_cafile = false;
  for (const Certificate& c : snap->cafile)
    in_cafile = in_cafile || c.Der() == der;
  AddResult result{ServerCert{canonical->canonical, file_name, *cert,
                              cert->Sha256Fingerprint()},
                   absl::StrCat(server_path_, "/", file_name),
                   false,
                   false,
                   "",
                   std::move(warnings)};
  if (identical && in_cafile) {
    result.unchanged = true;
    return result;
  }
  if (!existing.empty() && !identical) {
    std::string old_fp =
        existing[0]->cert.ok() ? existing[0]->cert->Sha256Fingerprint() : "";
    if (!replace) {
      return Error(
          absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
          absl::StrCat(
              "server '", canonical->canonical,
              "' is already registered with a different certificate",
              old_fp.empty() ? "" : absl::StrCat(" (SHA-256 ", old_fp, ")"),
              "; register it with replace to replace it. The store is "
              "unchanged"));
    }
    result.replaced = true;
    result.previous_fingerprint = old_fp;
  } else if (existing.empty() && replace) {
    return Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat(
            "server '", canonical->canonical,
            "' is not registered, so there is nothing to replace; register "
            "it without replace"));
  }
  for (const ServerCert& other : Evaluate(*snap, now, server_path_).trusted) {
    if (other.name != canonical->canonical && other.cert.Der() == der) {
      result.warnings.push_back(absl::StrCat(
          "the same certificate is also registered as '", other.name, "'"));
    }
  }

  // The new store: everything as it was, minus this name's old files and
  // certificates, plus the new certificate under its canonical file name and in
  // CAFile.pem.
  Generation next = Without(*snap, canonical->canonical);
  next.files.erase(
      std::remove_if(next.files.begin(), next.files.end(),
                     [&](const auto& f) { return f.first == file_name; }),
      next.files.end());
  next.cafile.push_back(*cert);
  next.files.emplace_back(file_name, cert->Pem());
  next.files.emplace_back(std::string(kCAFileName), BuildCAFile(next.cafile));
  absl::Status status = Commit(next.files, journal);
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::string> TrustStore::Remove(
    absl::string_view name, const std::vector<internal::DirFile>& journal) {
  absl::StatusOr<CanonicalName> canonical = CanonicalizeNameWithHost(name, "");
  if (!canonical.ok()) return canonical.status();
  absl::StatusOr<LockedSnapshot> locked = LockForEdit(/*need_cafile=*/true);
  if (!locked.ok()) return locked.status();
  Snapshot* snap = &locked->snap;
  std::vector<const Snapshot::Named*> existing =
      snap->FindAll(canonical->canonical);
  if (existing.empty()) {
    return Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat(
            "server '", canonical->canonical,
            "' is not registered; tl_client_root_list_servers lists the "
            "registered servers"));
  }
  std::string fingerprint;
  for (const Snapshot::Named* n : existing) {
    if (n->cert.ok()) fingerprint = n->cert->Sha256Fingerprint();
  }
  Generation next = Without(*snap, canonical->canonical);
  next.files.emplace_back(std::string(kCAFileName), BuildCAFile(next.cafile));
  absl::Status status = Commit(next.files, journal);
  if (!status.ok()) return status;
  return fingerprint;
}

absl::StatusOr<std::vector<std::string>> TrustStore::Repair() {
  absl::StatusOr<LockedSnapshot> locked = LockForEdit(/*need_cafile=*/false);
  if (!locked.ok()) return locked.status();
  Snapshot* snap = &locked->snap;
  Evaluation ev = Evaluate(*snap, absl::Now(), server_path_);
  std::vector<std::string> changes;
  std::vector<Certificate> cafile;
  for (const VerifyEntry& e : ev.report.entries) {
    if (e.state == EntryState::kNotInCAFile) {
      changes.push_back(absl::StrCat("added '", e.name, "' (SHA-256 ",
                                     e.fingerprint, ") to CAFile.pem, from ",
                                     e.file_name));
    } else if (e.state == EntryState::kOnlyInCAFile) {
      changes.push_back(
          absl::StrCat("dropped a certificate with no named file (SHA-256 ",
                       e.fingerprint, ") from CAFile.pem"));
    }
  }
  if (!snap->cafile_error.empty() || snap->cafile_missing) {
    changes.push_back("rebuilt CAFile.pem from the named files");
  }
  if (changes.empty()) return changes;
  std::map<std::string, int> name_count;
  for (const auto& n : snap->named) {
    if (n.name.ok()) ++name_count[n.name->canonical];
  }
  for (const auto& n : snap->named) {
    if (n.name.ok() && n.cert.ok() && name_count[n.name->canonical] == 1) {
      cafile.push_back(*n.cert);
    }
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& [f, contents] : snap->files) {
    if (f != kCAFileName) files.emplace_back(f, contents);
  }
  files.emplace_back(std::string(kCAFileName), BuildCAFile(cafile));
  absl::Status status = Commit(files, {});
  if (!status.ok()) return status;
  return changes;
}

}  // namespace trustlink::ntl
