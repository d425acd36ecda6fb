#include "ntl/pkcs11/token_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ntl/pkcs11/child.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

constexpr char kConfName[] = "softhsm2.conf";
constexpr char kTokensDir[] = "tokens";
constexpr char kLockName[] = ".lock";
constexpr char kPartitionsDir[] = "partitions";
constexpr char kStagingDir[] = "staging";
// SoftHSM2 writes this file in every token directory it initialises.
constexpr char kTokenObject[] = "token.object";
// Staging names: a token being made (discarded if left over) and a partition
// of the old layout being moved (finished if left over).
constexpr char kNewPrefix[] = "new-";
constexpr char kOldPrefix[] = "old-";

// SharedConf is the one SoftHSM2 configuration of the store: every partition's
// token is a directory of `tokendir`, so one process can serve several.
std::string SharedConf(const std::string& tokendir) {
  // No comments: SoftHSM2's parser is strict about what it accepts.
  return absl::StrCat("directories.tokendir = ", tokendir,
                      "\nobjectstore.backend = file\nlog.level = ERROR\n"
                      "slots.removable = false\n");
}

// OnlyTokenDir returns the name of the single token directory SoftHSM2 made in
// `tokens` (a token directory of its own, one token in it).
absl::StatusOr<std::string> OnlyTokenDir(const internal::SafeDir& tokens) {
  absl::StatusOr<std::vector<std::string>> names = tokens.List();
  if (!names.ok()) {
    return names.status();
  }
  std::vector<std::string> dirs;
  for (const std::string& n : *names) {
    absl::StatusOr<internal::SafeDir> d = tokens.OpenSubdir(n, false);
    if (d.ok() && d->Exists(kTokenObject).value_or(false)) {
      dirs.push_back(n);
    }
  }
  if (dirs.size() != 1) {
    return Error(absl::StatusCode::kInternal, TL_E_INTERNAL,
                 absl::StrCat("want exactly one SoftHSM2 token in ",
                              tokens.path(), ", found ", dirs.size()));
  }
  return dirs[0];
}

// MoveDir renames `from` in `from_dir` to `to` in `to_dir` (same file system)
// and fsyncs both directories, so the move survives a crash.
absl::Status MoveDir(const internal::SafeDir& from_dir, const std::string& from,
                     const internal::SafeDir& to_dir, const std::string& to) {
  if (renameat(from_dir.fd(), from.c_str(), to_dir.fd(), to.c_str()) != 0) {
    return Error(absl::StatusCode::kInternal, TL_E_IO,
                 absl::StrCat("cannot move ", from_dir.PathOf(from), " to ",
                              to_dir.PathOf(to), ": ", strerror(errno)));
  }
  absl::Status s = to_dir.Sync();
  s.Update(from_dir.Sync());
  return s;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

absl::Status NameError(absl::string_view name, absl::string_view why) {
  return Error(
      absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
      absl::StrCat("partition name '", absl::CHexEscape(name), "' ", why,
                   "; use 1-32 letters, digits, '.', '_' or '-', not starting "
                   "with '.' or '-'"));
}

}  // namespace

absl::Status ValidatePartitionName(absl::string_view name) {
  if (name.empty()) {
    return NameError(name, "is empty");
  }
  if (name.size() > kMaxPartitionNameLength) {
    return NameError(name, "is longer than a PKCS#11 token label (32 bytes)");
  }
  if (name[0] == '.' || name[0] == '-') {
    return NameError(name, "starts with '.' or '-'");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return NameError(name, "has a character that is not allowed");
    }
  }
  return internal::ValidateName(name, "partition name");
}

absl::Status ValidatePin(absl::string_view pin, absl::string_view what) {
  if (pin.size() < 4 || pin.size() > 255) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 absl::StrCat(what, " must be 4 to 255 characters long"));
  }
  for (char c : pin) {
    if (c == '\0' || c == '\n' || c == '\r') {
      return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                   absl::StrCat(what, " must not contain NUL or line breaks"));
    }
  }
  return absl::OkStatus();
}

