// ntlsd: the NTLS daemon. Serves the appliance registry at --root over the
// trust link, and the Host Trust Link from <root>/htl, using only the C ABI
// (trustlink/trustlink.h).
//
//   ntlsd --root DIR [--listen ADDR:PORT] [--name APPLIANCE] [--threads N]
//         [--foreground | --daemon] [--pidfile FILE] [--log FILE]
//         [--status-socket PATH] [--journal] [--metrics ADDR:PORT]
//         [--busy-poll MICROSECONDS]
//
// One ntlsd serves a root: a second one on the same root exits 1 at once
// (instance_lock.h). --daemon returns when the daemon serves (exit 0) or
// failed to start (its exit status). Under systemd (Type=notify) it reports
// readiness on $NOTIFY_SOCKET, and log lines carry syslog priority prefixes
// when stderr is the journal (or with --journal).
//
// Signals: SIGTERM/SIGINT stop cleanly (in-flight calls finish, up to 10 s);
// SIGHUP reopens the --log file (for logrotate). The status socket (default
// <root>/ntlsd.sock) answers `status`, `stop` and `restart` (docs/server.md):
// restart drains the links and listens again on the registry's bind address
// and port, which is how `ntls bind` changes take effect. --metrics serves
// the counters to Prometheus (metrics_endpoint.h); off by default.
// --busy-poll US lets each loop poll without blocking for up to US
// microseconds (at most TL_BUSY_POLL_MAX_US) after serving traffic, before it
// sleeps: lower one-call-at-a-time latency for CPU (docs/server.md,
// "Busy-poll"); off by default.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "examples/cli/cli_args.h"
#include "examples/ntlsd/control_socket.h"
#include "examples/ntlsd/daemonize.h"
#include "examples/ntlsd/instance.h"
#include "examples/ntlsd/instance_lock.h"
#include "examples/ntlsd/metrics_endpoint.h"
#include "examples/systemd/service_log.h"
#include "examples/systemd/service_notify.h"
#include "trustlink/trustlink.h"

namespace ntlsd {
namespace {

constexpr uint32_t kDrainMs = 10000;  // in-flight calls finish within this

// LogEvent writes the library's log lines as ntlsd's own, with the syslog
// priority of their level (the journal reads it from the "<N>" prefix).
void LogEvent(void*, const tl_log_event* event) {
  static const int kPriority[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR,
                                  LOG_ALERT};
  const int32_t level = tl_log_event_level(event);
  const char* line = "";
  tl_log_event_line(event, &line);
  service_log(
      kPriority[level >= TL_LOG_DEBUG && level <= TL_LOG_ALERT ? level
                                                               : TL_LOG_INFO],
      "%s", line);
}

// RaiseDescriptorLimit lifts the soft RLIMIT_NOFILE to the hard limit: the
// server's connection caps are derived from it (docs/server.md, "Connection
// budget"), and the common soft limit of 1024 is far below what an appliance
// serves. The daemon does it, not the library: a process-wide limit is the
// embedder's to choose (select() users break above 1024). ntlsd only poll()s.
void RaiseDescriptorLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max) {
    return;
  }
  const rlim_t soft = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    service_log(LOG_WARNING,
                "cannot raise the descriptor limit from %llu to %llu: %s; the "
                "connection caps follow the lower limit",
                static_cast<unsigned long long>(soft),
                static_cast<unsigned long long>(rl.rlim_max), strerror(errno));
  }
}

void Usage(FILE* to) {
  fprintf(to,
          "usage: ntlsd --root DIR [--listen ADDR:PORT] [--name APPLIANCE] "
          "[--threads N]\n"
          "             [--foreground | --daemon] [--pidfile FILE] "
          "[--log FILE]\n"
          "             [--status-socket PATH] [--journal]\n"
          "             [--metrics ADDR:PORT] [--busy-poll MICROSECONDS]\n"
          "       ntlsd --help | --version\n"
          "Options take - or --, and =VALUE (--root=DIR).\n");
}

struct Flags {
  ServeConfig serve;
  std::string listen, log_file, pidfile, status_path, metrics;
  bool daemon = false;
  bool journal = false;
};

