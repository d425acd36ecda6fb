#include "ntl/client/slot_numbers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::client {
namespace {

std::string NewDir(const std::string& name) {
  std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::system(("rm -rf '" + dir + "'").c_str());
  ::mkdir(dir.c_str(), 0700);
  return dir;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SlotNumbersTest, APartitionKeepsItsNumberWhenOthersAreAssigned) {
  const std::string dir = NewDir("keep");
  auto first = NumberSlots(dir, "hsm1", {"par1"}, {});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->at("par1"), 0);
  // A later process: aaa sorts first, and the appliance lists it first.
  auto second = NumberSlots(dir, "HSM1", {"aaa", "par1"}, {});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->at("par1"), 0);
  EXPECT_EQ(second->at("aaa"), 1);
  // Another server's partitions take the next free numbers.
  auto other = NumberSlots(dir, "hsm2", {"par1"}, {});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->at("par1"), 2);
}

TEST(SlotNumbersTest, ABatchNumbersAsOneByOneWouldWithOneFileReplacement) {
  const std::string one_by_one = NewDir("batch-seq");
  ASSERT_TRUE(NumberSlots(one_by_one, "hsm1", {"a", "b"}, {}).ok());
  const std::string batched = NewDir("batch");
  ASSERT_TRUE(NumberSlots(batched, "hsm1", {"a", "b"}, {}).ok());
  // hsm1 drops a, hsm2 and hsm3 arrive; 7 is used in this process.
  ASSERT_TRUE(NumberSlots(one_by_one, "hsm1", {"b"}, {7}).ok());
  ASSERT_TRUE(NumberSlots(one_by_one, "HSM2", {"x", "y"}, {7}).ok());
  ASSERT_TRUE(NumberSlots(one_by_one, "hsm3", {"x"}, {7}).ok());
  struct stat before {};
  ASSERT_EQ(::stat((batched + "/slots.conf").c_str(), &before), 0);
  auto all = NumberServersSlots(
      batched, {{"hsm1", {"b"}}, {"HSM2", {"x", "y"}}, {"hsm3", {"x"}}}, {7});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(ReadAll(batched + "/slots.conf"),
            ReadAll(one_by_one + "/slots.conf"));
  EXPECT_EQ(all->at({"hsm1", "b"}), 1);
  EXPECT_EQ(all->at({"hsm2", "x"}), 0);  // a's number, given up
  EXPECT_EQ(all->at({"hsm2", "y"}), 2);
  EXPECT_EQ(all->at({"hsm3", "x"}), 3);
  // Replaced once (a new file under the name), and not again when nothing
  // changed.
  struct stat after {};
  ASSERT_EQ(::stat((batched + "/slots.conf").c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);
  ASSERT_TRUE(
      NumberServersSlots(batched, {{"hsm1", {"b"}}, {"hsm3", {"x"}}}, {7})
          .ok());
  struct stat again {};
  ASSERT_EQ(::stat((batched + "/slots.conf").c_str(), &again), 0);
  EXPECT_EQ(again.st_ino, after.st_ino);
}

TEST(SlotNumbersTest, ARevokedPartitionGivesItsNumberUp) {
  const std::string dir = NewDir("revoke");
  ASSERT_TRUE(NumberSlots(dir, "hsm1", {"a", "b"}, {}).ok());
  auto revoked = NumberSlots(dir, "hsm1", {"b"}, {});
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->at("b"), 1);  // b does not move
  auto added = NumberSlots(dir, "hsm1", {"b", "c"}, {});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(added->at("c"), 0);  // a's old number, free again
  // Numbers taken in this process are not handed out.
  auto taken = NumberSlots(dir, "hsm1", {"b", "c", "d"}, {2});
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->at("d"), 3);
}

TEST(SlotNumbersTest, ADamagedLineLosesOnlyItsOwnNumber) {
  const std::string dir = NewDir("damaged");
  std::ofstream(dir + "/slots.conf") << "5 hsm1 par1\nnonsense\n5 hsm1 dup\n";
  auto n = NumberSlots(dir, "hsm1", {"par1", "dup"}, {});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->at("par1"), 5);
  EXPECT_EQ(n->at("dup"), 0);
  EXPECT_EQ(ReadAll(dir + "/slots.conf").find("nonsense"), std::string::npos);
}

// An application that may not write the client root still uses the numbers
// recorded there (here the lock cannot be taken: its name is a directory).
TEST(SlotNumbersTest, AReadOnlyProcessUsesTheRecordedNumbers) {
  const std::string dir = NewDir("readonly");
  std::ofstream(dir + "/slots.conf") << "3 hsm1 par1\n";
  ASSERT_EQ(::mkdir((dir + "/.slots.lock").c_str(), 0700), 0);
  auto n = NumberSlots(dir, "hsm1", {"aaa", "par1"}, {});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->at("par1"), 3);
  EXPECT_EQ(n->at("aaa"), 0);
  EXPECT_EQ(ReadAll(dir + "/slots.conf"), "3 hsm1 par1\n");  // unchanged
}

// A process stopped while holding the lock must not stall a client's links:
// after a short wait the recorded numbers are read and nothing is written.
TEST(SlotNumbersTest, ALockHeldTooLongFallsBackToReading) {
  const std::string dir = NewDir("held");
  std::ofstream(dir + "/slots.conf") << "2 hsm1 par1\n";
  int fd = ::open((dir + "/.slots.lock").c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &fl), 0);
  const absl::Time start = absl::Now();
  auto n = NumberSlots(dir, "hsm1", {"par1", "new"}, {});
  const absl::Duration waited = absl::Now() - start;
  ::close(fd);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->at("par1"), 2);
  EXPECT_EQ(n->at("new"), 0);
  EXPECT_LT(waited, absl::Seconds(5));
  EXPECT_EQ(ReadAll(dir + "/slots.conf"), "2 hsm1 par1\n");
}

// Client processes number at the same time: every partition ends up with one
// number, and no two partitions share one.
TEST(SlotNumbersTest, ConcurrentProcessesAgree) {
  const std::string dir = NewDir("concurrent");
  constexpr int kProcesses = 8;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto n = NumberSlots(dir, "hsm1", {"shared"}, {});
      auto m = NumberSlots(dir, "hsm" + std::to_string(p + 2), {"x"}, {});
      ::_exit(n.ok() && m.ok() ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto all = NumberSlots(dir, "hsm1", {"shared"}, {});
  ASSERT_TRUE(all.ok());
  std::string text = ReadAll(dir + "/slots.conf");
  std::vector<int> seen;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    seen.push_back(std::stoi(line));
  }
  ASSERT_EQ(seen.size(), 1u + kProcesses) << text;
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end()) << text;
}

}  // namespace
}  // namespace trustlink::ntl::client
