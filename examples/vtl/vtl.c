/* vtl: the client's enrolment tool, written against trustlink's C ABI only.
 *
 *   vtl [--root DIR] createCert -n NAME [-k KEYTYPE] [-days N] [-force]
 *   vtl [--root DIR] addServer -n NAME -c FILE [-p PORT] [-htl] [-replace]
 *   vtl [--root DIR] deleteServer -n NAME
 *   vtl [--root DIR] listServers
 *   vtl [--root DIR] show
 *   vtl [--root DIR] verify [-repair]
 *   vtl [--root DIR] importConfig -c Chrystoki.conf
 *
 * The client root is --root, else $TRUSTLINK_CLIENT_ROOT, else /etc/trustlink/client.
 * Exit codes are in docs/client-enrolment.md (and `vtl help`). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trustlink/trustlink.h"

/* Exit codes: one table, documented in docs/client-enrolment.md. */
enum {
  kExitOk = 0,
  kExitUsage = 1,
  kExitBadInput = 2,
  kExitExists = 3,
  kExitNotFound = 4,
  kExitPermission = 5,
  kExitVerifyFailed = 6,
  kExitSystem = 7
};

static const char kUsage[] =
    "usage: vtl [--root DIR] COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  createCert -n NAME [-k KEYTYPE] [-days N] [-force]\n"
    "      make this client's key and self-signed certificate; prints both paths.\n"
    "      KEYTYPE: ed25519 (default), p256, p384, rsa2048, rsa3072, rsa4096.\n"
    "  addServer -n NAME -c FILE [-p PORT] [-htl] [-replace]\n"
    "      register an appliance's certificate (its server.pem); prints the fingerprint.\n"
    "  deleteServer -n NAME        unregister an appliance.\n"
    "  listServers                 name, port, HTL and fingerprint of each appliance.\n"
    "  show                        the client identity, the config file and the servers.\n"
    "  verify [-repair]            check files, CAFile.pem agreement, key permissions and\n"
    "                              the config; -repair rebuilds CAFile.pem.\n"
    "  importConfig -c FILE        import servers, keep-alive and timeouts from the\n"
    "                              'LunaSA Client' section of a Chrystoki.conf.\n"
    "\n"
    "The client root is --root DIR, else $TRUSTLINK_CLIENT_ROOT, else " TL_CLIENT_ROOT_DEFAULT
    ".\n"
    "Exit codes: 0 ok, 1 usage, 2 bad input (name, file, certificate, config), 3 already\n"
    "exists, 4 not found, 5 permission (key mode, symlink), 6 verify found problems,\n"
    "7 system or internal error.\n";

static int ExitCodeFor(tl_status status) {
  switch (status) {
    case TL_OK:
      return kExitOk;
    case TL_E_INVALID_ARGUMENT:
    case TL_E_NAME_INVALID:
    case TL_E_CERT_INVALID:
    case TL_E_CERT_EXPIRED:
    case TL_E_CERT_NAME_MISMATCH:
    case TL_E_CONFIG_INVALID:
    case TL_E_PARSE:
    case TL_E_OUT_OF_RANGE:
      return kExitBadInput;
    case TL_E_ALREADY_EXISTS:
      return kExitExists;
    case TL_E_NOT_FOUND:
      return kExitNotFound;
    case TL_E_PERMISSION_DENIED:
    case TL_E_KEY_PERMISSIONS:
      return kExitPermission;
    case TL_E_TRUST_STORE_INCONSISTENT:
      return kExitVerifyFailed;
    default:
      return kExitSystem;
  }
}

