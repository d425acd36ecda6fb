#include "ntl/registry/server_identity.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ntl/cert.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/names.h"
#include "ntl/registry/model.h"
#include "ntl/status.h"

namespace trustlink::ntl::registry {
namespace {

using internal::SafeDir;

constexpr absl::string_view kCert = "server.pem";
constexpr absl::string_view kKey = "serverKey.pem";
constexpr absl::string_view kNewCert = "new.pem";
constexpr absl::string_view kNewKey = "newKey.pem";

absl::StatusOr<SafeDir> ServerDir(const std::string& root, bool create) {
  auto dir = SafeDir::Open(root, create);
  if (!dir.ok()) return dir.status();
  return dir->OpenSubdir("server", create);
}

absl::Status Rename(const SafeDir& dir, absl::string_view from,
                    absl::string_view to) {
  if (renameat(dir.fd(), std::string(from).c_str(), dir.fd(),
               std::string(to).c_str()) != 0) {
    return Error(absl::StatusCode::kInternal, TL_E_IO,
                 absl::StrCat("cannot rename ", dir.PathOf(from), " to ", to,
                              ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// FinishInterruptedRegeneration completes or rolls back a regeneration a crash
// cut short.
absl::Status FinishInterruptedRegeneration(const SafeDir& dir) {
  auto has_new = dir.Exists(kNewCert);
  if (!has_new.ok()) return has_new.status();
  if (!*has_new) return absl::OkStatus();
  auto current = LoadIdentity(dir, kCert, kKey);
  if (current.ok()) {
    // Crashed before the key moved: the old pair is intact; forget the
    // half-made new one.
    (void)dir.RemoveFile(kNewKey);
    return dir.RemoveFile(kNewCert);
  }
  // Crashed between the two renames: the key is new, the certificate is in
  // new.pem.
  auto finished = LoadIdentity(dir, kNewCert, kKey);
  if (!finished.ok()) return current.status();
  return Rename(dir, kNewCert, kCert);
}

absl::StatusOr<std::vector<Identity>> LoadPrevious(const SafeDir& server,
                                                   bool create) {
  std::vector<Identity> out;
  auto prev = server.OpenSubdir("previous", create);
  if (absl::IsNotFound(prev.status())) return out;
  if (!prev.ok()) return prev.status();
  auto names = prev->List();
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (!absl::EndsWith(name, ".pem") || absl::EndsWith(name, "Key.pem") ||
        absl::StrContains(name, ".tmp")) {
      continue;
    }
    std::string key_name =
        absl::StrCat(name.substr(0, name.size() - 4), "Key.pem");
    auto id = LoadIdentity(*prev, name, key_name);
    if (!id.ok()) return id.status();
    out.push_back(std::move(*id));
  }
  std::sort(out.begin(), out.end(), [](const Identity& a, const Identity& b) {
    return a.cert.NotBefore() > b.cert.NotBefore();
  });
  return out;
}

}  // namespace

absl::StatusOr<ServerIdentities> LoadServerIdentity(const std::string& root) {
  auto dir = ServerDir(root, false);
  if (absl::IsNotFound(dir.status())) {
    return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                 absl::StrCat("the appliance at ", root,
                              " has no server identity yet; make one "
                              "(tl_registry_regenerate_server_certificate)"));
  }
  if (!dir.ok()) return dir.status();
  absl::Status st = FinishInterruptedRegeneration(*dir);
  if (!st.ok()) return st;
  auto exists = dir->Exists(kCert);
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                 absl::StrCat(dir->PathOf(kCert),
                              " does not exist; make it "
                              "(tl_registry_regenerate_server_certificate)"));
  }
  auto current = LoadIdentity(*dir, kCert, kKey);
  if (!current.ok()) return current.status();
  auto previous = LoadPrevious(*dir, false);
  if (!previous.ok()) return previous.status();
  return ServerIdentities{std::move(*current), std::move(*previous)};
}

absl::StatusOr<ServerIdentities> EnsureServerIdentity(
    const std::string& root, absl::string_view appliance_name, KeyType key_type,
    bool* created) {
  if (created != nullptr) *created = false;
  auto loaded = LoadServerIdentity(root);
  if (!absl::IsNotFound(loaded.status())) return loaded;
  auto name = CanonicalizeName(appliance_name);
  if (!name.ok()) return name.status();
  auto dir = ServerDir(root, true);
  if (!dir.ok()) return dir.status();
  IdentityOptions options;
  options.key_type = key_type;
  options.for_server = true;
  auto id = CreateIdentity(*name, options);
  if (!id.ok()) return id.status();
  absl::Status st = WriteIdentity(*dir, kCert, kKey, *id, /*force=*/false);
  if (!st.ok()) return st;
  if (created != nullptr) *created = true;
  return LoadServerIdentity(root);
}

absl::StatusOr<ServerIdentities> RegenerateServerIdentity(
    const std::string& root, absl::string_view appliance_name,
    KeyType key_type) {
  auto existing = LoadServerIdentity(root);
  if (absl::IsNotFound(existing.status())) {
    if (appliance_name.empty()) {
      return Error(
          absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
          "the appliance has no server certificate yet; give its name (-name)");
    }
    return EnsureServerIdentity(root, appliance_name, key_type, nullptr);
  }
  if (!existing.ok()) return existing.status();
  std::string name_text(appliance_name);
  if (name_text.empty()) name_text = existing->current.cert.Name();
  auto name = CanonicalizeName(name_text);
  if (!name.ok()) return name.status();
  auto dir = ServerDir(root, false);
  if (!dir.ok()) return dir.status();
  IdentityOptions options;
  options.key_type = key_type;
  options.for_server = true;
  auto id = CreateIdentity(*name, options);
  if (!id.ok()) return id.status();
  // 1. Keep the current pair for the overlap.
  auto prev = dir->OpenSubdir("previous", true);
  if (!prev.ok()) return prev.status();
  std::string hex = FingerprintHex(existing->current.cert.Sha256Fingerprint());
  absl::Status st =
      WriteIdentity(*prev, absl::StrCat(hex, ".pem"),
                    absl::StrCat(hex, "Key.pem"), existing->current, true);
  if (!st.ok()) return st;
  // 2. Stage the new pair, 3. move the key, 4. move the certificate. A crash
  // between 3 and 4 is finished by LoadServerIdentity.
  st = WriteIdentity(*dir, kNewCert, kNewKey, *id, true);
  if (!st.ok()) return st;
  st = Rename(*dir, kNewKey, kKey);
  if (!st.ok()) return st;
  st = Rename(*dir, kNewCert, kCert);
  if (!st.ok()) return st;
  if (fsync(dir->fd()) != 0) {
    return Error(
        absl::StatusCode::kInternal, TL_E_IO,
        absl::StrCat("cannot fsync ", dir->path(), ": ", strerror(errno)));
  }
  return LoadServerIdentity(root);
}

absl::StatusOr<int> DropPreviousServerIdentities(const std::string& root) {
  auto dir = ServerDir(root, false);
  if (!dir.ok()) return dir.status();
  auto prev = dir->OpenSubdir("previous", false);
  if (absl::IsNotFound(prev.status())) return 0;
  if (!prev.ok()) return prev.status();
  auto names = prev->List();
  if (!names.ok()) return names.status();
  int dropped = 0;
  // Certificates first: a key left by an interrupted drop is ignored, a
  // certificate without its key would not load.
  for (bool keys : {false, true}) {
    for (const std::string& name : *names) {
      if (absl::EndsWith(name, "Key.pem") != keys) continue;
      absl::Status st = prev->RemoveFile(name);
      if (!st.ok() && !absl::IsNotFound(st)) return st;
      if (!keys && absl::EndsWith(name, ".pem")) ++dropped;
    }
  }
  return dropped;
}

}  // namespace trustlink::ntl::registry
