#ifndef TRUSTLINK_EXAMPLES_NTLSH_COMMAND_H_
#define TRUSTLINK_EXAMPLES_NTLSH_COMMAND_H_

// What every ntlsh command group shares: parsed flags, the command table entry
// and the way a command fails. A handler throws Failure; Shell::Run catches it
// and prints the result line (or the JSON object) and picks the exit status.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "examples/ntlsh/output.h"
#include "trustlink/trustlink.h"

namespace ntlsh {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

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

// UsageError fails with exit status 2 (unknown or malformed input).
[[noreturn]] inline void UsageError(const std::string& message) {
  throw Failure{kExitUsage, TL_E_INVALID_ARGUMENT, message};
}

// CommandFailed fails with exit status 1 and `status`.
[[noreturn]] inline void CommandFailed(tl_status status,
                                       const std::string& message) {
  throw Failure{kExitFailed, status, message};
}

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_COMMAND_H_
