#include "ntl/registry/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ntl/internal/temp_files.h"
#include "ntl/registry/record_format.h"
#include "ntl/status.h"

namespace trustlink::ntl::registry {
namespace {

using internal::SafeDir;

constexpr size_t kMaxClientFileSize = kMaxCertificatePemSize + 16 * 1024;
constexpr size_t kMaxSmallFileSize = 64 * 1024;
constexpr absl::string_view kClientPrefix = "client ";
constexpr absl::string_view kPartitionPrefix = "partition ";
constexpr absl::string_view kSettingsKey = "settings";
constexpr absl::string_view kServerKey = "server";

std::string JournalName(uint64_t generation) {
  return absl::StrFormat("%020u", generation);
}

bool IsHexId(absl::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool IsTempName(absl::string_view name) {
  // Temp files of an interrupted atomic write; the writer never renamed them
  // into place.
  return absl::StrContains(name, ".tmp");
}

absl::StatusOr<absl::optional<std::string>> ReadIfExists(
    SafeDir& dir, const std::string& name, size_t max) {
  auto text = dir.ReadFile(name, max);
  if (absl::IsNotFound(text.status())) {
    return absl::optional<std::string>();
  }
  if (!text.ok()) {
    return text.status();
  }
  return absl::optional<std::string>(std::move(*text));
}

// Batches at least this large skip the per-file fsyncs of
// SafeDir::WriteFileAtomic.
constexpr size_t kBatchThreshold = 16;

absl::Status IoError(absl::string_view what, const std::string& path) {
  return Error(absl::StatusCode::kInternal, TL_E_IO,
               absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

// WriteBatch writes many files with the guarantees of WriteFileAtomic (each
// file is whole or absent, and durable on return) but one syncfs instead of two
// fsyncs per file: every temp file is written, then the file system is synced
// once, then the temps are renamed into place and the directory is fsynced.
absl::Status WriteBatch(
    const SafeDir& dir,
    const std::vector<std::pair<std::string, const std::string*>>& files) {
  std::vector<std::string> temps;
  temps.reserve(files.size());
  for (const auto& [name, contents] : files) {
    // Pid-named, so a sweep at the next open removes it only once this
    // process is gone (ntl/internal/temp_files.h). A batch may be thousands of
    // files: each is closed (and its lock dropped) once written, and the pid
    // alone protects it until the rename.
    auto created =
        ntl::internal::CreateTempFile(dir.fd(), dir.path(), name, 0600);
    if (!created.ok()) return created.status();
    std::string temp = created->name;
    int fd = created->fd;
    size_t done = 0;
    while (done < contents->size()) {
      ssize_t n = write(fd, contents->data() + done, contents->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        absl::Status st = IoError("cannot write", dir.PathOf(temp));
        close(fd);
        (void)unlinkat(dir.fd(), temp.c_str(), 0);
        return st;
      }
      done += static_cast<size_t>(n);
    }
    close(fd);
    temps.push_back(std::move(temp));
  }
  if (syncfs(dir.fd()) != 0)
    return IoError("cannot sync the file system of", dir.path());
  for (size_t i = 0; i < files.size(); ++i) {
    if (renameat(dir.fd(), temps[i].c_str(), dir.fd(),
                 files[i].first.c_str()) != 0) {
      return IoError("cannot rename into place", dir.PathOf(files[i].first));
    }
  }
  if (fsync(dir.fd()) != 0) return IoError("cannot fsync", dir.path());
  return absl::OkStatus();
}

// SweepTempFiles removes the temp files killed ntlsh or ntlsd processes left in
// the appliance root and the directories under it (never a live writer's; see
// ntl/internal/temp_files.h). incoming/ is the admin's scp drop, not ours.
void SweepTempFiles(const SafeDir& root) {
  root.RemoveOrphanTempFiles();
  auto names = root.List();
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (name == "incoming") continue;
    struct stat st;
    if (fstatat(root.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode)) {
      continue;
    }
    auto sub = root.OpenSubdir(name, false);
    if (sub.ok()) sub->RemoveOrphanTempFiles();
  }
}

}  // namespace

absl::StatusOr<FileStore> FileStore::Open(const std::string& root,
                                          bool create) {
  auto dir = SafeDir::Open(root, create, 0700);
  if (!dir.ok()) {
    if (absl::IsNotFound(dir.status())) {
      return Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat("appliance root ", root,
                       " does not exist; open it with TL_REGISTRY_OPEN_CREATE "
                       "to create it, or give the right root"));
    }
    return dir.status();
  }
  // The same refusal ntlsd's HTL state makes of this root: one rule, so ntlsh
  // cannot keep working in a root the daemon will not start in.
  if (absl::Status s = dir->CheckNotWritableByOthers(); !s.ok()) return s;
  auto clients = dir->OpenSubdir("clients", create);
  if (!clients.ok()) return clients.status();
  auto partitions = dir->OpenSubdir("partitions", create);
  if (!partitions.ok()) return partitions.status();
  auto journal = dir->OpenSubdir("journal", create);
  if (!journal.ok()) return journal.status();
  if (create) {
    auto incoming = dir->OpenSubdir("incoming", true);
    if (!incoming.ok()) return incoming.status();
  }
  SweepTempFiles(*dir);
  return FileStore(root, std::move(*dir), std::move(*clients),
                   std::move(*partitions), std::move(*journal));
}

absl::StatusOr<internal::FileLock> FileStore::Lock() {
  return root_.Lock("lock");
}

absl::StatusOr<internal::FileLock> FileStore::LockShared() {
  return root_.LockShared("lock");
}

absl::StatusOr<internal::FileLock> FileStore::TryLockShared() {
  return root_.TryLockShared("lock");
}

absl::StatusOr<uint64_t> FileStore::ReadGeneration() {
  auto text = ReadIfExists(root_, "generation", 64);
  if (!text.ok()) return text.status();
  if (!text->has_value()) {
    return 0;
  }
  uint64_t g;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(**text), &g)) {
    return Error(
        absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
        absl::StrCat(
            "registry file ", path_,
            "/generation line 1: not a number; write the highest number "
            "in journal/ into it"));
  }
  return g;
}