// ParseFlags reads the command line with the option parser all four example
// programs share (examples/cli): --root DIR, --root=DIR and -root DIR alike.
// Exits CLI_EXIT_USAGE on a usage error, 0 on --help and --version.
Flags ParseFlags(int argc, char** argv) {
  Flags f;
  std::string threads;
  std::string busy_poll;
  struct TextOption {
    const char* name;
    std::string* value;
  };
  const TextOption text_options[] = {
      {"root", &f.serve.root},  {"listen", &f.listen},
      {"name", &f.serve.name},  {"log", &f.log_file},
      {"pidfile", &f.pidfile},  {"status-socket", &f.status_path},
      {"threads", &threads},    {"metrics", &f.metrics},
      {"busy-poll", &busy_poll}};
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const char* value = nullptr;
    int got = 0;
    for (const TextOption& o : text_options) {
      got = CliTakeOption(argc, argv, &i, o.name, 1, &value);
      if (got == 1) {
        *o.value = value;
      }
      if (got != 0) {
        break;
      }
    }
    if (got == 0 && CliTakeOption(argc, argv, &i, "daemon", 0, &value) == 1) {
      f.daemon = true;
    } else if (got == 0 &&
               CliTakeOption(argc, argv, &i, "foreground", 0, &value) == 1) {
      f.daemon = false;
    } else if (got == 0 &&
               CliTakeOption(argc, argv, &i, "journal", 0, &value) == 1) {
      f.journal = true;
    } else if (got == 0 && CliIsHelp(arg)) {
      Usage(stdout);
      exit(0);
    } else if (got == 0 && CliIsVersion(arg)) {
      CliPrintVersion("ntlsd");
      exit(0);
    } else if (got != 1) {
      fprintf(stderr, "ntlsd: %s '%s'\n",
              got < 0 ? "no value for" : "unknown argument", arg);
      Usage(stderr);
      exit(CLI_EXIT_USAGE);
    }
  }
  if (!threads.empty()) {
    f.serve.threads = atoi(threads.c_str());
  }
  if (!busy_poll.empty()) {
    // Digits only: atoi would take "50us" as 50 and "x" as 0 (off).
    char* end = nullptr;
    errno = 0;
    const unsigned long us = strtoul(busy_poll.c_str(), &end, 10);
    if (busy_poll[0] < '0' || busy_poll[0] > '9' || *end != '\0' ||
        errno != 0 || us > UINT32_MAX) {
      fprintf(stderr,
              "ntlsd: --busy-poll wants a number of microseconds (0 to %d; "
              "0 is off), not '%s'\n",
              TL_BUSY_POLL_MAX_US, busy_poll.c_str());
      exit(CLI_EXIT_USAGE);
    }
    f.serve.busy_poll_us = static_cast<uint32_t>(us);
  }
  if (f.serve.root.empty()) {
    fprintf(stderr, "ntlsd: --root is required\n");
    Usage(stderr);
    exit(CLI_EXIT_USAGE);
  }
  if (f.status_path.empty()) {
    f.status_path = f.serve.root + "/ntlsd.sock";
  }
  return f;
}

bool WritePidFile(const std::string& path) {
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(),
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    return false;
  }
  const std::string text = std::to_string(getpid()) + "\n";
  const bool ok = write(fd, text.data(), text.size()) ==
                      static_cast<ssize_t>(text.size()) &&
                  fsync(fd) == 0;
  close(fd);
  return ok && rename(tmp.c_str(), path.c_str()) == 0;
}

// Build makes, attaches and starts one serving generation.
std::unique_ptr<Instance> Build(const ServeConfig& config,
                                const std::string& listen, std::string* error) {
  std::unique_ptr<Instance> in = Instance::New(config, listen, error);
  if (in == nullptr || !in->Attach(error) || !in->Start(error)) {
    return nullptr;
  }
  return in;
}

// Daemon is the serving process after start-up: its current instance, the
// control socket and the counters `status` reports.
class Daemon {
 public:
  Daemon(Flags flags, std::unique_ptr<Instance> instance)
      : flags_(std::move(flags)),
        instance_(std::move(instance)),
        started_(time(nullptr)),
        serving_since_(started_) {}

  ControlSocket* control() { return &control_; }
  MetricsEndpoint* metrics() { return &metrics_; }

  // Serve runs until a stop signal or `stop` request; returns the exit code.
  int Serve(int signal_fd);

