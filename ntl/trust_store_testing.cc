#include "ntl/trust_store_testing.h"

#include <unistd.h>

#include <cstdlib>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ntl/identity.h"

namespace trustlink::ntl {

using internal::SafeDir;

std::string NewRootPath(const std::string& leaf) {
  static int counter = 0;
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp ? tmp : "/tmp", "/trust_store_test_", leaf, "_",
                      getpid(), "_", ++counter);
}

std::string ServerPem(absl::string_view name, absl::Time now, int days) {
  IdentityOptions options;
  options.key_type = KeyType::kEcdsaP256;
  options.for_server = true;
  options.now = now;
  options.validity_days = days;
  absl::StatusOr<Identity> id =
      CreateIdentity(*CanonicalizeNameWithHost(name, ""), options);
  EXPECT_TRUE(id.ok()) << id.status();
  return id->cert.Pem();
}

std::map<std::string, std::string> Tree(const std::string& path) {
  std::map<std::string, std::string> out;
  absl::StatusOr<SafeDir> dir = SafeDir::Open(path, false);
  if (!dir.ok()) return out;
  std::vector<std::string> names = *dir->List();
  for (const std::string& name : names) {
    absl::StatusOr<std::string> contents = dir->ReadFile(name, 1 << 24);
    if (contents.ok()) {
      out[name] = *contents;
    } else {
      out[name] = "<dir>";
      for (const auto& [k, v] : Tree(dir->PathOf(name)))
        out[absl::StrCat(name, "/", k)] = v;
    }
  }
  return out;
}

::testing::AssertionResult RawConsistent(const std::string& root) {
  absl::StatusOr<SafeDir> dir = SafeDir::Open(root + "/cert/server", false);
  if (!dir.ok()) {
    if (dir.status().code() == absl::StatusCode::kNotFound) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << dir.status();
  }
  std::set<std::string> named;
  bool has_cafile = false;
  std::set<std::string> in_cafile;
  std::vector<std::string> names = *dir->List();
  for (const std::string& name : names) {
    absl::StatusOr<std::string> contents = dir->ReadFile(name, 1 << 24);
    if (!contents.ok())
      return ::testing::AssertionFailure() << contents.status();
    if (name == "CAFile.pem") {
      has_cafile = true;
      absl::StatusOr<std::vector<Certificate>> certs =
          Certificate::ParsePemList(*contents, name);
      if (!certs.ok()) return ::testing::AssertionFailure() << certs.status();
      for (const Certificate& c : *certs) in_cafile.insert(c.Der());
    } else if (absl::EndsWith(name, "Cert.pem")) {
      absl::StatusOr<Certificate> c = Certificate::ParsePem(*contents, name);
      if (!c.ok()) return ::testing::AssertionFailure() << c.status();
      named.insert(c->Der());
    } else {
      return ::testing::AssertionFailure() << "stray file " << name;
    }
  }
  if (!named.empty() && !has_cafile)
    return ::testing::AssertionFailure() << "no CAFile.pem";
  if (named != in_cafile) {
    return ::testing::AssertionFailure()
           << named.size() << " named certs vs " << in_cafile.size()
           << " in CAFile.pem";
  }

  return ::testing::AssertionSuccess();
}

void TrustStoreTest::SetUp() {
  root_path_ = NewRootPath("t");
  root_ = std::make_unique<SafeDir>(*SafeDir::Open(root_path_, true));
  absl::StatusOr<TrustStore> store = TrustStore::Open(*root_, true);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::make_unique<TrustStore>(*std::move(store));
}

}  // namespace trustlink::ntl
