// ntlsh's service commands; see service_commands.h.
#include "examples/ntlsh/service_commands.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "examples/ntlsd/instance_lock.h"
#include "trustlink/trustlink.h"

namespace ntlsh {
namespace {

// kStopSeconds covers ntlsd's drain (10 s for in-flight calls) and its exit.
constexpr int kStopSeconds = 20;
constexpr int kRestartSeconds = 30;  // the drain, then a new listener

std::string Iso(long long unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  tm parts{};
  char buf[32] = "";
  gmtime_r(&t, &parts);
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buf;
}

std::string SocketPath(const ShellAccess& shell, const Args& a) {
  return a.Has("socket") ? a.Get("socket") : DefaultNtlsdSocket(shell.root);
}

// Running says whether an ntlsd serves the shell's root, by its lock; fails
// when it cannot tell.
bool Running(const ShellAccess& shell, pid_t* pid) {
  *pid = 0;
  std::string error;
  switch (ntlsd::ProbeLock(shell.root, pid, &error)) {
    case ntlsd::LockState::kHeld:
      return true;
    case ntlsd::LockState::kFree:
      return false;
    case ntlsd::LockState::kUnknown:
      break;
  }
  CommandFailed(TL_E_PERMISSION_DENIED,
                "cannot tell whether ntls is running: " + error);
}

[[noreturn]] void NotRunning(const ShellAccess& shell, const char* what,
                             Output* out) {
  out->Field("Service", "service", "ntls");
  out->Field("Status", "status", "stopped");
  CommandFailed(TL_E_UNAVAILABLE,
                std::string("ntls is not running for ") + shell.root +
                    (what[0] ? std::string("; nothing to ") + what : "") +
                    " (start it with: ntlsh service start ntls)");
}

// WaitStopped waits until no ntlsd holds the root's lock.
bool WaitStopped(const ShellAccess& shell, int seconds) {
  const timespec step{0, 50 * 1000 * 1000};
  for (int i = 0; i < seconds * 20; ++i) {
    pid_t pid = 0;
    if (!Running(shell, &pid)) return true;
    nanosleep(&step, nullptr);
  }
  return false;
}

// FindNtlsd is -ntlsd PATH, else $TRUSTLINK_NTLSD, else the ntlsd next to
// this ntlsh.
std::string FindNtlsd(const Args& a) {
  std::string path = a.Get("ntlsd");
  const char* env = std::getenv("TRUSTLINK_NTLSD");
  std::string beside;
  char self[PATH_MAX] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    beside.assign(self, static_cast<size_t>(n));
    beside = beside.substr(0, beside.rfind('/') + 1) + "ntlsd";
  }
  if (path.empty() && env != nullptr && *env != '\0') path = env;
  if (path.empty()) path = beside;
  if (path.empty() || access(path.c_str(), X_OK) != 0) {
    CommandFailed(TL_E_NOT_FOUND,
                  "cannot find the ntlsd program (tried " +
                      (path.empty() ? std::string("nothing") : path) +
                      "); put it next to ntlsh, set TRUSTLINK_NTLSD, or give "
                      "-ntlsd PATH");
  }
  return path;
}

off_t FileSize(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// LogSince returns the last lines written to `path` after `offset` (at most
// 2 KiB), for the message of a failed start.
std::string LogSince(const std::string& path, off_t offset) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return "";
  const off_t size = FileSize(path);
  const off_t from = size - offset > 2048 ? size - 2048 : offset;
  std::string text(static_cast<size_t>(size > from ? size - from : 0), '\0');
  const ssize_t n = pread(fd, &text[0], text.size(), from);
  close(fd);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// StartNtlsd runs `ntlsd --root ROOT --daemon --log ROOT/ntlsd.log`, which
// returns once the daemon serves or has failed to start.
void StartNtlsd(const ShellAccess& shell, const Args& a) {
  const std::string program = FindNtlsd(a);
  const std::string log = shell.root + "/ntlsd.log";
  const off_t before = FileSize(log);
  std::vector<std::string> args = {program,    "--root", shell.root,
                                   "--daemon", "--log",  log};
  if (a.Has("socket")) {
    args.push_back("--status-socket");
    args.push_back(a.Get("socket"));
  }
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(&s[0]);
  argv.push_back(nullptr);
  std::fflush(stdout);
  const pid_t child = fork();
  if (child < 0) {
    CommandFailed(TL_E_IO,
                  std::string("cannot start ntlsd: ") + std::strerror(errno));
  }
  if (child == 0) {
    execv(program.c_str(), argv.data());
    std::fprintf(stderr, "ntlsh: cannot run %s: %s\n", program.c_str(),
                 std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  const std::string said = LogSince(log, before);
  CommandFailed(TL_E_UNAVAILABLE,
                "ntlsd did not start (" +
                    (WIFEXITED(status)
                         ? "exit status " + std::to_string(WEXITSTATUS(status))
                         : std::string("killed by a signal")) +
                    ")" + (said.empty() ? "" : ": " + said) + " (log: " + log +
                    ")");
}

// ShowRunning asks the daemon for its status and adds it to `out`; fails if
// the daemon does not answer.
void ShowRunning(const std::string& socket, Output* out) {
  NtlsdStatus st;
  std::string error;
  if (!QueryNtlsd(socket, &st, &error)) {
    out->Field("Service", "service", "ntls");
    out->Field("Status", "status", "not answering");
    CommandFailed(TL_E_UNAVAILABLE,
                  "ntlsd holds the root's lock but does not answer: " + error);
  }
  out->Field("Service", "service", "ntls");
  out->Field("Status", "status", "running");
  AddDaemonFields(st, out);
}

}  // namespace

std::string DefaultNtlsdSocket(const std::string& root) {
  return root + "/ntlsd.sock";
}

void AddDaemonFields(const NtlsdStatus& st, Output* out) {
  out->FieldNum("PID", "pid", st.pid);
  out->Field("Listening on", "listen", st.listen);
  out->Field(
      "Bind address from", "bind_source",
      st.bind == "command-line" ? "ntlsd --listen (ntls bind does not apply)"
      : st.bind == "previous"   ? "the previous bind (the last restart failed)"
                                : "the registry (ntls bind)");
  if (st.started > 0) out->Field("Started", "started", Iso(st.started));
  if (st.serving_since > 0) {
    out->Field("Serving since", "serving_since", Iso(st.serving_since));
  }
  out->FieldNum("Restarts", "restarts", st.restarts);
  out->FieldNum("Connected clients", "connected_clients",
                static_cast<long long>(st.clients.size()));
  out->FieldNum("Links", "links", st.connections);
  out->FieldNum("Links in handshake", "links_in_handshake", st.unauthenticated);
}

std::vector<Command> ServiceCommands(const ShellAccess& shell) {
  return {
      {{"service", "list"},
       {},
       false,
       [shell](const Args&, Output* out) {
         pid_t pid = 0;
         const bool up = Running(shell, &pid);
         out->Table("services", {"Service", "Status", "PID"},
                    {"service", "status", "pid"},
                    {{"ntls", up ? "running" : "stopped",
                      up ? std::to_string(pid) : "-"}});
       },
       "service list"},
      {{"service", "status", "ntls"},
       {{"socket", true}},
       false,
       [shell](const Args& a, Output* out) {
         pid_t pid = 0;
         if (!Running(shell, &pid)) NotRunning(shell, "", out);
         ShowRunning(SocketPath(shell, a), out);
       },
       "service status ntls [-socket PATH]"},
      {{"service", "start", "ntls"},
       {{"socket", true}, {"ntlsd", true}},
       false,
       [shell](const Args& a, Output* out) {
         pid_t pid = 0;
         if (Running(shell, &pid)) {
           CommandFailed(TL_E_FAILED_PRECONDITION,
                         "ntls is already running (pid " + std::to_string(pid) +
                             "); to apply bind changes use: ntlsh service "
                             "restart ntls");
         }
         StartNtlsd(shell, a);
         ShowRunning(SocketPath(shell, a), out);
       },
       "service start ntls [-ntlsd PATH] [-socket PATH]"},
      {{"service", "stop", "ntls"},
       {{"socket", true}},
       false,
       [shell](const Args& a, Output* out) {
         pid_t pid = 0;
         if (!Running(shell, &pid)) NotRunning(shell, "stop", out);
         NtlsdStatus st;
         std::string error;
         if (!AskNtlsd(SocketPath(shell, a), "stop", 5, &st, &error)) {
           CommandFailed(
               TL_E_UNAVAILABLE,
               "cannot stop ntlsd (pid " + std::to_string(pid) + "): " + error);
         }
         if (!WaitStopped(shell, kStopSeconds)) {
           CommandFailed(TL_E_DEADLINE_EXCEEDED,
                         "ntlsd (pid " + std::to_string(pid) +
                             ") did not stop within " +
                             std::to_string(kStopSeconds) + " seconds");
         }
         out->Field("Service", "service", "ntls");
         out->Field("Status", "status", "stopped");
       },
       "service stop ntls [-socket PATH]"},
      {{"service", "restart", "ntls"},
       {{"socket", true}},
       false,
       [shell](const Args& a, Output* out) {
         pid_t pid = 0;
         if (!Running(shell, &pid)) NotRunning(shell, "restart", out);
         NtlsdStatus st;
         std::string error;
         if (!AskNtlsd(SocketPath(shell, a), "restart", kRestartSeconds, &st,
                       &error)) {
           CommandFailed(TL_E_UNAVAILABLE, "restart of ntls failed: " + error);
         }
         out->Field("Service", "service", "ntls");
         out->Field("Status", "status", "running");
         AddDaemonFields(st, out);
         if (st.bind == "command-line") {
           out->Warning(
               "ntlsd was started with --listen, which overrides ntls bind; "
               "start it without --listen to use the registry's bind");
         }
       },
       "service restart ntls [-socket PATH]"},
  };
}

}  // namespace ntlsh