absl::StatusOr<RegistryState> FileStore::LoadAll() {
  RegistryState state;
  auto settings_text = ReadIfExists(root_, "settings", kMaxSmallFileSize);
  if (!settings_text.ok()) return settings_text.status();
  if (settings_text->has_value()) {
    auto s = ParseSettings(**settings_text, "settings");
    if (!s.ok()) return s.status();
    state.set_settings(*s);
  }
  auto names = partitions_.List();
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (IsTempName(name)) continue;
    absl::Status st = ApplyKey(absl::StrCat(kPartitionPrefix, name), &state);
    if (!st.ok()) return st;
  }
  names = clients_.List();
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (IsTempName(name)) continue;
    absl::Status st = ApplyKey(absl::StrCat(kClientPrefix, name), &state);
    if (!st.ok()) return st;
  }
  return state;
}

absl::Status FileStore::ApplyKey(const std::string& key, RegistryState* state) {
  if (key == kServerKey) {
    return absl::OkStatus();  // The identity has its own files; see
                              // server_identity.h.
  }
  if (key == kSettingsKey) {
    auto text = ReadIfExists(root_, "settings", kMaxSmallFileSize);
    if (!text.ok()) return text.status();
    if (!text->has_value()) {
      state->set_settings(Settings());
      return absl::OkStatus();
    }
    auto s = ParseSettings(**text, "settings");
    if (!s.ok()) return s.status();
    state->set_settings(*s);
    return absl::OkStatus();
  }
  if (absl::StartsWith(key, kPartitionPrefix)) {
    std::string name = key.substr(kPartitionPrefix.size());
    std::string file = absl::StrCat("partitions/", name);
    if (!ValidatePartitionName(name).ok()) {
      return Error(
          absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
          absl::StrCat("registry file ", file,
                       ": not a valid partition name; remove the file"));
    }
    auto text = ReadIfExists(partitions_, name, kMaxSmallFileSize);
    if (!text.ok()) return text.status();
    if (!text->has_value()) {
      state->RemovePartition(name);
      return absl::OkStatus();
    }
    auto p = ParsePartition(**text, file);
    if (!p.ok()) return p.status();
    if (p->name != name) {
      return Error(
          absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
          absl::StrCat("registry file ", file, ": names partition '", p->name,
                       "' but the file name says '", name, "'"));
    }
    absl::Status st = state->PutPartition(*p);
    if (!st.ok()) {
      return Error(absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
                   absl::StrCat("registry file ", file, ": ", st.message()));
    }
    return absl::OkStatus();
  }
  if (absl::StartsWith(key, kClientPrefix)) {
    std::string id = key.substr(kClientPrefix.size());
    std::string file = absl::StrCat("clients/", id);
    if (!IsHexId(id)) {
      return Error(
          absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
          absl::StrCat(
              "registry file ", file,
              ": unexpected file name (client files are named by 32 hex "
              "digits); move it out of clients/"));
    }
    auto text = ReadIfExists(clients_, id, kMaxClientFileSize);
    if (!text.ok()) return text.status();
    if (!text->has_value()) {
      state->RemoveClientById(id);
      return absl::OkStatus();
    }
    auto c = ParseClient(**text, file);
    if (!c.ok()) return c.status();
    if (ClientFileId(c->label) != id) {
      return Error(
          absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
          absl::StrCat("registry file ", file, ": label '", c->label,
                       "' does not belong in this file (expected clients/",
                       ClientFileId(c->label), ")"));
    }
    absl::Status st =
        state->PutClient(std::make_shared<const ClientRecord>(std::move(*c)));
    if (!st.ok()) {
      return Error(absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
                   absl::StrCat("registry file ", file, ": ", st.message()));
    }
    return absl::OkStatus();
  }
  return Error(absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
               absl::StrCat("registry journal names an unknown key '",
                            key.substr(0, 60), "'"));
}