 private:
  std::string StatusReply() const;
  // Restart drains the current instance and starts a new one; on failure it
  // comes back on the old address. Returns the reply for the requester, or
  // an empty string when ntlsd cannot serve at all any more.
  std::string Restart();

  const Flags flags_;
  std::unique_ptr<Instance> instance_;
  ControlSocket control_;
  MetricsEndpoint metrics_;  // fd -1 without --metrics
  const time_t started_;
  time_t serving_since_;
  int restarts_ = 0;
  bool on_fallback_ = false;  // a restart failed; serving on the old address
};

std::string Daemon::StatusReply() const {
  const char* bind = on_fallback_                 ? "previous"
                     : instance_->from_registry() ? "registry"
                                                  : "command-line";
  return "state running\npid " + std::to_string(getpid()) + "\nstarted " +
         std::to_string(started_) + "\nserving_since " +
         std::to_string(serving_since_) + "\nrestarts " +
         std::to_string(restarts_) + "\nbind " + bind + "\n" +
         instance_->StatusLines();
}

std::string Daemon::Restart() {
  service_notify("RELOADING=1\nSTATUS=restarting: draining links");
  const std::string old = instance_->Listen();
  service_log(LOG_INFO, "restart: draining links on %s (up to %u ms)",
              old.c_str(), kDrainMs);
  instance_->Stop(kDrainMs);
  instance_.reset();
  std::string error;
  // --listen ADDR:0 let the kernel pick a port; the clients were given that
  // port, so a restart keeps it.
  const bool kernel_port =
      flags_.listen.size() > 2 &&
      flags_.listen.compare(flags_.listen.size() - 2, 2, ":0") == 0;
  instance_ = Build(flags_.serve, kernel_port ? old : flags_.listen, &error);
  std::string reply;
  if (instance_ == nullptr) {
    service_log(LOG_ERR, "restart failed: %s; coming back on %s", error.c_str(),
                old.c_str());
    std::string again;
    instance_ = Build(flags_.serve, old, &again);
    if (instance_ == nullptr) {
      service_log(LOG_ERR, "cannot serve on %s either: %s; stopping",
                  old.c_str(), again.c_str());
      return "";
    }
    on_fallback_ = true;
    reply = "error restart failed: " + error + "; ntlsd serves again on " +
            old + " (fix the setting and restart again)\n";
  } else {
    on_fallback_ = false;
    reply = "restarted\n";
  }
  ++restarts_;
  serving_since_ = time(nullptr);
  const std::string now = instance_->Listen();
  service_log(LOG_INFO, "ready: listening on %s", now.c_str());
  service_notify(("READY=1\nSTATUS=listening on " + now).c_str());
  return reply + StatusReply();
}

int Daemon::Serve(int signal_fd) {
  while (true) {
    pollfd fds[3] = {{signal_fd, POLLIN, 0},
                     {control_.fd(), POLLIN, 0},
                     {metrics_.fd(), POLLIN, 0}};  // poll skips a -1
    const int n = poll(fds, 3, -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(signal_fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo != SIGHUP) {
          service_log(LOG_INFO, "stopping: finishing in-flight calls");
          break;
        }
        if (flags_.log_file.empty()) {
          service_log(LOG_INFO,
                      "SIGHUP: no --log file to reopen (registry changes "
                      "apply live; bind changes at service restart ntls)");
        } else if (service_log_open(flags_.log_file.c_str()) != 0) {
          service_log(LOG_ERR, "SIGHUP: cannot reopen log file %s: %s",
                      flags_.log_file.c_str(), strerror(errno));
        } else {
          service_log(LOG_INFO, "SIGHUP: reopened log file %s",
                      flags_.log_file.c_str());
        }
      }
    }
    if (fds[2].revents & POLLIN) {
      metrics_.Serve(instance_->MetricsText());
    }
    if (!(fds[1].revents & POLLIN)) {
      continue;
    }
    std::string request;
    const int conn = control_.Accept(&request);
    if (conn < 0) {
      continue;
    }
    if (request == "status") {
      ControlSocket::Reply(conn, StatusReply());
    } else if (request == "stop") {
      service_log(LOG_INFO, "stop requested on the control socket");
      ControlSocket::Reply(conn,
                           "stopping\npid " + std::to_string(getpid()) + "\n");
      break;
    } else if (request == "restart") {
      const std::string reply = Restart();
      if (reply.empty()) {
        ControlSocket::Reply(conn,
                             "error restart failed and ntlsd could not serve "
                             "again; it has stopped (see its log)\n");
        return 1;
      }
      ControlSocket::Reply(conn, reply);
    } else {
      ControlSocket::Reply(conn, "error unknown request '" +
                                     request.substr(0, 32) +
                                     "'; send status, stop or restart\n");
    }
  }
  service_notify("STOPPING=1");
  return instance_->Stop(kDrainMs) ? 0 : 1;
}

