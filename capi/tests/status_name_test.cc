// Every status code the public headers define has its own name, so a code added
// to a header without a name in tl_status_name fails here.
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

std::map<std::string, int> CodesDefinedIn(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  std::map<std::string, int> codes;
  const std::regex define(R"(#define (TL_(?:OK|E_[A-Z0-9_]+)) (-?[0-9]+))");
  const std::string contents = text.str();
  for (auto it = std::sregex_iterator(contents.begin(), contents.end(), define);
       it != std::sregex_iterator(); ++it) {
    codes[(*it)[1]] = std::stoi((*it)[2]);
  }
  return codes;
}

TEST(StatusNameTest, EveryDefinedCodeHasItsOwnName) {
  std::map<std::string, int> codes =
      CodesDefinedIn("capi/include/trustlink/base.h");
  ASSERT_GT(codes.size(), 30u) << "could not read the header's codes";
  std::map<int, std::string> seen;
  for (const auto& [name, value] : codes) {
    EXPECT_EQ(std::string(tl_status_name(value)), name);
    EXPECT_TRUE(seen.emplace(value, name).second)
        << name << " reuses the number of " << seen[value];
  }
}

TEST(StatusNameTest, UnknownCodesSaySo) {
  EXPECT_STREQ(tl_status_name(99999), "TL_E_UNKNOWN");
  EXPECT_STREQ(tl_status_name(-1), "TL_E_UNKNOWN");
}

}  // namespace
