// The wipe-on-fork pid page exists before the first check (fork_owner.cc):
// made lazily, a fork() while another thread made it could leave the child
// waiting for ever on the lazy initialisation's guard. A binary of its own,
// so that nothing has called CurrentPid() before the test looks.

#include <fstream>
#include <sstream>
#include <string>

#include "capi/internal/fork_owner.h"
#include "gtest/gtest.h"

namespace trustlink::capi::internal {
namespace {

// WipeOnForkMappings counts this process's mappings that the kernel marks
// wipe-on-fork ("wf" in the VmFlags of /proc/self/smaps).
int WipeOnForkMappings() {
  std::ifstream smaps("/proc/self/smaps");
  int count = 0;
  std::string line;
  while (std::getline(smaps, line)) {
    if (line.rfind("VmFlags:", 0) != 0) {
      continue;
    }
    std::istringstream flags(line.substr(8));
    std::string flag;
    while (flags >> flag) {
      if (flag == "wf") {
        ++count;
      }
    }
  }
  return count;
}

TEST(ForkOwnerLoadTest, PidPageIsMadeAtLoadNotAtTheFirstCheck) {
  const int before = WipeOnForkMappings();
  const pid_t pid = CurrentPid();
  EXPECT_EQ(pid, getpid());
  const int after = WipeOnForkMappings();
  if (after == 0) {
    GTEST_SKIP() << "this kernel keeps no wipe-on-fork page (Linux < 4.14, "
                    "or smaps without VmFlags): CurrentPid calls getpid()";
  }
  EXPECT_EQ(before, after)
      << "the first CurrentPid() made the pid page (" << before
      << " wipe-on-fork mappings before, " << after
      << " after): it must be made when the library loads, so no fork() can "
         "copy a half-made lazy initialisation into a child";
}

}  // namespace
}  // namespace trustlink::capi::internal