static int Fail(const tl_client_root *root, tl_status status) {
  char message[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  if (root == NULL || tl_client_root_last_error(root, message, sizeof(message), &len) != TL_OK ||
      len == 0) {
    snprintf(message, sizeof(message), "operation failed");
  }
  fprintf(stderr, "vtl: error: %s (%s)\n", message, tl_status_name(status));
  return ExitCodeFor(status);
}

static int Usage(const char *problem) {
  if (problem != NULL) fprintf(stderr, "vtl: %s\n\n", problem);
  fputs(kUsage, stderr);
  return kExitUsage;
}

/* ReadFile reads a whole file (at most 4 MiB) into a NUL-terminated malloc'd buffer. */
static int ReadFile(const char *path, char **out, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "vtl: error: cannot open %s: %s; check the path\n", path, strerror(errno));
    return errno == ENOENT ? kExitNotFound : errno == EACCES ? kExitPermission : kExitSystem;
  }
  size_t cap = 1 << 22;
  char *buf = malloc(cap + 1);
  if (buf == NULL) {
    fclose(f);
    return kExitSystem;
  }
  size_t len = fread(buf, 1, cap + 1, f);
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    fprintf(stderr, "vtl: error: cannot read %s\n", path);
    return kExitSystem;
  }
  if (len > cap) {
    free(buf);
    fprintf(stderr, "vtl: error: %s is larger than 4 MiB; it is not a certificate\n", path);
    return kExitBadInput;
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return kExitOk;
}

static void FormatDate(int64_t unix_seconds, char *buf, size_t len) {
  time_t t = (time_t)unix_seconds;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

/* Options shared by the commands. */
struct Args {
  const char *name;
  const char *file;
  const char *key_type;
  long days;
  long port;
  int htl;
  int force;
  int replace;
  int repair;
};

static int ParseLong(const char *text, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return 0;
  *out = v;
  return 1;
}

static int CmdCreateCert(tl_client_root *root, const struct Args *a) {
  if (a->name == NULL) return Usage("createCert needs -n NAME (this client's host name or IP)");
  tl_identity_options *options = NULL;
  if (tl_identity_options_new(&options) != TL_OK) return kExitSystem;
  int32_t key_type = TL_KEY_TYPE_DEFAULT;
  if (a->key_type != NULL && tl_key_type_from_string(a->key_type, &key_type) != TL_OK) {
    tl_identity_options_free(options);
    fprintf(stderr,
            "vtl: error: unknown key type '%s'; choose ed25519, p256, p384, rsa2048, rsa3072 "
            "or rsa4096\n",
            a->key_type);
    return kExitBadInput;
  }
  tl_status s = tl_identity_options_set_key_type(options, key_type);
  if (s == TL_OK && a->days > 0) s = tl_identity_options_set_validity_days(options, (int32_t)a->days);
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    tl_identity_options_last_error(options, message, sizeof(message), &len);
    fprintf(stderr, "vtl: error: %s (%s)\n", message, tl_status_name(s));
    tl_identity_options_free(options);
    return ExitCodeFor(s);
  }
  tl_cert_result *result = NULL;
  s = tl_client_root_create_cert(root, options, a->name, a->force, &result);
  tl_identity_options_free(options);
  if (s != TL_OK) return Fail(root, s);
  for (size_t i = 0; i < tl_cert_result_warning_count(result); ++i) {
    const char *w = NULL;
    if (tl_cert_result_warning(result, i, &w) == TL_OK) fprintf(stderr, "vtl: warning: %s\n", w);
  }
  char date[64];
  FormatDate(tl_cert_result_not_after(result), date, sizeof(date));
  printf("Private Key created and written to: %s\n", tl_cert_result_key_path(result));
  printf("Certificate created and written to: %s\n", tl_cert_result_cert_path(result));
  printf("Name: %s  Key type: %s  Valid until: %s\n", tl_cert_result_name(result),
         tl_cert_result_key_type(result), date);
  printf("SHA-256 fingerprint: %s\n", tl_cert_result_fingerprint(result));
  printf("Next: copy %s to the appliance and register it there (client register).\n",
         tl_cert_result_cert_path(result));
  tl_cert_result_free(result);
  return kExitOk;
}

