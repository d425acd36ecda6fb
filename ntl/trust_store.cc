#include "ntl/trust_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ntl/identity.h"
#include "ntl/internal/dir_swap.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

using internal::FileLock;
using internal::SafeDir;

constexpr absl::string_view kServerDir = "server";
constexpr absl::string_view kLockFile = ".server.lock";
constexpr absl::string_view kCertSuffix = "Cert.pem";
constexpr size_t kMaxCAFileSize = 16 << 20;
constexpr size_t kMaxFiles = 10000;

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

}  // namespace

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

  const Named* Find(const std::string& canonical) const {
    for (const Named& n : named) {
      if (n.name.ok() && n.name->canonical == canonical) return &n;
    }
    return nullptr;
  }
  std::vector<const Named*> FindAll(const std::string& canonical) const {
    std::vector<const Named*> out;
    for (const Named& n : named) {
      if (n.name.ok() && n.name->canonical == canonical) out.push_back(&n);
    }
    return out;
  }
};

struct TrustStore::Evaluation {
  VerifyReport report;
  std::vector<ServerCert> trusted;
};

// LockedSnapshot is the store read under its lock, for an edit.
struct TrustStore::LockedSnapshot {
  FileLock lock;
  Snapshot snap;
};

std::string TrustStore::FileNameFor(const CanonicalName& name) {
  return absl::StrCat(FileStem(name), kCertSuffix);
}

absl::StatusOr<TrustStore> TrustStore::Open(const SafeDir& root, bool create) {
  absl::StatusOr<SafeDir> cert = root.OpenSubdir("cert", create, 0755);
  if (!cert.ok()) return cert.status();
  std::string server_path = cert->PathOf(kServerDir);
  if (create) {
    absl::StatusOr<SafeDir> server = cert->OpenSubdir(kServerDir, true, 0755);
    if (!server.ok()) return server.status();
  } else {
    absl::StatusOr<bool> exists = cert->Exists(kServerDir);
    if (!exists.ok()) return exists.status();
    if (*exists) {
      absl::StatusOr<SafeDir> server = cert->OpenSubdir(kServerDir, false);
      if (!server.ok()) return server.status();
    }
  }
  return TrustStore(*std::move(cert), server_path);
}

