#include "ntl/pkcs11/ha/cloning_key_file.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <p11-kit/pkcs11.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/ha/cloning_domain.h"
#include "ntl/pkcs11/ha/member.h"
#include "ntl/pkcs11/ha/p11kit_lib.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

constexpr size_t kKeyLen = 32;

absl::Status Io(const std::string& what, const std::string& path) {
  return Error(absl::StatusCode::kFailedPrecondition, TL_E_IO,
               absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

absl::StatusOr<std::string> Parse(const std::string& text,
                                  const std::string& path) {
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  bool hex = line.size() == 2 * kKeyLen;
  for (char c : line) {
    hex = hex && isxdigit(static_cast<unsigned char>(c));
  }
  if (!hex) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_PARSE,
                 absl::StrCat("cloning-domain key file ", path,
                              " does not hold 64 hex digits on its first "
                              "line; copy it again from the appliance that "
                              "made it"));
  }
  return absl::HexStringToBytes(line);
}

absl::StatusOr<std::string> Create(const std::string& path) {
  std::string key(kKeyLen, '\0');
  if (getrandom(&key[0], key.size(), 0) != static_cast<ssize_t>(key.size())) {
    return Io("cannot get random bytes for", path);
  }
  std::string text = absl::StrCat(absl::BytesToHexString(key), "\n");
  // Written whole under a temporary name, then linked to `path`, which fails
  // rather than replace a file another admin made meanwhile.
  std::string tmp = absl::StrCat(path, ".tmp", getpid());
  int fd = open(tmp.c_str(),
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Io("cannot create", tmp);
  }
  bool ok = write(fd, text.data(), text.size()) ==
                static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  close(fd);
  if (!ok || link(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = Io("cannot write", path);
    unlink(tmp.c_str());
    return s;
  }
  unlink(tmp.c_str());
  std::string dir = path.find('/') == std::string::npos
                        ? "."
                        : path.substr(0, path.rfind('/') + 1);
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return key;
}

}  // namespace

absl::StatusOr<std::string> ReadOrCreateCloningKeyFile(const std::string& path,
                                                       bool* created) {
  *created = false;
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    *created = true;
    return Create(path);
  }
  if (fd < 0) {
    return Io("cannot open", path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 absl::StrCat(path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    close(fd);
    return Error(absl::StatusCode::kPermissionDenied, TL_E_KEY_PERMISSIONS,
                 absl::StrCat("cloning-domain key file ", path,
                              " can be read by group or others; chmod 600 ",
                              path, " (and check who copied it)"));
  }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof(buf));
  close(fd);
  if (n < 0) {
    return Io("cannot read", path);
  }
  std::string text(buf, static_cast<size_t>(n));
  absl::StatusOr<std::string> key = Parse(text, path);
  memset(buf, 0, sizeof(buf));
  return key;
}

absl::Status InstallCloningKey(const TokenStore& store,
                               const std::string& partition,
                               const std::string& so_pin,
                               const std::string& key) {
  absl::StatusOr<PartitionToken> token = store.Find(partition);
  if (!token.ok()) {
    return token.status();
  }
  const char* old = getenv("SOFTHSM2_CONF");
  std::string saved = old != nullptr ? old : "";
  setenv("SOFTHSM2_CONF", token->softhsm2_conf.c_str(), 1);
  auto restore = [&] {
    if (old != nullptr) {
      setenv("SOFTHSM2_CONF", saved.c_str(), 1);
    } else {
      unsetenv("SOFTHSM2_CONF");
    }
  };
  const std::string& path = store.options().module_path;
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  CK_C_GetFunctionList get = h != nullptr
                                 ? reinterpret_cast<CK_C_GetFunctionList>(
                                       dlsym(h, "C_GetFunctionList"))
                                 : nullptr;
  CK_FUNCTION_LIST* f = nullptr;
  if (get == nullptr || get(&f) != CKR_OK ||
      f->C_Initialize(nullptr) != CKR_OK) {
    if (h != nullptr) {
      dlclose(h);
    }
    restore();
    return Error(absl::StatusCode::kFailedPrecondition,
                 TL_E_FAILED_PRECONDITION,
                 absl::StrCat("cannot load SoftHSM2 from ", path));
  }
  std::string what;
  CK_RV rv = CKR_TOKEN_NOT_PRESENT;
  CK_SLOT_ID slots[64];
  CK_ULONG n = 64;
  CK_SESSION_HANDLE s = 0;
  if (f->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK) {
    for (CK_ULONG i = 0; i < n; ++i) {
      CK_TOKEN_INFO info;
      if (f->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
          PaddedEquals(info.label, sizeof(info.label), token->token_label)) {
        rv = f->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION,
                              nullptr, nullptr, &s);
        break;
      }
    }
  }
  what = "opening the token";
  if (rv == CKR_OK) {
    what = "logging in as the partition SO";
    rv = f->C_Login(
        s, CKU_SO,
        reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(so_pin.data())),
        so_pin.size());
  }
  CK_OBJECT_HANDLE existing = 0;
  std::string why;
  bool exists = rv == CKR_OK && FindCloningKey(f, s, &existing, &why) == CKR_OK;
  if (rv == CKR_OK && !exists) {
    what = "storing the key";
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    // Public (CKA_PRIVATE false) so the SO can make it and the Crypto Officer
    // can use it; sensitive and never extractable, so nobody reads it back.
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &no, sizeof(no)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_TRUSTED, &yes, sizeof(yes)},
        {CKA_WRAP, &yes, sizeof(yes)},
        {CKA_UNWRAP, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &no, sizeof(no)},
        {CKA_DECRYPT, &no, sizeof(no)},
        {CKA_MODIFIABLE, &no, sizeof(no)},
        {CKA_LABEL, const_cast<char*>(kCloningKeyLabel),
         strlen(kCloningKeyLabel)},
        {CKA_VALUE, const_cast<char*>(key.data()), key.size()},
    };
    CK_OBJECT_HANDLE made = 0;
    rv = f->C_CreateObject(s, t, sizeof(t) / sizeof(t[0]), &made);
  }
  if (s != 0) {
    f->C_Logout(s);
    f->C_CloseSession(s);
  }
  f->C_Finalize(nullptr);
  dlclose(h);
  restore();
  if (exists) {
    return Error(absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
                 absl::StrCat("partition '", partition,
                              "' already has a cloning-domain key"));
  }
  if (rv != CKR_OK) {
    return Error(
        rv == CKR_PIN_INCORRECT ? absl::StatusCode::kPermissionDenied
                                : absl::StatusCode::kInternal,
        rv == CKR_PIN_INCORRECT ? TL_E_PERMISSION_DENIED : TL_E_INTERNAL,
        absl::StrCat("joining partition '", partition,
                     "' to the cloning domain failed while ", what, " (",
                     RvName(rv), ")"));
  }
  return absl::OkStatus();
}

}  // namespace trustlink::ntl::pkcs11::ha
