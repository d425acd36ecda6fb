// ntlsh: the appliance shell, built on trustlink's C ABI only
// (trustlink/trustlink.h).
//
//   ntlsh [--root DIR] [--json] COMMAND...     one command, then exit
//   ntlsh [--root DIR] [--json]                commands from stdin, one a line
//
// Commands and flags follow the reference product's appliance shell
// (docs/appliance.md). Exit status: 0 success, 1 the command failed, 2 usage
// error (unknown command or flag).
#include <strings.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "examples/cli/cli_args.h"
#include "examples/ntlsh/client_commands.h"
#include "examples/ntlsh/command.h"
#include "examples/ntlsh/format.h"
#include "examples/ntlsh/hints.h"
#include "examples/ntlsh/htl_commands.h"
#include "examples/ntlsh/ntls_commands.h"
#include "examples/ntlsh/output.h"
#include "examples/ntlsh/partition_commands.h"
#include "examples/ntlsh/service_commands.h"
#include "examples/ntlsh/sysconf_commands.h"
#include "trustlink/trustlink.h"

namespace ntlsh {
namespace {

class Shell {
 public:
  Shell(std::string root, bool json) : root_(std::move(root)), json_(json) {}
  ~Shell() { tl_registry_free(reg_); }

  // Run executes one command (its words) and prints its result; returns the
  // exit code.
  int Run(const std::vector<std::string>& words);

 private:
  std::vector<Command> Commands();
  tl_registry* Registry(bool create);
  void Check(tl_status status, tl_registry* reg);
  // Access is what the command groups (command.h) use of the shell.
  ShellAccess Access() {
    return {root_, [this](bool create) { return Registry(create); },
            [this](tl_status st, tl_registry* reg) { Check(st, reg); }};
  }

