#ifndef TRUSTLINK_EXAMPLES_NTLSH_COMMAND_H_
#define TRUSTLINK_EXAMPLES_NTLSH_COMMAND_H_

// What every ntlsh command group shares: parsed flags, the command table entry,
// the shell's registry handle and the way a command fails. A handler throws
// Failure; Shell::Run catches it and prints the result line (or the JSON
// object) and picks the exit status.

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "examples/cli/cli_args.h"
#include "examples/ntlsh/output.h"
#include "trustlink/trustlink.h"

namespace ntlsh {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = CLI_EXIT_USAGE;

// Failure is a command's error: a tl_status (or a usage error) and the message.
struct Failure {
  int exit_code;
  tl_status status;
  std::string message;
};

struct Args {
  std::map<std::string, std::string> values;  // flag -> value ("" for switches)
  bool Has(const std::string& f) const { return values.count(f) > 0; }
  std::string Get(const std::string& f) const {
    auto it = values.find(f);
    return it == values.end() ? "" : it->second;
  }
};

// A flag: its name (without '-') and whether it takes a value.
struct Flag {
  const char* name;
  bool takes_value;
};

// Command is one entry of the command table: the words that name it, its
// flags, whether it changes state, what it does, and its usage line.
struct Command {
  std::vector<std::string> path;
  std::vector<Flag> flags;
  bool writes;
  std::function<void(const Args&, Output*)> handler;
  const char* usage;
};

// ShellAccess is what the command groups use of the shell: the appliance root
// and its registry handle. `registry` opens (or refreshes) the registry;
// `check` turns a failed registry call into a Failure with the registry's
// message. Both throw Failure.
struct ShellAccess {
  std::string root;
  std::function<tl_registry*(bool create)> registry;
  std::function<void(tl_status, tl_registry*)> check;
};

// UsageError fails with exit status 2 (unknown or malformed input).
[[noreturn]] inline void UsageError(const std::string& message) {
  throw Failure{kExitUsage, TL_E_INVALID_ARGUMENT, message};
}

// CommandFailed fails with exit status 1 and `status`.
[[noreturn]] inline void CommandFailed(tl_status status,
                                       const std::string& message) {
  throw Failure{kExitFailed, status, message};
}

// RequireFlag returns the value of `flag`, or fails with a usage error when it
// is missing or empty.
inline std::string RequireFlag(const Args& args, const char* flag) {
  if (!args.Has(flag) || args.Get(flag).empty()) {
    UsageError(std::string("missing -") + flag);
  }
  return args.Get(flag);
}

// ParseNumber returns `text`, the value of -`flag`, as a number; anything but
// a whole number that fits an int32_t is a usage error.
inline long long ParseNumber(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < -2147483647LL ||
      v > 2147483647LL) {
    UsageError("-" + flag + " takes a number, not '" + text + "'");
  }
  return v;
}

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_COMMAND_H_
