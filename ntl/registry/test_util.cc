#include "ntl/registry/test_util.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "ntl/identity.h"
#include "ntl/names.h"

namespace trustlink::ntl::registry::testing {

std::string FreshRoot(const std::string& tag) {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", tag, "_", getpid(),
                      "_", counter++);
}

std::string ClientCertPem(const std::string& name) {
  auto canonical = CanonicalizeNameWithHost(name, "");
  if (!canonical.ok()) std::abort();
  IdentityOptions options;
  options.key_type = KeyType::kEd25519;
  auto id = CreateIdentity(*canonical, options);
  if (!id.ok()) std::abort();
  return id->cert.Pem();
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace trustlink::ntl::registry::testing
