#include "examples/ntlsh/partition_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

namespace ntlsh {
namespace {

using TokensPtr = std::unique_ptr<tl_p11_tokens, void (*)(tl_p11_tokens*)>;

TokenResult FromTokens(tl_status status, const tl_p11_tokens* tokens,
                       const std::string& context) {
  TokenResult r;
  r.status = status;
  if (status != TL_OK) {
    char buf[TL_ERROR_MESSAGE_MAX] = "";
    size_t len = 0;
    tl_p11_tokens_last_error(tokens, buf, sizeof(buf), &len);
    r.message = context + std::string(buf, len);
  }
  return r;
}

// OpenTokens opens the appliance's token store; on failure `tokens` is null.
TokensPtr OpenTokens(const std::string& root, TokenResult* result) {
  tl_p11_tokens* raw = nullptr;
  if (tl_p11_tokens_new(&raw) != TL_OK) {
    *result = TokenResult{TL_E_NO_MEMORY, "out of memory", ""};
    return TokensPtr(nullptr, tl_p11_tokens_free);
  }
  TokensPtr tokens(raw, tl_p11_tokens_free);
  *result = FromTokens(tl_p11_tokens_open(raw, root.c_str()), raw,
                       "cannot open the PKCS#11 token store: ");
  if (result->status != TL_OK) {
    tokens.reset();
  }
  return tokens;
}

}  // namespace

TokenResult ReadPinFile(const std::string& path, const std::string& what,
                        std::string* pin) {
  TokenResult r;
  // tl_file_read refuses a FIFO or a device at once: a PIN file must not hang
  // the shell.
  std::string text(64 * 1024, '\0');
  size_t len = 0;
  char message[TL_ERROR_MESSAGE_MAX];
  tl_status st = tl_file_read(path.c_str(), 0, text.data(), text.size(), &len,
                              message, sizeof(message));
  if (st != TL_OK) {
    r.status = st;
    r.message = "cannot read the " + what + " file: " + message +
                "; put the PIN on its first line";
    return r;
  }
  text.resize(len);
  struct stat st_mode;
  if (stat(path.c_str(), &st_mode) == 0 &&
      (st_mode.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    r.warning = "the " + what + " file " + path +
                " can be read by other users; make it 0600 (chmod 600)";
  }
  const size_t eol = text.find('\n');
  std::string line = text.substr(0, eol);
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  std::fill(text.begin(), text.end(), '\0');
  if (line.empty()) {
    r.status = TL_E_INVALID_ARGUMENT;
    r.message = "the " + what + " file " + path +
                " is empty; put the PIN (4 to 255 characters) on its first "
                "line";
    return r;
  }
  *pin = std::move(line);
  return r;
}

TokenResult CreatePartitionToken(const std::string& root,
                                 const std::string& partition,
                                 const std::string& so_pin,
                                 const std::string& user_pin) {
  TokenResult r;
  TokensPtr tokens = OpenTokens(root, &r);
  if (tokens == nullptr) {
    return r;
  }
  return FromTokens(tl_p11_tokens_create(tokens.get(), partition.c_str(),
                                         so_pin.c_str(), user_pin.c_str()),
                    tokens.get(), "cannot make the partition's token: ");
}

TokenResult JoinCloningDomain(const std::string& root,
                              const std::string& partition,
                              const std::string& so_pin,
                              const std::string& key_file, bool* created) {
  TokenResult result;
  TokensPtr tokens = OpenTokens(root, &result);
  if (tokens == nullptr) {
    return result;
  }
  int32_t made = 0;
  result = FromTokens(tl_p11_tokens_join_cloning_domain(
                          tokens.get(), partition.c_str(), so_pin.c_str(),
                          key_file.c_str(), &made),
                      tokens.get(), "cannot join the cloning domain: ");
  *created = made != 0;
  return result;
}

TokenResult RemovePartitionToken(const std::string& root,
                                 const std::string& partition, bool* removed) {
  *removed = false;
  TokenResult r;
  TokensPtr tokens = OpenTokens(root, &r);
  if (tokens == nullptr) {
    return r;
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (true) {
    r = FromTokens(tl_p11_tokens_remove(tokens.get(), partition.c_str()),
                   tokens.get(), "cannot remove the partition's token: ");
    if (r.status == TL_E_NOT_FOUND) {
      return TokenResult{};
    }
    if (r.status == TL_OK) {
      *removed = true;
      return r;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      r.message += "; once ntlsd has ended the partition's streams, remove " +
                   root + "/pkcs11/partitions/" + partition + " by hand";
      return r;
    }
    // A p11-kit process that ntlsd is ending may still write to the token.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace ntlsh