static int CmdAddServer(tl_client_root *root, const struct Args *a) {
  if (a->name == NULL || a->file == NULL) {
    return Usage("addServer needs -n NAME (the appliance's host name or IP) and -c FILE "
                 "(its server.pem)");
  }
  char *pem = NULL;
  size_t pem_len = 0;
  int rc = ReadFile(a->file, &pem, &pem_len);
  if (rc != kExitOk) return rc;
  tl_server_result *result = NULL;
  tl_status s = tl_client_root_add_server(root, a->name, pem, pem_len, (int32_t)a->port,
                                          a->htl, a->replace, &result);
  free(pem);
  if (s != TL_OK) return Fail(root, s);
  for (size_t i = 0; i < tl_server_result_warning_count(result); ++i) {
    const char *w = NULL;
    if (tl_server_result_warning(result, i, &w) == TL_OK) {
      fprintf(stderr, "vtl: warning: %s\n", w);
    }
  }
  if (tl_server_result_unchanged(result)) {
    printf("Server %s already has this certificate; its settings were updated.\n",
           tl_server_result_name(result));
  } else if (tl_server_result_replaced(result)) {
    printf("Certificate of server %s replaced (previous SHA-256 fingerprint: %s).\n",
           tl_server_result_name(result), tl_server_result_previous_fingerprint(result));
  } else {
    printf("New server %s successfully added to server list.\n", tl_server_result_name(result));
  }
  printf("Certificate: %s\n", tl_server_result_path(result));
  printf("SHA-256 fingerprint: %s\n", tl_server_result_fingerprint(result));
  printf("Compare it with the appliance's own fingerprint before you trust this link.\n");
  tl_server_result_free(result);
  return kExitOk;
}

static int CmdDeleteServer(tl_client_root *root, const struct Args *a) {
  if (a->name == NULL) return Usage("deleteServer needs -n NAME");
  tl_status s = tl_client_root_delete_server(root, a->name);
  if (s != TL_OK) return Fail(root, s);
  printf("Server %s successfully removed from server list.\n", a->name);
  return kExitOk;
}

static void PrintServers(const tl_server_list *list, int show_probe) {
  size_t n = tl_server_list_count(list);
  if (n == 0) {
    printf("No servers are registered. Run vtl addServer -n NAME -c server.pem.\n");
    return;
  }
  printf("%-40s %5s %-4s %s\n", "Server", "Port", "HTL", "SHA-256 fingerprint");
  for (size_t i = 0; i < n; ++i) {
    const char *name = "", *fp = "", *message = "", *probe_message = "";
    int32_t port = 0, htl = 0, probed = 0;
    tl_status local = TL_OK, probe = TL_OK;
    tl_server_list_name(list, i, &name);
    tl_server_list_port(list, i, &port);
    tl_server_list_htl(list, i, &htl);
    tl_server_list_fingerprint(list, i, &fp);
    tl_server_list_local_status(list, i, &local, &message);
    tl_server_list_probe_status(list, i, &probed, &probe, &probe_message);
    printf("%-40s %5d %-4s %s\n", name, port, htl ? "yes" : "no", fp[0] ? fp : "-");
    if (local != TL_OK) printf("  ! %s (%s)\n", message, tl_status_name(local));
    if (show_probe && probed) {
      printf("  %s %s\n", probe == TL_OK ? "probe ok:" : "! probe failed:", probe_message);
    }
  }
}

static int CmdListServers(tl_client_root *root) {
  tl_server_list *list = NULL;
  tl_status s = tl_client_root_list_servers(root, &list);
  if (s != TL_OK) return Fail(root, s);
  PrintServers(list, 0);
  tl_server_list_free(list);
  return kExitOk;
}

