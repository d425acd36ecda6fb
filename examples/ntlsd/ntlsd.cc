// ntlsd: the NTLS daemon. Serves the appliance registry at --root over the
// trust link, and the Host Trust Link from <root>/htl, using only the C ABI
// (trustlink/trustlink.h).
//
//   ntlsd --root DIR [--listen ADDR:PORT] [--name APPLIANCE] [--threads N]
//         [--foreground | --daemon --pidfile FILE] [--log FILE]
//         [--status-socket PATH]
//
// Signals: SIGTERM/SIGINT stop cleanly (in-flight calls finish, up to 10 s);
// SIGHUP is logged and otherwise a no-op, since registry and certificate
// changes apply live. The status socket (default <root>/ntlsd.sock) answers
// `status` (docs/server.md).

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "examples/cli/cli_args.h"
#include "trustlink/trustlink.h"

namespace {

void Usage(FILE* out) {
  fprintf(out,
          "usage: ntlsd --root DIR [--listen ADDR:PORT] [--name APPLIANCE] "
          "[--threads N]\n"
          "             [--foreground | --daemon --pidfile FILE] [--log FILE]\n"
          "             [--status-socket PATH]\n"
          "       ntlsd --help | --version\n"
          "Options take - or --, and =VALUE (--root=DIR).\n");
}

void LogLine(const char* what) { fprintf(stderr, "ntlsd: %s\n", what); }

std::string LastError(const tl_server_options* o, const tl_server* s) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  buf[0] = '\0';
  if (s != nullptr) {
    tl_server_last_error(s, buf, sizeof(buf), &len);
  } else {
    tl_server_options_last_error(o, buf, sizeof(buf), &len);
  }
  return buf;
}

// ParseListen splits "ADDR:PORT" or "[V6]:PORT".
bool ParseListen(const std::string& text, std::string* addr, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  char* end = nullptr;
  const long p = strtol(text.c_str() + colon + 1, &end, 10);
  if (host.empty() || *end != '\0' || p < 0 || p > 65535) {
    return false;
  }
  *addr = host;
  *port = static_cast<uint16_t>(p);
  return true;
}

std::string StatusText(tl_server* server) {
  tl_server_status* st = nullptr;
  if (tl_server_status_new(server, &st) != TL_OK) {
    return "error cannot read status\nend\n";
  }
  const char* listen = "";
  uint32_t admitted = 0, unauth = 0;
  size_t n = 0;
  tl_server_status_listen(st, &listen);
  tl_server_status_connections(st, &admitted, &unauth);
  tl_server_status_num_clients(st, &n);
  std::string out = std::string("listen ") + listen + "\n" + "connections " +
                    std::to_string(admitted) + "\n" + "unauthenticated " +
                    std::to_string(unauth) + "\n" + "clients " +
                    std::to_string(n) + "\n";
  for (size_t i = 0; i < n; ++i) {
    const char* label = "";
    const char* fp = "";
    uint32_t conns = 0;
    if (tl_server_status_client(st, i, &label, &fp, &conns) == TL_OK) {
      out += "client " + std::to_string(conns) + " " + fp + " " + label + "\n";
    }
  }
  out += "end\n";
  tl_server_status_free(st);
  return out;
}