absl::StatusOr<TrustStore::Snapshot> TrustStore::ReadSnapshot() const {
  Snapshot snap;
  absl::StatusOr<bool> exists = cert_dir_.Exists(kServerDir);
  if (!exists.ok()) return exists.status();
  if (!*exists) return snap;
  absl::StatusOr<SafeDir> dir = cert_dir_.OpenSubdir(kServerDir, false);
  if (!dir.ok()) return dir.status();
  absl::StatusOr<std::vector<std::string>> names = dir->List();
  if (!names.ok()) return names.status();
  if (names->size() > kMaxFiles) {
    return Error(
        absl::StatusCode::kResourceExhausted, TL_E_TRUST_STORE_INCONSISTENT,
        absl::StrCat(dir->path(), " holds more than ", kMaxFiles, " files"));
  }
  for (const std::string& file : *names) {
    // A journal belongs to the update that wrote it (its owner rolls it
    // forward and removes it); it is never part of the store.
    if (internal::IsJournalName(file)) continue;
    bool is_cafile = file == kCAFileName;
    bool is_named = !is_cafile && absl::EndsWith(file, kCertSuffix) &&
                    file.size() > kCertSuffix.size();
    absl::StatusOr<std::string> contents =
        dir->ReadFile(file, is_cafile ? kMaxCAFileSize : kMaxPemFileSize);
    if (is_cafile) {
      if (!contents.ok()) {
        snap.cafile_missing = false;
        snap.cafile_error = std::string(contents.status().message());
        continue;
      }
      snap.cafile_missing = false;
      snap.files[file] = *contents;
      absl::StatusOr<std::vector<Certificate>> certs =
          Certificate::ParsePemList(*contents, dir->PathOf(file));
      if (!certs.ok()) {
        snap.cafile_error = std::string(certs.status().message());
      } else {
        snap.cafile = *std::move(certs);
      }
      continue;
    }
    if (contents.ok()) {
      snap.files[file] = *contents;
    } else {
      snap.uncopyable.push_back(std::string(contents.status().message()));
    }
    if (!is_named) continue;
    Snapshot::Named named;
    named.file_name = file;
    named.stem = file.substr(0, file.size() - kCertSuffix.size());
    named.name = CanonicalizeNameWithHost(named.stem, "");
    if (!contents.ok()) {
      named.cert = contents.status();
    } else {
      named.cert = Certificate::ParsePem(*contents, dir->PathOf(file));
    }
    snap.named.push_back(std::move(named));
  }
  return snap;
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

absl::Status TrustStore::RecoverLocked() {
  return internal::RecoverSubdir(cert_dir_, kServerDir);
}

absl::Status TrustStore::Recover() {
  absl::StatusOr<FileLock> lock = cert_dir_.Lock(kLockFile);
  if (!lock.ok()) return lock.status();
  return RecoverLocked();
}

absl::Status TrustStore::Commit(
    const std::vector<std::pair<std::string, std::string>>& files,
    const std::vector<internal::DirFile>& journal) {
  std::vector<internal::DirFile> generation;
  generation.reserve(files.size() + journal.size());
  for (const auto& [name, contents] : files) {
    generation.push_back(internal::DirFile{name, contents, 0644});
  }
  for (const internal::DirFile& j : journal) generation.push_back(j);
  return internal::ReplaceSubdir(cert_dir_, kServerDir, generation, 0755);
}

namespace {

// CheckCopyable refuses an update that would have to drop something it cannot
// copy.
absl::Status CheckCopyable(const std::vector<std::string>& uncopyable) {
  if (uncopyable.empty()) return absl::OkStatus();
  return Error(
      absl::StatusCode::kFailedPrecondition, TL_E_TRUST_STORE_INCONSISTENT,
      absl::StrCat(uncopyable.front(),
                   "; the trust store was not changed. Move that entry out of "
                   "cert/server and try again"));
}

// RequireParsedCAFile refuses an edit on a CAFile.pem that does not parse
// (`cafile_error` says why): building on it would drop every entry in it.
absl::Status RequireParsedCAFile(const std::string& cafile_error) {
  if (cafile_error.empty()) return absl::OkStatus();
  return Error(absl::StatusCode::kFailedPrecondition,
               TL_E_TRUST_STORE_INCONSISTENT,
               absl::StrCat(cafile_error, "; ", kRepairFix,
                            " first. The store is unchanged"));
}

std::string BuildCAFile(const std::vector<Certificate>& certs) {
  std::string out;
  std::set<std::string> seen;
  for (const Certificate& c : certs) {
    if (seen.insert(c.Der()).second) out += c.Pem();
  }
  return out;
}

}  // namespace

absl::StatusOr<TrustStore::LockedSnapshot> TrustStore::LockForEdit() {
  absl::StatusOr<FileLock> lock = cert_dir_.Lock(kLockFile);
  if (!lock.ok()) return lock.status();
  absl::Status status = RecoverLocked();
  if (!status.ok()) return status;
  absl::StatusOr<Snapshot> snap = ReadSnapshot();
  if (!snap.ok()) return snap.status();
  status = CheckCopyable(snap->uncopyable);
  if (!status.ok()) return status;
  return LockedSnapshot{*std::move(lock), *std::move(snap)};
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

  absl::StatusOr<LockedSnapshot> locked = LockForEdit();
  if (!locked.ok()) return locked.status();
  Snapshot* snap = &locked->snap;
  absl::Status status = RequireParsedCAFile(snap->cafile_error);
  if (!status.ok()) return status;

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
  std::set<std::string> drop_files;
  std::set<std::string> drop_der;
  for (const Snapshot::Named* n : existing) {
    drop_files.insert(n->file_name);
    if (n->cert.ok()) drop_der.insert(n->cert->Der());
  }
  for (const Snapshot::Named& n : snap->named) {
    if (drop_files.count(n.file_name) == 0 && n.cert.ok())
      drop_der.erase(n.cert->Der());
  }
  std::vector<Certificate> cafile;
  for (const Certificate& c : snap->cafile) {
    if (drop_der.count(c.Der()) == 0) cafile.push_back(c);
  }
  cafile.push_back(*cert);
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& [f, contents] : snap->files) {
    if (f == kCAFileName || f == file_name || drop_files.count(f) != 0)
      continue;
    files.emplace_back(f, contents);
  }
  files.emplace_back(file_name, cert->Pem());
  files.emplace_back(std::string(kCAFileName), BuildCAFile(cafile));
  status = Commit(files, journal);
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::string> TrustStore::Remove(
    absl::string_view name, const std::vector<internal::DirFile>& journal) {
  absl::StatusOr<CanonicalName> canonical = CanonicalizeNameWithHost(name, "");
  if (!canonical.ok()) return canonical.status();
  absl::StatusOr<LockedSnapshot> locked = LockForEdit();
  if (!locked.ok()) return locked.status();
  Snapshot* snap = &locked->snap;
  absl::Status status = RequireParsedCAFile(snap->cafile_error);
  if (!status.ok()) return status;
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
  std::set<std::string> drop_files;
  std::set<std::string> drop_der;
  for (const Snapshot::Named* n : existing) {
    drop_files.insert(n->file_name);
    if (n->cert.ok()) {
      drop_der.insert(n->cert->Der());
      fingerprint = n->cert->Sha256Fingerprint();
    }
  }
  for (const Snapshot::Named& n : snap->named) {
    if (drop_files.count(n.file_name) == 0 && n.cert.ok())
      drop_der.erase(n.cert->Der());
  }
  std::vector<Certificate> cafile;
  for (const Certificate& c : snap->cafile) {
    if (drop_der.count(c.Der()) == 0) cafile.push_back(c);
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& [f, contents] : snap->files) {
    if (f == kCAFileName || drop_files.count(f) != 0) continue;
    files.emplace_back(f, contents);
  }
  files.emplace_back(std::string(kCAFileName), BuildCAFile(cafile));
  status = Commit(files, journal);
  if (!status.ok()) return status;
  return fingerprint;
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

absl::StatusOr<std::vector<std::string>> TrustStore::Repair() {
  absl::StatusOr<LockedSnapshot> locked = LockForEdit();
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