static int CmdShow(tl_client_root *root) {
  const char *path = "", *config = "";
  tl_client_root_path(root, &path);
  tl_client_root_config_path(root, &config);
  printf("Client root: %s\n", path);
  printf("Config file: %s\n", config);
  tl_cert_result *id = NULL;
  tl_status s = tl_client_root_identity(root, &id);
  if (s == TL_OK) {
    char date[64];
    FormatDate(tl_cert_result_not_after(id), date, sizeof(date));
    printf("Client identity: %s (%s), valid until %s\n", tl_cert_result_name(id),
           tl_cert_result_key_type(id), date);
    printf("  Certificate: %s\n", tl_cert_result_cert_path(id));
    printf("  Private key: %s\n", tl_cert_result_key_path(id));
    printf("  SHA-256 fingerprint: %s\n", tl_cert_result_fingerprint(id));
    tl_cert_result_free(id);
  } else if (s == TL_E_NOT_FOUND) {
    printf("Client identity: none; run vtl createCert -n <this host's name>\n");
  } else {
    return Fail(root, s);
  }
  printf("Servers:\n");
  return CmdListServers(root);
}

static int CmdVerify(tl_client_root *root, const struct Args *a) {
  tl_verify_report *report = NULL;
  tl_status s = tl_client_root_verify(root, a->repair, &report);
  if (s != TL_OK) return Fail(root, s);
  tl_string_list *repairs = NULL;
  if (tl_verify_report_repairs(report, &repairs) == TL_OK) {
    for (size_t i = 0; i < tl_string_list_count(repairs); ++i) {
      const char *line = NULL;
      if (tl_string_list_get(repairs, i, &line) == TL_OK) printf("[FIXED] %s\n", line);
    }
    tl_string_list_free(repairs);
  }
  for (size_t i = 0; i < tl_verify_report_check_count(report); ++i) {
    int32_t level = 0;
    const char *object = "", *message = "";
    if (tl_verify_report_check(report, i, &level, &object, &message) != TL_OK) continue;
    printf("%s %s: %s\n",
           level == TL_CHECK_OK ? "[ OK ]" : level == TL_CHECK_WARNING ? "[WARN]" : "[FAIL]",
           object, message);
  }
  tl_server_list *servers = NULL;
  if (tl_verify_report_servers(report, &servers) == TL_OK) {
    for (size_t i = 0; i < tl_server_list_count(servers); ++i) {
      const char *name = "", *fp = "", *message = "", *probe_message = "";
      int32_t port = 0, probed = 0;
      tl_status local = TL_OK, probe = TL_OK;
      tl_server_list_name(servers, i, &name);
      tl_server_list_port(servers, i, &port);
      tl_server_list_fingerprint(servers, i, &fp);
      tl_server_list_local_status(servers, i, &local, &message);
      tl_server_list_probe_status(servers, i, &probed, &probe, &probe_message);
      if (local != TL_OK) {
        printf("[FAIL] server %s: %s (%s)\n", name, message, tl_status_name(local));
      } else {
        printf("[ OK ] server %s port %d: certificate trusted, SHA-256 %s\n", name, port, fp);
      }
      if (probed) {
        printf("%s server %s: %s\n", probe == TL_OK ? "[ OK ]" : "[FAIL]", name,
               probe_message);
      }
    }
    tl_server_list_free(servers);
  }
  int ok = tl_verify_report_ok(report);
  tl_verify_report_free(report);
  if (!ok) {
    printf("verify: problems found; each [FAIL] line says what to do.\n");
    return kExitVerifyFailed;
  }
  printf("verify: the local half of every link is in order.\n");
  return kExitOk;
}

static int CmdImport(tl_client_root *root, const struct Args *a) {
  if (a->file == NULL) return Usage("importConfig needs -c FILE (a Chrystoki.conf)");
  char *text = NULL;
  size_t len = 0;
  int rc = ReadFile(a->file, &text, &len);
  if (rc != kExitOk) return rc;
  tl_string_list *report = NULL;
  tl_status s = tl_client_root_import_chrystoki(root, text, len, a->file, &report);
  free(text);
  if (s != TL_OK) return Fail(root, s);
  for (size_t i = 0; i < tl_string_list_count(report); ++i) {
    const char *line = NULL;
    if (tl_string_list_get(report, i, &line) == TL_OK) printf("%s\n", line);
  }
  tl_string_list_free(report);
  return kExitOk;
}