int OpenStatusSocket(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    fprintf(stderr, "ntlsd: status socket path '%s' is too long\n",
            path.c_str());
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size());
  unlink(path.c_str());           // a stale socket from a crashed run
  const mode_t old = umask(077);  // status is for the appliance admin only
  const int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old);
  if (rc != 0 || listen(fd, 16) != 0) {
    fprintf(stderr, "ntlsd: cannot listen on status socket %s: %s\n",
            path.c_str(), strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

void ServeStatus(int listen_fd, tl_server* server) {
  int c = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) {
    return;
  }
  timeval tv{2, 0};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  char buf[64];
  const ssize_t n = recv(c, buf, sizeof(buf) - 1, 0);
  std::string reply;
  if (n > 0 && strncmp(buf, "status", 6) == 0) {
    reply = StatusText(server);
  } else {
    reply = "error unknown command; send 'status'\nend\n";
  }
  ssize_t ignored = send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
  (void)ignored;
  close(c);
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

}  // namespace

int main(int argc, char** argv) {
  std::string root, listen, name, log_file, pidfile, status_path;
  bool daemon_mode = false;
  int threads = 0;
  // One option parser for all four example programs (examples/cli): --root
  // DIR, --root=DIR and -root DIR alike; usage errors exit CLI_EXIT_USAGE.
  struct TextOption {
    const char* name;
    std::string* value;
  };
  std::string threads_text;
  const TextOption text_options[] = {
      {"root", &root},       {"listen", &listen},
      {"name", &name},       {"log", &log_file},
      {"pidfile", &pidfile}, {"status-socket", &status_path},
      {"threads", &threads_text}};
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const char* value = nullptr;
    int got = 0;
    for (const TextOption& o : text_options) {
      got = CliTakeOption(argc, argv, &i, o.name, 1, &value);
      if (got == 1) *o.value = value;
      if (got != 0) break;
    }
    if (got == 0 && CliTakeOption(argc, argv, &i, "daemon", 0, &value) == 1) {
      daemon_mode = true;
    } else if (got == 0 &&
               CliTakeOption(argc, argv, &i, "foreground", 0, &value) == 1) {
      daemon_mode = false;
    } else if (got == 0 && CliIsHelp(arg)) {
      Usage(stdout);
      return 0;
    } else if (got == 0 && CliIsVersion(arg)) {
      CliPrintVersion("ntlsd");
      return 0;
    } else if (got != 1) {
      fprintf(stderr, "ntlsd: %s '%s'\n",
              got < 0 ? "no value for" : "unknown argument", arg);
      Usage(stderr);
      return CLI_EXIT_USAGE;
    }
  }
  if (!threads_text.empty()) threads = atoi(threads_text.c_str());
  if (root.empty() || (daemon_mode && pidfile.empty())) {
    Usage(stderr);
    return CLI_EXIT_USAGE;
  }
  if (status_path.empty()) {
    status_path = root + "/ntlsd.sock";
  }
  if (!log_file.empty()) {
    int fd =
        open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      fprintf(stderr, "ntlsd: cannot open log file %s: %s\n", log_file.c_str(),
              strerror(errno));
      return 1;
    }
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  setvbuf(stderr, nullptr, _IOLBF, 0);

  tl_server_options* opts = nullptr;
  if (tl_server_options_new(&opts) != TL_OK) {
    return 1;
  }
  bool ok =
      tl_server_options_set_root(
          opts, root.c_str(), name.empty() ? nullptr : name.c_str()) == TL_OK &&
      tl_server_options_set_threads(opts, threads) == TL_OK;
  if (ok && !listen.empty()) {
    std::string addr;
    uint16_t port = 0;
    if (!ParseListen(listen, &addr, &port)) {
      fprintf(stderr,
              "ntlsd: --listen wants ADDR:PORT or [V6ADDR]:PORT, not '%s'\n",
              listen.c_str());
      return 2;
    }
    ok = tl_server_options_set_listen(opts, addr.c_str(), port) == TL_OK;
  }
  tl_server* server = nullptr;
  if (!ok || tl_server_new(opts, &server) != TL_OK) {
    fprintf(stderr, "ntlsd: %s\n", LastError(opts, nullptr).c_str());
    tl_server_options_free(opts);
    return 1;
  }
  tl_server_options_free(opts);
  // The Host Trust Link, from the state ntlsh's htl commands manage.
  if (tl_server_enable_htl(server, nullptr) != TL_OK) {
    fprintf(stderr, "ntlsd: %s\n", LastError(nullptr, server).c_str());
    tl_server_free(server);
    return 1;
  }
  fprintf(stderr, "ntlsd: serving HTL from %s/htl\n", root.c_str());
  // PKCS#11: each partition's token (<root>/pkcs11/) as the stream service
  // "pkcs11" (docs/pkcs11.md). Freed after the server, which uses it.
  tl_p11_service* p11 = nullptr;
  if (tl_p11_service_new(&p11) != TL_OK ||
      tl_p11_service_open(p11, root.c_str()) != TL_OK ||
      tl_p11_service_add_to_server(p11, server) != TL_OK) {
    char buf[TL_ERROR_MESSAGE_MAX] = "out of memory";
    size_t len = 0;
    tl_p11_service_last_error(p11, buf, sizeof(buf), &len);
    fprintf(stderr, "ntlsd: pkcs11 service: %s\n", buf);
    tl_p11_service_free(p11);
    tl_server_free(server);
    return 1;
  }
  fprintf(
      stderr,
      "ntlsd: server certificate: %s/server/server.pem (copy it to each client "
      "and register it there with vtl addServer)\n",
      root.c_str());

  if (daemon_mode) {
    // Fork before any thread exists: tl_server_start makes the event loops.
    if (daemon(1, log_file.empty() ? 0 : 1) != 0) {
      fprintf(stderr, "ntlsd: cannot daemonize: %s\n", strerror(errno));
      return 1;
    }
    if (log_file.empty()) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, STDERR_FILENO);
      close(devnull);
    }
  }
  if (!pidfile.empty() && !WritePidFile(pidfile)) {
    fprintf(stderr, "ntlsd: cannot write pid file %s: %s\n", pidfile.c_str(),
            strerror(errno));
    return 1;
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask,
              nullptr);  // before the loops start, so they inherit it
  signal(SIGPIPE, SIG_IGN);
  const int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

  if (tl_server_start(server) != TL_OK) {
    fprintf(stderr, "ntlsd: %s\n", LastError(nullptr, server).c_str());
    tl_server_free(server);
    tl_p11_service_free(p11);
    return 1;
  }
  const int status_fd = OpenStatusSocket(status_path);
  LogLine("ready");

  int exit_code = 0;
  while (true) {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {status_fd, POLLIN, 0}};
    const int n = poll(fds, status_fd >= 0 ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
          LogLine(
              "SIGHUP: nothing to reload; registry and certificate changes "
              "apply live");
          continue;
        }
        LogLine("stopping: finishing in-flight calls");
        break;
      }
    }
    if (status_fd >= 0 && (fds[1].revents & POLLIN)) {
      ServeStatus(status_fd, server);
    }
  }
  if (tl_server_stop(server, 10000) != TL_OK) {
    exit_code = 1;
  }
  tl_server_free(server);
  tl_p11_service_free(p11);
  if (status_fd >= 0) {
    close(status_fd);
    unlink(status_path.c_str());
  }
  if (!pidfile.empty()) {
    unlink(pidfile.c_str());
  }
  LogLine("stopped");
  return exit_code;
}