std::string TokenUri(absl::string_view label) {
  std::string uri = "pkcs11:token=";
  for (unsigned char c : label) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      uri.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&uri, "%%%02X", c);
    }
  }
  return uri;
}

absl::Status RemoveTree(int parent_fd, const std::string& name) {
  int fd = openat(parent_fd, name.c_str(),
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOTDIR || errno == ELOOP) {
      if (unlinkat(parent_fd, name.c_str(), 0) == 0) {
        return absl::OkStatus();
      }
    }
    if (errno == ENOENT) {
      return absl::OkStatus();
    }
    return Error(absl::StatusCode::kInternal, TL_E_IO,
                 absl::StrCat("cannot open '", name,
                              "' to remove it: ", strerror(errno)));
  }
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    close(fd);
    return Error(absl::StatusCode::kInternal, TL_E_IO,
                 absl::StrCat("cannot list '", name, "': ", strerror(errno)));
  }
  std::vector<std::pair<std::string, bool>> entries;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") {
      continue;
    }
    entries.emplace_back(n, e->d_type == DT_DIR);
  }
  absl::Status status;
  for (const auto& [n, is_dir] : entries) {
    if (is_dir) {
      status.Update(RemoveTree(dirfd(d), n));
    } else if (unlinkat(dirfd(d), n.c_str(), 0) != 0 && errno != ENOENT) {
      status.Update(
          Error(absl::StatusCode::kInternal, TL_E_IO,
                absl::StrCat("cannot remove '", n, "': ", strerror(errno))));
    }
  }
  closedir(d);
  if (status.ok() && unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 &&
      errno != ENOENT) {
    status = Error(absl::StatusCode::kInternal, TL_E_IO,
                   absl::StrCat("cannot remove directory '", name,
                                "': ", strerror(errno)));
  }
  return status;
}

absl::StatusOr<TokenStore> TokenStore::Open(const std::string& appliance_root,
                                            TokenStoreOptions options) {
  if (appliance_root.empty() || appliance_root[0] != '/') {
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
        absl::StrCat(
            "appliance root '", appliance_root,
            "' must be an absolute path (SoftHSM2 needs absolute token "
            "directories)"));
  }
  absl::StatusOr<internal::SafeDir> root =
      internal::SafeDir::Open(appliance_root, true);
  if (!root.ok()) {
    return root.status();
  }
  absl::StatusOr<internal::SafeDir> dir =
      root->OpenSubdir(kPartitionsDir, true);
  if (!dir.ok()) {
    return dir.status();
  }
  absl::StatusOr<internal::SafeDir> staging =
      root->OpenSubdir(kStagingDir, true);
  if (!staging.ok()) {
    return staging.status();
  }
  TokenStore store(std::move(*root), std::move(*dir), std::move(*staging),
                   std::move(options));
  if (absl::Status s = store.Prepare(); !s.ok()) {
    return s;
  }
  return store;
}