int main(int argc, char **argv) {
  const char *root_path = NULL;
  const char *command = NULL;
  struct Args a;
  memset(&a, 0, sizeof(a));
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                \
  do {                                                              \
    if (next == NULL) {                                             \
      fprintf(stderr, "vtl: option %s needs a value\n\n", arg);     \
      return Usage(NULL);                                           \
    }                                                               \
    ++i;                                                            \
  } while (0)
    if (strcmp(arg, "--root") == 0 || strcmp(arg, "-root") == 0) {
      NEED_VALUE();
      root_path = next;
    } else if (strcmp(arg, "-n") == 0) {
      NEED_VALUE();
      a.name = next;
    } else if (strcmp(arg, "-c") == 0) {
      NEED_VALUE();
      a.file = next;
    } else if (strcmp(arg, "-k") == 0) {
      NEED_VALUE();
      a.key_type = next;
    } else if (strcmp(arg, "-days") == 0) {
      NEED_VALUE();
      if (!ParseLong(next, 1, TL_CERT_VALIDITY_MAX_DAYS, &a.days)) {
        fprintf(stderr, "vtl: error: -days %s: give 1 to %d days (20 years)\n", next,
                TL_CERT_VALIDITY_MAX_DAYS);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "-p") == 0) {
      NEED_VALUE();
      if (!ParseLong(next, 1, 65535, &a.port)) {
        fprintf(stderr, "vtl: error: -p %s: a port is 1 to 65535 (NTLS listens on %d)\n",
                next, TL_DEFAULT_SERVER_PORT);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "-htl") == 0) {
      a.htl = 1;
    } else if (strcmp(arg, "-force") == 0) {
      a.force = 1;
    } else if (strcmp(arg, "-replace") == 0) {
      a.replace = 1;
    } else if (strcmp(arg, "-repair") == 0) {
      a.repair = 1;
    } else if (strcmp(arg, "help") == 0 || strcmp(arg, "-h") == 0 ||
               strcmp(arg, "--help") == 0) {
      fputs(kUsage, stdout);
      return kExitOk;
    } else if (arg[0] == '-') {
      fprintf(stderr, "vtl: unknown option %s\n\n", arg);
      return Usage(NULL);
    } else if (command == NULL) {
      command = arg;
    } else {
      fprintf(stderr, "vtl: unexpected argument %s\n\n", arg);
      return Usage(NULL);
    }
#undef NEED_VALUE
  }
  if (command == NULL) return Usage("no command given");
  int create = strcmp(command, "createCert") == 0 || strcmp(command, "addServer") == 0 ||
               strcmp(command, "importConfig") == 0;
  int known = create || strcmp(command, "deleteServer") == 0 ||
              strcmp(command, "listServers") == 0 || strcmp(command, "show") == 0 ||
              strcmp(command, "verify") == 0;
  if (!known) {
    fprintf(stderr, "vtl: unknown command %s\n\n", command);
    return Usage(NULL);
  }
  tl_client_root *root = NULL;
  if (tl_client_root_new(&root) != TL_OK) return kExitSystem;
  tl_status s = tl_client_root_open(root, root_path, create);
  int rc;
  if (s != TL_OK) {
    rc = Fail(root, s);
  } else if (strcmp(command, "createCert") == 0) {
    rc = CmdCreateCert(root, &a);
  } else if (strcmp(command, "addServer") == 0) {
    rc = CmdAddServer(root, &a);
  } else if (strcmp(command, "deleteServer") == 0) {
    rc = CmdDeleteServer(root, &a);
  } else if (strcmp(command, "listServers") == 0) {
    rc = CmdListServers(root);
  } else if (strcmp(command, "show") == 0) {
    rc = CmdShow(root);
  } else if (strcmp(command, "verify") == 0) {
    rc = CmdVerify(root, &a);
  } else {
    rc = CmdImport(root, &a);
  }
  tl_client_root_free(root);
  return rc;
}
