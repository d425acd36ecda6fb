/* htlclient: the client's Host Trust Link agent, built on trustlink's C ABI
 * only.
 *
 *   htlclient [-root DIR] [-server NAME ...] [-interval MS]
 *             [-runtime DIR | -memory] [-socket PATH] [-once]
 *             [-log FILE] [-journal]
 *
 * It serves every server marked for HTL in the client configuration
 * (DIR/trustlink.conf, ServerHtlNN = 1, as `vtl addServer ... -htl` writes
 * it); -server NAME (repeatable) serves only the named servers instead. DIR
 * defaults to $TRUSTLINK_CLIENT_ROOT, else /etc/trustlink/client.
 *
 * It watches DIR/htl/ for NAME.ott (the token file from the appliance,
 * renamed), exchanges it for the HTL secret over an htl/1 link pinned like
 * the application links, heartbeats every interval, and answers HTL proof
 * requests from local applications on a socket only this user can reach
 * (-socket; default $XDG_RUNTIME_DIR/trustlink/htl-agent.sock).
 *
 * Secrets never reach a disk. They are kept in -runtime DIR (default
 * $XDG_RUNTIME_DIR/trustlink), which must be on tmpfs: they survive a restart
 * of the agent but not a reboot. -memory keeps them in this process only (a
 * restarted agent then needs a new one-time token).
 *
 * -once polls once, prints the state and exits 0 if every server is up.
 * Without -once it runs until SIGINT or SIGTERM, printing state changes.
 *
 * As a service (examples/systemd/htlclient.service): it reports readiness on
 * $NOTIFY_SOCKET once the proof socket serves; when stderr is the journal
 * (JOURNAL_STREAM) or with -journal, its lines go to stderr with syslog
 * priority prefixes (<3> errors, <4> a refused token or a retrying link, <6>
 * the rest). -log FILE sends its output to FILE, which SIGHUP reopens. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "examples/cli/cli_args.h"
#include "examples/systemd/service_log.h"
#include "examples/systemd/service_notify.h"
#include "trustlink/trustlink.h"

#define MAX_SERVERS 64
/* A server name is a host name or an IP literal. */
#define SERVER_NAME_MAX 256

static volatile sig_atomic_t g_stop = 0;
static volatile sig_atomic_t g_reopen = 0;
static void on_signal(int sig) {
  if (sig == SIGHUP) {
    g_reopen = 1;
  } else {
    g_stop = 1;
  }
}

/* open_log makes `path` this process's stdout and stderr (service_log_open
 * replaces stderr; the state lines go to stdout). Returns 0 or -1. */
static int open_log(const char *path) {
  if (service_log_open(path) != 0) return -1;
  fflush(stdout);
  return dup2(STDERR_FILENO, STDOUT_FILENO) < 0 ? -1 : 0;
}

static const char *state_name(int32_t state) {
  switch (state) {
    case TL_HTL_AGENT_UP:
      return "up";
    case TL_HTL_AGENT_RETRYING:
      return "retrying";
    case TL_HTL_AGENT_REFUSED:
      return "refused (a new one-time token is needed)";
    default:
      return "waiting for a token";
  }
}

/* usage prints the usage to out and returns the usage-error exit status. */
/* hint_for writes the command-line advice for an HTL failure with server
 * (the library's message names API fixes; the commands are the programs'),
 * as "; hint: ...", or "" when the message says all there is. */
static void hint_for(tl_status failure, const char *server, char *out,
                     size_t out_len) {
  out[0] = '\0';
  switch (failure) {
    case TL_E_CONFIG_INVALID:
      snprintf(out, out_len, "; hint: vtl createCert -n <this host's name>");
      break;
    case TL_E_NOT_FOUND:
      snprintf(out, out_len, "; hint: vtl addServer -n %s -c <server.pem> -htl",
               server);
      break;
    case TL_E_OTT_EXPIRED:
    case TL_E_OTT_USED:
    case TL_E_OTT_INVALID:
    case TL_E_HTL_CLONE_DETECTED:
      snprintf(out, out_len,
               "; hint: the appliance admin makes a new token with ntlsh htl "
               "generateOTT -client <label>");
      break;
    default:
      break;
  }
}