absl::Status TokenStore::Prepare() {
  const std::string conf = SharedConf(dir_.path());
  absl::StatusOr<std::string> have = root_.ReadFile(kConfName, 4096);
  if (!have.ok() || *have != conf) {
    if (absl::Status s = root_.WriteFileAtomic(kConfName, conf, 0600);
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<internal::FileLock> lock = dir_.Lock(kLockName);
  if (!lock.ok()) {
    return lock.status();
  }
  // Partitions of the layout before 2026-12 (a SoftHSM2 token directory per
  // partition, <P>/softhsm2.conf and <P>/tokens/<uuid>/) move out to staging
  // first, then their token moves back in as <P>/.
  absl::StatusOr<std::vector<std::string>> names = dir_.List();
  if (!names.ok()) {
    return names.status();
  }
  for (const std::string& n : *names) {
    if (!ValidatePartitionName(n).ok()) {
      continue;
    }
    absl::StatusOr<internal::SafeDir> sub = dir_.OpenSubdir(n, false);
    if (!sub.ok() || !sub->Exists(kConfName).value_or(false)) {
      continue;
    }
    if (absl::Status s = MoveDir(dir_, n, staging_, kOldPrefix + n); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<std::vector<std::string>> staged = staging_.List();
  if (!staged.ok()) {
    return staged.status();
  }
  for (const std::string& n : *staged) {
    if (absl::StartsWith(n, kOldPrefix)) {
      if (absl::Status s = FinishMove(n, n.substr(strlen(kOldPrefix)));
          !s.ok()) {
        return s;
      }
    } else {
      // A token whose Create did not finish: its PINs may be half set.
      if (absl::Status s = RemoveTree(staging_.fd(), n); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status TokenStore::FinishMove(const std::string& staged,
                                    const std::string& partition) {
  absl::StatusOr<internal::SafeDir> sub = staging_.OpenSubdir(staged, false);
  if (!sub.ok()) {
    return sub.status();
  }
  absl::StatusOr<internal::SafeDir> tokens = sub->OpenSubdir(kTokensDir, false);
  if (!tokens.ok()) {
    return tokens.status();
  }
  absl::StatusOr<std::string> token = OnlyTokenDir(*tokens);
  if (!token.ok()) {
    return token.status();
  }
  if (dir_.Exists(partition).value_or(true)) {
    return Error(absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
                 absl::StrCat("cannot move the token of partition '", partition,
                              "' from ", tokens->PathOf(*token), " to ",
                              dir_.PathOf(partition),
                              ": that name is taken; move one aside by hand"));
  }
  if (absl::Status s = MoveDir(*tokens, *token, dir_, partition); !s.ok()) {
    return s;
  }
  return RemoveTree(staging_.fd(), staged);
}

absl::StatusOr<TokenStore> OpenApplianceTokens(
    const std::string& appliance_root, TokenStoreOptions options) {
  if (appliance_root.empty()) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 "the appliance root is empty; pass its directory");
  }
  std::string root = appliance_root;
  if (root[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) {
      return Error(absl::StatusCode::kInternal, TL_E_IO,
                   absl::StrCat("cannot read the current directory to make '",
                                appliance_root, "' absolute: ", strerror(errno),
                                "; pass an absolute appliance root"));
    }
    root = absl::StrCat(cwd, "/", appliance_root);
  }
  return TokenStore::Open(absl::StrCat(root, "/", kApplianceTokenDir),
                          std::move(options));
}

absl::StatusOr<PartitionToken> TokenStore::Find(
    absl::string_view partition) const {
  if (absl::Status s = ValidatePartitionName(partition); !s.ok()) {
    return s;
  }
  absl::StatusOr<internal::SafeDir> sub = dir_.OpenSubdir(partition, false);
  if (!sub.ok()) {
    if (absl::IsNotFound(sub.status())) {
      return Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat("partition '", partition, "' has no PKCS#11 token in ",
                       dir_.path(), "; create the partition first"));
    }
    return sub.status();
  }
  absl::StatusOr<bool> has_token = sub->Exists(kTokenObject);
  if (!has_token.ok()) {
    return has_token.status();
  }
  if (!*has_token) {
    return Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat("partition '", partition, "' has no SoftHSM2 token in ",
                     sub->path(), "; re-create the partition"));
  }
  PartitionToken token;
  token.partition = std::string(partition);
  token.softhsm2_conf = root_.PathOf(kConfName);
  token.token_label = std::string(partition);
  token.token_uri = TokenUri(partition);
  return token;
}

absl::StatusOr<std::vector<std::string>> TokenStore::List() const {
  absl::StatusOr<std::vector<std::string>> names = dir_.List();
  if (!names.ok()) {
    return names.status();
  }
  std::vector<std::string> out;
  for (const std::string& n : *names) {
    if (ValidatePartitionName(n).ok()) {
      out.push_back(n);
    }
  }
  return out;
}

absl::Status TokenStore::Create(absl::string_view partition,
                                absl::string_view so_pin,
                                absl::string_view user_pin) {
  if (absl::Status s = ValidatePartitionName(partition); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidatePin(so_pin, "the SO PIN"); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidatePin(user_pin, "the user PIN"); !s.ok()) {
    return s;
  }
  absl::StatusOr<internal::FileLock> lock = dir_.Lock(kLockName);
  if (!lock.ok()) {
    return lock.status();
  }
  absl::StatusOr<bool> exists = dir_.Exists(partition);
  if (!exists.ok()) {
    return exists.status();
  }
  if (*exists) {
    return Error(
        absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
        absl::StrCat("partition '", partition, "' already has a token in ",
                     dir_.PathOf(partition),
                     "; remove it first to re-create it"));
  }
  // The token is made in a SoftHSM2 token directory of its own under staging/
  // (so no other token's slot is in the way of --init-token), then moved in
  // whole: other processes see the partition's token complete or not at all.
  const std::string name(partition);
  const std::string staged = kNewPrefix + name;
  RemoveTree(staging_.fd(), staged).IgnoreError();
  absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<internal::SafeDir> sub = staging_.OpenSubdir(staged, true);
    if (!sub.ok()) {
      return sub.status();
    }
    absl::StatusOr<internal::SafeDir> tokens =
        sub->OpenSubdir(kTokensDir, true);
    if (!tokens.ok()) {
      return tokens.status();
    }
    if (absl::Status s =
            sub->WriteFileAtomic(kConfName, SharedConf(tokens->path()), 0600);
        !s.ok()) {
      return s;
    }
    PartitionToken token;
    token.partition = name;
    token.softhsm2_conf = sub->PathOf(kConfName);
    token.token_label = name;
    token.token_uri = TokenUri(name);
    if (absl::Status s = InitToken(token, so_pin, user_pin); !s.ok()) {
      return s;
    }
    absl::StatusOr<std::string> made = OnlyTokenDir(*tokens);
    if (!made.ok()) {
      return made.status();
    }
    return MoveDir(*tokens, *made, dir_, name);
  }();
  RemoveTree(staging_.fd(), staged).IgnoreError();
  return status;
}

absl::Status TokenStore::InitToken(const PartitionToken& token,
                                   absl::string_view so_pin,
                                   absl::string_view user_pin) {
  // PINs go through the child's environment, which only its own user can read,
  // never argv.
  std::vector<std::string> env = {
      absl::StrCat("SOFTHSM2_CONF=", token.softhsm2_conf),
      absl::StrCat("TL_SO_PIN=", so_pin),
      absl::StrCat("TL_USER_PIN=", user_pin),
      "PATH=/usr/bin:/bin",
  };
  const std::string& tool = options_.pkcs11_tool;
  std::vector<std::vector<std::string>> steps = {
      {tool, "--module", options_.module_path, "--init-token", "--label",
       token.token_label, "--so-pin", "env:TL_SO_PIN"},
      {tool, "--module", options_.module_path, "--token-label",
       token.token_label, "--login", "--login-type", "so", "--so-pin",
       "env:TL_SO_PIN", "--init-pin", "--new-pin", "env:TL_USER_PIN"},
  };
  for (const auto& argv : steps) {
    ChildSpec spec{tool, argv, env};
    absl::StatusOr<RunResult> r =
        RunToCompletion(spec, absl::Now() + options_.tool_timeout);
    if (!r.ok()) {
      return r.status();
    }
    if (!WIFEXITED(r->wait_status) || WEXITSTATUS(r->wait_status) != 0) {
      return Error(
          absl::StatusCode::kInternal, TL_E_INTERNAL,
          absl::StrCat("initialising the token of partition '", token.partition,
                       "' failed: ", tool, " ",
                       DescribeWaitStatus(r->wait_status), ": ", r->output));
    }
  }
  return absl::OkStatus();
}

absl::Status TokenStore::Remove(absl::string_view partition) {
  if (absl::Status s = ValidatePartitionName(partition); !s.ok()) {
    return s;
  }
  absl::StatusOr<internal::FileLock> lock = dir_.Lock(kLockName);
  if (!lock.ok()) {
    return lock.status();
  }
  absl::StatusOr<bool> exists = dir_.Exists(partition);
  if (!exists.ok()) {
    return exists.status();
  }
  if (!*exists) {
    return Error(
        absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
        absl::StrCat("partition '", partition, "' has no token to remove"));
  }
  return RemoveTree(dir_.fd(), std::string(partition));
}

}  // namespace trustlink::ntl::pkcs11
