#include "ntl/pkcs11/ha/cloning_key_file.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

std::string TempPath(const std::string& name) {
  std::string dir = getenv("TEST_TMPDIR");
  std::string path = dir + "/" + name;
  unlink(path.c_str());
  return path;
}

TEST(CloningKeyFileTest, MadeOnceThenReadBackTheSame) {
  std::string path = TempPath("made.key");
  bool created = false;
  absl::StatusOr<std::string> key = ReadOrCreateCloningKeyFile(path, &created);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(created);
  EXPECT_EQ(key->size(), 32u);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<std::string> again =
      ReadOrCreateCloningKeyFile(path, &created);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(created);
  EXPECT_EQ(*again, *key);
}

TEST(CloningKeyFileTest, RefusesAFileOthersCanRead) {
  std::string path = TempPath("open.key");
  bool created = false;
  ASSERT_TRUE(ReadOrCreateCloningKeyFile(path, &created).ok());
  chmod(path.c_str(), 0644);
  absl::Status s = ReadOrCreateCloningKeyFile(path, &created).status();
  EXPECT_EQ(ToTlStatus(s), TL_E_KEY_PERMISSIONS);
  EXPECT_NE(s.message().find("chmod 600"), std::string::npos) << s;
}

TEST(CloningKeyFileTest, RefusesAFileThatIsNotAKey) {
  std::string path = TempPath("bad.key");
  {
    std::ofstream f(path);
    f << "not hex\n";
  }
  chmod(path.c_str(), 0600);
  bool created = false;
  absl::Status s = ReadOrCreateCloningKeyFile(path, &created).status();
  EXPECT_EQ(ToTlStatus(s), TL_E_PARSE);
  EXPECT_NE(s.message().find("64 hex digits"), std::string::npos) << s;
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11::ha