int Main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  if (!flags.log_file.empty() &&
      service_log_open(flags.log_file.c_str()) != 0) {
    fprintf(stderr, "ntlsd: cannot open log file %s: %s\n",
            flags.log_file.c_str(), strerror(errno));
    return 1;
  }
  // After --log: the prefixes are for the journal, which is stderr only when
  // no --log file replaced it.
  service_log_init("ntlsd", flags.journal ? 1 : -1);
  tl_set_log_callback(LogEvent, nullptr, TL_LOG_INFO);
  RaiseDescriptorLimit();
  std::string error;
  std::unique_ptr<Instance> instance =
      Instance::New(flags.serve, flags.listen, &error);
  if (instance == nullptr) {
    service_log(LOG_ERR, "%s", error.c_str());
    return 1;
  }
  // Before anything that a second daemon must not touch: the HTL boot, the
  // pid file, the status socket.
  InstanceLock lock;
  if (!lock.Acquire(flags.serve.root, &error)) {
    service_log(LOG_ERR, "%s", error.c_str());
    return 1;
  }
  if (!instance->Attach(&error)) {
    service_log(LOG_ERR, "%s", error.c_str());
    return 1;
  }
  service_log(LOG_INFO, "serving HTL from %s/htl", flags.serve.root.c_str());
  service_log(LOG_INFO,
              "server certificate: %s/server/server.pem (copy it to each "
              "client and register it there with vtl addServer)",
              flags.serve.root.c_str());

  // Fork before any thread exists: Start makes the event loops.
  Daemonizer daemonizer;
  if (flags.daemon && !daemonizer.Fork()) {
    service_log(LOG_ERR, "cannot daemonize: %s", strerror(errno));
    return 1;
  }
  lock.RecordPid(getpid());
  if (!flags.pidfile.empty() && !WritePidFile(flags.pidfile)) {
    service_log(LOG_ERR, "cannot write pid file %s: %s", flags.pidfile.c_str(),
                strerror(errno));
    return 1;
  }
  struct PidFileRemover {
    const std::string& path;
    ~PidFileRemover() {
      if (!path.empty()) {
        unlink(path.c_str());
      }
    }
  } remove_pidfile{flags.pidfile};

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  // Before the loops start, so they inherit it.
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  const int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

  if (!instance->Start(&error)) {
    service_log(LOG_ERR, "%s", error.c_str());
    return 1;
  }
  struct stat root_st {};
  stat(flags.serve.root.c_str(), &root_st);
  Daemon daemon(flags, std::move(instance));
  if (!daemon.control()->Open(flags.status_path, root_st.st_uid, &error)) {
    service_log(LOG_ERR, "%s", error.c_str());
    return 1;
  }
  if (!flags.metrics.empty()) {
    if (!daemon.metrics()->Open(flags.metrics, &error)) {
      service_log(LOG_ERR, "%s", error.c_str());
      return 1;
    }
    service_log(LOG_INFO, "metrics: http://%s/metrics",
                daemon.metrics()->address().c_str());
  }
  service_log(LOG_INFO, "ready");
  service_notify(("READY=1\nMAINPID=" + std::to_string(getpid())).c_str());
  daemonizer.Ready();
  if (flags.daemon && flags.log_file.empty()) {
    // The starter has its answer; nobody reads this stderr any more.
    const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd >= 0) {
      dup2(null_fd, STDERR_FILENO);
      close(null_fd);
    }
  }
  const int code = daemon.Serve(sfd);
  service_log(LOG_INFO, "stopped");
  return code;
}

}  // namespace
}  // namespace ntlsd

int main(int argc, char** argv) { return ntlsd::Main(argc, argv); }