static int usage(FILE *out) {
  fprintf(out,
          "usage: htlclient [-root DIR] [-server NAME ...] [-interval MS]\n"
          "                 [-runtime DIR | -memory] [-socket PATH] "
          "[-once]\n"
          "                 [-log FILE] [-journal]\n"
          "       htlclient --help | --version\n"
          "Options take - or --, and =VALUE (--root=DIR).\n");
  return CLI_EXIT_USAGE;
}

static void fail(const char *what, tl_status st, const char *message) {
  service_log(LOG_ERR, "%s: %s: %s", what, tl_status_name(st), message);
}

/* say prints a line of the running agent: to stdout as before, or to the
 * journal with its priority ("htlclient: " is then the journal prefix). */
static void say(int priority, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void say(int priority, const char *format, ...) {
  char line[4096];
  va_list ap;
  va_start(ap, format);
  vsnprintf(line, sizeof(line), format, ap);
  va_end(ap);
  if (service_log_prefixes()) {
    const char *text = strncmp(line, "htlclient: ", 11) == 0 ? line + 11 : line;
    service_log(priority, "%s", text);
  } else {
    printf("%s\n", line);
    fflush(stdout);
  }
}

/* report prints each server's state; returns the number of servers that are up.
 * With `changes_only`, it prints only servers whose state or failure changed.
 */
static int report(tl_htl_agent *agent, const char **servers, int n,
                  int32_t *last_state, tl_status *last_failure,
                  int changes_only) {
  int up = 0;
  for (int i = 0; i < n; ++i) {
    int32_t state = 0;
    uint64_t generation = 0;
    tl_status failure = TL_OK;
    char msg[TL_ERROR_MESSAGE_MAX];
    msg[0] = '\0';
    if (tl_htl_agent_status(agent, servers[i], &state, &generation, &failure,
                            msg, sizeof(msg)) != TL_OK) {
      continue;
    }
    if (state == TL_HTL_AGENT_UP) ++up;
    if (changes_only && state == last_state[i] && failure == last_failure[i])
      continue;
    last_state[i] = state;
    last_failure[i] = failure;
    char gen[48] = "";
    if (generation != 0)
      snprintf(gen, sizeof(gen), " (generation %llu)",
               (unsigned long long)generation);
    char why[TL_ERROR_MESSAGE_MAX + 384] = "";
    if (failure != TL_OK) {
      char hint[320];
      hint_for(failure, servers[i], hint, sizeof(hint));
      snprintf(why, sizeof(why), "; last error %s: %s%s",
               tl_status_name(failure), msg, hint);
    }
    if (service_log_prefixes()) {
      const int priority =
          state == TL_HTL_AGENT_REFUSED || state == TL_HTL_AGENT_RETRYING
              ? LOG_WARNING
              : LOG_INFO;
      service_log(priority, "%s: HTL %s%s%s", servers[i], state_name(state),
                  gen, why);
    } else {
      printf("%s: HTL %s%s%s\n", servers[i], state_name(state), gen, why);
      fflush(stdout);
    }
  }
  return up;
}

/* config_servers appends the names of the servers marked for HTL in the
 * client configuration at `root` (ServerHtlNN = 1) to servers, copied into
 * `names`. Returns 0, or 1 after printing why the configuration could not be
 * read. */
static int config_servers(const char *root, char names[][SERVER_NAME_MAX],
                          const char **servers, int *num_servers) {
  char err[TL_ERROR_MESSAGE_MAX];
  size_t err_len = 0;
  tl_client_root *config = NULL;
  tl_server_list *list = NULL;
  tl_status st = tl_client_root_new(&config);
  if (st == TL_OK) st = tl_client_root_open(config, root, 0);
  if (st == TL_OK) st = tl_client_root_list_servers(config, &list);
  if (st != TL_OK) {
    if (config != NULL) {
      tl_client_root_last_error(config, err, sizeof(err), &err_len);
    } else {
      snprintf(err, sizeof(err), "out of memory");
    }
    fail("cannot read the client configuration", st, err);
    tl_client_root_free(config);
    return 1;
  }
  int rc = 0;
  const size_t n = tl_server_list_count(list);
  for (size_t i = 0; i < n && rc == 0; ++i) {
    const char *name = NULL;
    int32_t htl = 0;
    if (tl_server_list_htl(list, i, &htl) != TL_OK || htl == 0 ||
        tl_server_list_name(list, i, &name) != TL_OK) {
      continue;
    }
    if (*num_servers == MAX_SERVERS || strlen(name) >= SERVER_NAME_MAX) {
      fprintf(stderr, "htlclient: too many HTL servers, or a name too long\n");
      rc = 1;
      break;
    }
    strcpy(names[*num_servers], name);
    servers[*num_servers] = names[*num_servers];
    ++*num_servers;
  }
  tl_server_list_free(list);
  tl_client_root_free(config);
  return rc;
}

int main(int argc, char **argv) {
  const char *root = NULL;
  const char *runtime = NULL;
  const char *socket_path = NULL;
  const char *servers[MAX_SERVERS];
  int num_servers = 0;
  long interval_ms = 10000;
  int once = 0;
  int memory_only = 0;
  int journal = 0;
  const char *log_file = NULL;
  /* The option parser all four example programs share (examples/cli):
   * -root DIR, --root DIR and --root=DIR alike, in any letter case. */
  const char *interval_text = NULL;
  const char *const kTextNames[] = {"root", "interval", "runtime", "socket",
                                    "log"};
  const char **const kTextValues[] = {&root, &interval_text, &runtime,
                                      &socket_path, &log_file};
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const char *v = NULL;
    int got = 0;
    for (int k = 0; k < 5 && got == 0; ++k) {
      got = CliTakeOption(argc, argv, &i, kTextNames[k], 1, kTextValues[k]);
    }
    if (got == 0) got = CliTakeOption(argc, argv, &i, "server", 1, &v);
    if (got == 1 && v != NULL) {
      if (num_servers == MAX_SERVERS) return usage(stderr);
      servers[num_servers++] = v;
    } else if (got == 0 && CliTakeOption(argc, argv, &i, "once", 0, &v) == 1) {
      once = 1;
    } else if (got == 0 &&
               CliTakeOption(argc, argv, &i, "memory", 0, &v) == 1) {
      memory_only = 1;
    } else if (got == 0 &&
               CliTakeOption(argc, argv, &i, "journal", 0, &v) == 1) {
      journal = 1;
    } else if (got == 0 && CliIsHelp(a)) {
      usage(stdout);
      return 0;
    } else if (got == 0 && CliIsVersion(a)) {
      CliPrintVersion("htlclient");
      return 0;
    } else if (got != 1) {
      fprintf(stderr, "htlclient: %s %s\n",
              got < 0 ? "no value for" : "unknown argument", a);
      return usage(stderr);
    }
  }
  if (interval_text != NULL) interval_ms = strtol(interval_text, NULL, 10);
  if (memory_only && runtime != NULL) return usage(stderr);
  if (log_file != NULL && open_log(log_file) != 0) {
    fprintf(stderr, "htlclient: cannot open log file %s: %s\n", log_file,
            strerror(errno));
    return 1;
  }
  /* After -log: the prefixes are for the journal's stream only. */
  service_log_init("htlclient", journal ? 1 : -1);

  char root_buf[4096];
  size_t root_len = 0;
  if (root == NULL) {
    if (tl_client_root_default_path(root_buf, sizeof(root_buf), &root_len) !=
        TL_OK) {
      fprintf(stderr, "htlclient: the client root path is too long\n");
      return 1;
    }
    root = root_buf;
  }
  static char config_names[MAX_SERVERS][SERVER_NAME_MAX];
  if (num_servers == 0) {
    const int rc = config_servers(root, config_names, servers, &num_servers);
    if (rc == 0 && num_servers == 0) {
      fprintf(stderr,
              "htlclient: no server in %s/trustlink.conf is marked for HTL "
              "(ServerHtlNN = 1); run vtl addServer -n <server> -c "
              "<server.pem> -htl, or name one with -server\n",
              root);
    }
    if (rc != 0 || num_servers == 0) {
      return 1;
    }
  }

  char runtime_buf[4096];
  if (runtime == NULL && !memory_only) {
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg == NULL || xdg[0] == '\0') {
      fprintf(stderr,
              "htlclient: XDG_RUNTIME_DIR is not set, so there is no default "
              "place for the HTL secrets; give -runtime DIR (a directory on "
              "tmpfs, e.g. /run/user/%u/trustlink), or -memory to keep them "
              "in this process only (a restarted agent then needs a new "
              "one-time token)\n",
              (unsigned)getuid());
      return 1;
    }
    if ((size_t)snprintf(runtime_buf, sizeof(runtime_buf), "%s/trustlink",
                         xdg) >= sizeof(runtime_buf)) {
      fprintf(stderr, "htlclient: XDG_RUNTIME_DIR is too long\n");
      return 1;
    }
    runtime = runtime_buf;
  }

  char err[TL_ERROR_MESSAGE_MAX];
  size_t err_len = 0;
  tl_htl_agent_options *options = NULL;
  tl_status st = tl_htl_agent_options_new(&options);
  if (st != TL_OK) {
    fail("options", st, "out of memory");
    return 1;
  }
  st = tl_htl_agent_options_set_client_root(options, root);
  for (int i = 0; st == TL_OK && i < num_servers; ++i) {
    st = tl_htl_agent_options_add_appliance(options, servers[i]);
  }
  if (st == TL_OK)
    st = tl_htl_agent_options_set_poll_interval_ms(options, interval_ms);
  if (st == TL_OK && runtime != NULL)
    st = tl_htl_agent_options_set_runtime_dir(options, runtime);
  if (st == TL_OK && socket_path != NULL) {
    st = tl_htl_agent_options_set_proof_socket(options, socket_path);
  }
  tl_htl_agent *agent = NULL;
  if (st == TL_OK) st = tl_htl_agent_new(options, &agent);
  if (st != TL_OK) {
    tl_htl_agent_options_last_error(options, err, sizeof(err), &err_len);
    fail("cannot create the agent", st, err);
    tl_htl_agent_options_free(options);
    return 1;
  }
  tl_htl_agent_options_free(options);

  int32_t last_state[MAX_SERVERS];
  tl_status last_failure[MAX_SERVERS];
  for (int i = 0; i < num_servers; ++i) {
    last_state[i] = -1;
    last_failure[i] = -1;
  }

  if (once) {
    st = tl_htl_agent_poll(agent);
    if (st != TL_OK) {
      tl_htl_agent_last_error(agent, err, sizeof(err), &err_len);
      fail("poll", st, err);
    }
    const int up =
        report(agent, servers, num_servers, last_state, last_failure, 0);
    tl_htl_agent_free(agent);
    return up == num_servers ? 0 : 1;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  st = tl_htl_agent_start(agent);
  if (st != TL_OK) {
    tl_htl_agent_last_error(agent, err, sizeof(err), &err_len);
    fail("cannot start", st, err);
    tl_htl_agent_free(agent);
    return 1;
  }
  char sock[512];
  size_t sock_len = 0;
  if (socket_path == NULL &&
      tl_htl_default_proof_socket(sock, sizeof(sock), &sock_len) == TL_OK) {
    socket_path = sock;
  }
  char names[MAX_SERVERS * (SERVER_NAME_MAX + 1) + 1] = "";
  for (int i = 0; i < num_servers; ++i) {
    strcat(names, " ");
    strcat(names, servers[i]);
  }
  say(LOG_INFO, "htlclient: watching %s/htl/ every %ld ms; proofs on %s", root,
      interval_ms,
      socket_path != NULL && socket_path[0] != '\0' ? socket_path
                                                    : "(disabled)");
  say(LOG_INFO, "htlclient: HTL servers:%s; secrets %s%s", names,
      runtime != NULL ? "in " : "in memory only",
      runtime != NULL ? runtime : "");
  /* Ready: the agent runs and its proof socket serves. */
  service_notify("READY=1");
  while (!g_stop) {
    if (g_reopen) {
      g_reopen = 0;
      if (log_file == NULL) {
        say(LOG_INFO, "htlclient: SIGHUP: no -log file to reopen");
      } else if (open_log(log_file) != 0) {
        service_log(LOG_ERR, "SIGHUP: cannot reopen log file %s: %s", log_file,
                    strerror(errno));
      } else {
        say(LOG_INFO, "htlclient: SIGHUP: reopened log file %s", log_file);
      }
    }
    report(agent, servers, num_servers, last_state, last_failure, 1);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL); /* pacing the status display, not synchronisation */
  }
  service_notify("STOPPING=1");
  tl_htl_agent_stop(agent);
  tl_htl_agent_free(agent);
  say(LOG_INFO, "htlclient: stopped");
  return 0;
}