absl::StatusOr<absl::optional<std::set<std::string>>> FileStore::ChangedKeys(
    uint64_t from, uint64_t to) {
  std::set<std::string> keys;
  if (to < from || to - from > kJournalKeep) {
    return absl::optional<std::set<std::string>>();
  }
  for (uint64_t g = from + 1; g <= to; ++g) {
    auto text = ReadIfExists(journal_, JournalName(g), 16 * 1024 * 1024);
    if (!text.ok()) return text.status();
    if (!text->has_value()) {
      return absl::optional<std::set<std::string>>();
    }
    for (absl::string_view line :
         absl::StrSplit(**text, '\n', absl::SkipEmpty())) {
      keys.insert(std::string(line));
    }
  }
  return absl::optional<std::set<std::string>>(std::move(keys));
}

absl::Status FileStore::ApplyKeys(const std::set<std::string>& keys,
                                  RegistryState* state) {
  // Take every changed record out first: within one gap a serial, certificate
  // or IP may have moved from one record to another, and putting the new holder
  // while the old one is still indexed would look like a duplicate.
  for (const std::string& key : keys) {
    if (absl::StartsWith(key, kPartitionPrefix)) {
      state->RemovePartition(key.substr(kPartitionPrefix.size()));
    } else if (absl::StartsWith(key, kClientPrefix)) {
      state->RemoveClientById(key.substr(kClientPrefix.size()));
    }
  }
  // Partitions first, so a client assigned a new partition finds it.
  for (const std::string& key : keys) {
    if (absl::StartsWith(key, kPartitionPrefix) || key == kSettingsKey) {
      absl::Status st = ApplyKey(key, state);
      if (!st.ok()) return st;
    }
  }
  for (const std::string& key : keys) {
    if (absl::StartsWith(key, kClientPrefix)) {
      absl::Status st = ApplyKey(key, state);
      if (!st.ok()) return st;
    }
  }
  return state->CheckReferences();
}

absl::StatusOr<uint64_t> FileStore::Commit(
    uint64_t current, const std::vector<FileChange>& changes,
    std::set<std::string>* leftover_keys) {
  const uint64_t next = current + 1;
  std::set<std::string> keys;
  for (const FileChange& c : changes) {
    keys.insert(c.key);
  }
  // A writer that died between its journal entry and its generation bump left
  // changes readers have not seen; carry them into this entry.
  auto leftover = ReadIfExists(journal_, JournalName(next), 16 * 1024 * 1024);
  if (!leftover.ok()) return leftover.status();
  if (leftover->has_value()) {
    for (absl::string_view line :
         absl::StrSplit(**leftover, '\n', absl::SkipEmpty())) {
      keys.insert(std::string(line));
      leftover_keys->insert(std::string(line));
    }
  }
  std::string journal;
  for (const std::string& k : keys) {
    absl::StrAppend(&journal, k, "\n");
  }
  absl::Status st = journal_.WriteFileAtomic(JournalName(next), journal, 0600);
  if (!st.ok()) return st;

  std::vector<std::pair<std::string, const std::string*>> batch;
  for (const FileChange& c : changes) {
    SafeDir* dir;
    std::string name;
    if (c.key == kServerKey) {
      continue;  // Announced only; the identity files are written by
                 // server_identity.cc.
    } else if (c.key == kSettingsKey) {
      dir = &root_;
      name = "settings";
    } else if (absl::StartsWith(c.key, kPartitionPrefix)) {
      dir = &partitions_;
      name = c.key.substr(kPartitionPrefix.size());
    } else if (absl::StartsWith(c.key, kClientPrefix)) {
      dir = &clients_;
      name = c.key.substr(kClientPrefix.size());
    } else {
      return absl::InternalError(absl::StrCat("unknown registry key ", c.key));
    }
    if (c.contents.has_value() && dir == &clients_ &&
        changes.size() >= kBatchThreshold) {
      batch.emplace_back(std::move(name), &*c.contents);
      continue;
    }
    if (c.contents.has_value()) {
      st = dir->WriteFileAtomic(name, *c.contents, 0600);
    } else {
      st = dir->RemoveFile(name);
      if (absl::IsNotFound(st)) {
        st = absl::OkStatus();
      }
    }
    if (!st.ok()) return st;
  }
  if (!batch.empty()) {
    st = WriteBatch(clients_, batch);
    if (!st.ok()) return st;
  }
  st = root_.WriteFileAtomic("generation", absl::StrCat(next, "\n"), 0600);
  if (!st.ok()) return st;
  if (next > kJournalKeep) {
    // Best effort: a journal entry left behind only costs a little disk.
    (void)journal_.RemoveFile(JournalName(next - kJournalKeep));
  }
  return next;
}

}  // namespace trustlink::ntl::registry