  std::string root_;
  bool json_;
  tl_registry* reg_ = nullptr;
};

void Shell::Check(tl_status status, tl_registry* reg) {
  if (status == TL_OK) return;
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  std::string message = "unknown error";
  if (tl_registry_last_error(reg, buf, sizeof(buf), &len) == TL_OK)
    message.assign(buf, len);
  CommandFailed(status, message);
}

tl_registry* Shell::Registry(bool create) {
  if (reg_ != nullptr) {
    tl_status st = tl_registry_refresh(reg_);
    Check(st, reg_);
    return reg_;
  }
  tl_registry* reg = nullptr;
  tl_status st = tl_registry_open(
      root_.c_str(),
      create ? TL_REGISTRY_OPEN_CREATE : TL_REGISTRY_OPEN_EXISTING, &reg);
  if (st != TL_OK) {
    char buf[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    std::string message = "cannot open the registry";
    if (reg != nullptr &&
        tl_registry_last_error(reg, buf, sizeof(buf), &len) == TL_OK) {
      message.assign(buf, len);
    }
    tl_registry_free(reg);
    CommandFailed(st, message);
  }
  reg_ = reg;
  return reg_;
}

}  // namespace

// Commands returns every group's entries; `help` and "did you mean" list them
// in this order.
std::vector<Command> Shell::Commands() {
  const ShellAccess shell = Access();
  std::vector<Command> commands;
  auto add = [&commands](std::vector<Command> group) {
    for (Command& c : group) commands.push_back(std::move(c));
  };
  add(ClientCommands(shell));
  add(PartitionCommands(shell));
  add(NtlsCommands(shell));
  add(SysconfCommands(shell));
  add(ServiceCommands(shell));
  add(HtlCommands(shell));
  return commands;
}

int Shell::Run(const std::vector<std::string>& words) {
  std::vector<Command> commands = Commands();
  Output out;
  std::string name;
  try {
    if (words.empty() || CliIsHelp(words[0].c_str())) {
      for (const Command& c : commands) out.Line(std::string("  ") + c.usage);
      out.Line("  Global options: --root DIR (default $" TL_APPLIANCE_ROOT_ENV
               " or " TL_APPLIANCE_DEFAULT_ROOT "), --json");
    } else {
      const Command* match = nullptr;
      size_t used = 0;
      for (const Command& c : commands) {
        if (c.path.size() > words.size()) continue;
        bool ok = true;
        // Command words ignore letter case, as LunaSH's do (client
        // assignpartition, htl generateOTT).
        for (size_t i = 0; i < c.path.size(); ++i) {
          if (!CliWordIs(words[i].c_str(), c.path[i].c_str())) ok = false;
        }
        if (ok && c.path.size() > used) {
          match = &c;
          used = c.path.size();
        }
      }
      if (match == nullptr) {
        std::string known;
        for (const Command& c : commands) {
          if (CliWordIs(words[0].c_str(), c.path[0].c_str())) {
            known += std::string("\n  ") + c.usage;
          }
        }
        UsageError("unknown command '" + Join(words, " ") + "'" +
                   (known.empty() ? "; try help" : "; did you mean:" + known));
      }
      for (size_t i = 0; i < used; ++i) {
        name += (i ? " " : "") + match->path[i];
      }
      Args args;
      for (size_t i = used; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (w.size() < 2 || w[0] != '-') {
          UsageError("unexpected '" + w + "'; usage: " + match->usage);
        }
        std::string given = w.substr(w[1] == '-' ? 2 : 1);
        // Flags may be shortened to any unambiguous prefix, as admins are used
        // to.
        const Flag* flag = nullptr;
        int hits = 0;
        for (const Flag& f : match->flags) {
          if (CliWordIs(given.c_str(), f.name)) {
            flag = &f;
            hits = 1;
            break;
          }
          if (strncasecmp(f.name, given.c_str(), given.size()) == 0) {
            flag = &f;
            ++hits;
          }
        }
        if (hits != 1) {
          UsageError((hits == 0 ? "unknown flag '" : "ambiguous flag '") + w +
                     "'; usage: " + match->usage);
        }
        if (flag->takes_value) {
          if (i + 1 >= words.size())
            UsageError(std::string("-") + flag->name + " needs a value");
          args.values[flag->name] = words[++i];
        } else {
          args.values[flag->name] = "";
        }
      }
      match->handler(args, &out);
    }
  } catch (const Failure& f) {
    const std::string hint = HintFor(name, f.status);
    if (json_) {
      Json j = Json::Obj();
      j.Set("command", Json::Str(name));
      j.Set("result", Json::Num(f.status));
      j.Set("status", Json::Str(tl_status_name(f.status)));
      j.Set("error", Json::Str(f.message));
      if (!hint.empty()) j.Set("hint", Json::Str(hint));
      std::printf("%s\n", j.Dump().c_str());
    } else {
      out.PrintHuman();
      std::fprintf(stderr, "Error: %s\n", f.message.c_str());
      if (!hint.empty()) std::fprintf(stderr, "Hint: %s\n", hint.c_str());
      std::printf("Command Result : %d (%s)\n", f.status,
                  tl_status_name(f.status));
    }
    std::fflush(stdout);
    return f.exit_code;
  }
  if (json_) {
    Json j = out.JsonObject();
    j.Set("command", Json::Str(name));
    j.Set("result", Json::Num(0));
    j.Set("status", Json::Str("Success"));
    std::printf("%s\n", j.Dump().c_str());
  } else {
    out.PrintHuman();
    std::printf("Command Result : 0 (Success)\n");
  }
  std::fflush(stdout);
  return kExitOk;
}

// Split splits a line into words; double or single quotes group words with
// spaces.
bool Split(const std::string& line, std::vector<std::string>* words) {
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        cur += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      if (in_word) words->push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote != 0) return false;
  if (in_word) words->push_back(cur);
  return true;
}

int Main(int argc, char** argv) {
  std::string root;
  bool json = false;
  int i = 1;
  for (; i < argc; ++i) {
    const char* value = nullptr;
    int root_given = CliTakeOption(argc, argv, &i, "root", 1, &value);
    int json_given =
        root_given != 0 ? 0 : CliTakeOption(argc, argv, &i, "json", 0, &value);
    if (root_given < 0 || json_given < 0) {
      std::fprintf(stderr, "ntlsh: %s\n",
                   root_given < 0 ? "--root needs a directory"
                                  : "--json takes no value");
      return kExitUsage;
    } else if (root_given > 0) {
      root = value;
    } else if (json_given > 0) {
      json = true;
    } else if (CliIsVersion(argv[i])) {
      CliPrintVersion("ntlsh");
      return kExitOk;
    } else if (std::strcmp(argv[i], "--help") == 0 ||
               std::strcmp(argv[i], "-h") == 0) {
      std::vector<std::string> help = {"help"};
      return Shell("", false).Run(help);
    } else {
      break;
    }
  }
  if (root.empty()) {
    char buf[4096];
    size_t len = 0;
    if (tl_appliance_default_root(buf, sizeof(buf), &len) != TL_OK) {
      std::fprintf(stderr, "ntlsh: the appliance root path is too long\n");
      return kExitUsage;
    }
    root.assign(buf, len);
  }
  Shell shell(root, json);
  if (i < argc) {
    return shell.Run(std::vector<std::string>(argv + i, argv + argc));
  }
  // Interactive: one command per line; the prompt only when a person is typing.
  bool tty = isatty(0) != 0;
  int worst = kExitOk;
  std::string line;
  while (true) {
    if (tty) {
      std::printf("ntlsh:> ");
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    std::vector<std::string> words;
    if (!Split(line, &words)) {
      std::fprintf(stderr, "Error: unbalanced quote\n");
      std::printf("Command Result : %d (%s)\n", TL_E_INVALID_ARGUMENT,
                  tl_status_name(TL_E_INVALID_ARGUMENT));
      worst = kExitUsage;
      continue;
    }
    if (words.empty() || words[0][0] == '#') continue;
    if (CliWordIs(words[0].c_str(), "exit") ||
        CliWordIs(words[0].c_str(), "quit")) {
      break;
    }
    int rc = shell.Run(words);
    if (rc > worst) worst = rc;
  }
  return worst;
}

}  // namespace ntlsh

int main(int argc, char** argv) { return ntlsh::Main(argc, argv); }
