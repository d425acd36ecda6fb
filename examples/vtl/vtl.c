/* vtl: the client's enrolment tool, written against trustlink's C ABI only.
 *
 *   vtl [--root DIR] createCert -n NAME [-k KEYTYPE] [-days N] [-force]
 *   vtl [--root DIR] addServer -n NAME -c FILE [-p PORT] [-htl] [-replace]
 *   vtl [--root DIR] deleteServer -n NAME
 *   vtl [--root DIR] listServers
 *   vtl [--root DIR] show
 *   vtl [--root DIR] verify [-repair] [-local] [-timeout MS]
 *   vtl [--root DIR] listSlots
 *   vtl [--root DIR] call -slot N -op echo|random|sha256|hmac [-data TEXT]
 * [-count N] vtl [--root DIR] importConfig -c Chrystoki.conf
 *
 * The client root is --root, else $TRUSTLINK_CLIENT_ROOT, else
 * /etc/trustlink/client. Exit codes are in docs/client-enrolment.md (and `vtl
 * help`). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "examples/vtl/vtl_p11.h"
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
    "      make this client's key and self-signed certificate; prints both "
    "paths.\n"
    "      KEYTYPE: ed25519 (default), p256, p384, rsa2048, rsa3072, rsa4096.\n"
    "  addServer -n NAME -c FILE [-p PORT] [-htl] [-replace]\n"
    "      register an appliance's certificate (its server.pem); prints the "
    "fingerprint.\n"
    "  deleteServer -n NAME        unregister an appliance.\n"
    "  listServers                 name, port, HTL and fingerprint of each "
    "appliance.\n"
    "  show                        the client identity, the config file and "
    "the servers.\n"
    "  verify [-repair] [-local] [-timeout MS]\n"
    "      check files, CAFile.pem agreement, key permissions and the config, "
    "then connect\n"
    "      to every server and say per server: OK with its slots, or why the "
    "link fails.\n"
    "      -repair rebuilds CAFile.pem; -local skips the connections; -timeout "
    "(5000 ms).\n"
    "  listSlots                   slot, server, partition, label, serial and "
    "state.\n"
    "  call -slot N -op OP [-data TEXT] [-count N]\n"
    "      call a slot's partition: OP is echo, random (-data is the byte "
    "count), sha256\n"
    "      or hmac; prints the answer (hex, or text for echo); -count N times "
    "it.\n"
    "  p11 setup [-dir DIR]        p11-kit module configs: assigned "
    "partitions as PKCS#11\n"
    "                              slots (vtl p11 help; docs/pkcs11.md).\n"
    "  importConfig -c FILE        import servers, keep-alive and timeouts "
    "from the\n"
    "                              'LunaSA Client' section of a "
    "Chrystoki.conf.\n"
    "\n"
    "The client root is --root DIR, else $TRUSTLINK_CLIENT_ROOT, "
    "else " TL_CLIENT_ROOT_DEFAULT
    ".\n"
    "Exit codes: 0 ok, 1 usage, 2 bad input (name, file, certificate, config), "
    "3 already\n"
    "exists, 4 not found, 5 permission (key mode, symlink), 6 verify found "
    "problems,\n"
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
  if (root == NULL ||
      tl_client_root_last_error(root, message, sizeof(message), &len) !=
          TL_OK ||
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

/* ReadFile reads a whole file (at most 4 MiB) into a NUL-terminated malloc'd
 * buffer. */
static int ReadFile(const char *path, char **out, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "vtl: error: cannot open %s: %s; check the path\n", path,
            strerror(errno));
    return errno == ENOENT   ? kExitNotFound
           : errno == EACCES ? kExitPermission
                             : kExitSystem;
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
    fprintf(stderr,
            "vtl: error: %s is larger than 4 MiB; it is not a certificate\n",
            path);
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
  int local;
  long timeout_ms;
  long slot;
  const char *op;
  const char *data;
  long count;
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
  if (a->name == NULL)
    return Usage("createCert needs -n NAME (this client's host name or IP)");
  tl_identity_options *options = NULL;
  if (tl_identity_options_new(&options) != TL_OK) return kExitSystem;
  int32_t key_type = TL_KEY_TYPE_DEFAULT;
  if (a->key_type != NULL &&
      tl_key_type_from_string(a->key_type, &key_type) != TL_OK) {
    tl_identity_options_free(options);
    fprintf(stderr,
            "vtl: error: unknown key type '%s'; choose ed25519, p256, p384, "
            "rsa2048, rsa3072 "
            "or rsa4096\n",
            a->key_type);
    return kExitBadInput;
  }
  tl_status s = tl_identity_options_set_key_type(options, key_type);
  if (s == TL_OK && a->days > 0)
    s = tl_identity_options_set_validity_days(options, (int32_t)a->days);
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
    if (tl_cert_result_warning(result, i, &w) == TL_OK)
      fprintf(stderr, "vtl: warning: %s\n", w);
  }
  char date[64];
  FormatDate(tl_cert_result_not_after(result), date, sizeof(date));
  printf("Private Key created and written to: %s\n",
         tl_cert_result_key_path(result));
  printf("Certificate created and written to: %s\n",
         tl_cert_result_cert_path(result));
  printf("Name: %s  Key type: %s  Valid until: %s\n",
         tl_cert_result_name(result), tl_cert_result_key_type(result), date);
  printf("SHA-256 fingerprint: %s\n", tl_cert_result_fingerprint(result));
  printf(
      "Next: copy %s to the appliance and register it there (client "
      "register).\n",
      tl_cert_result_cert_path(result));
  tl_cert_result_free(result);
  return kExitOk;
}

static int CmdAddServer(tl_client_root *root, const struct Args *a) {
  if (a->name == NULL || a->file == NULL) {
    return Usage(
        "addServer needs -n NAME (the appliance's host name or IP) and -c FILE "
        "(its server.pem)");
  }
  char *pem = NULL;
  size_t pem_len = 0;
  int rc = ReadFile(a->file, &pem, &pem_len);
  if (rc != kExitOk) return rc;
  tl_server_result *result = NULL;
  tl_status s =
      tl_client_root_add_server(root, a->name, pem, pem_len, (int32_t)a->port,
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
    printf(
        "Server %s already has this certificate; its settings were updated.\n",
        tl_server_result_name(result));
  } else if (tl_server_result_replaced(result)) {
    printf(
        "Certificate of server %s replaced (previous SHA-256 fingerprint: "
        "%s).\n",
        tl_server_result_name(result),
        tl_server_result_previous_fingerprint(result));
  } else {
    printf("New server %s successfully added to server list.\n",
           tl_server_result_name(result));
  }
  printf("Certificate: %s\n", tl_server_result_path(result));
  printf("SHA-256 fingerprint: %s\n", tl_server_result_fingerprint(result));
  printf(
      "Compare it with the appliance's own fingerprint before you trust this "
      "link.\n");
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
    printf(
        "No servers are registered. Run vtl addServer -n NAME -c "
        "server.pem.\n");
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
    printf("%-40s %5d %-4s %s\n", name, port, htl ? "yes" : "no",
           fp[0] ? fp : "-");
    if (local != TL_OK) printf("  ! %s (%s)\n", message, tl_status_name(local));
    if (show_probe && probed) {
      printf("  %s %s\n",
             probe == TL_OK ? "probe ok:" : "! probe failed:", probe_message);
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
    printf("Client identity: %s (%s), valid until %s\n",
           tl_cert_result_name(id), tl_cert_result_key_type(id), date);
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

/* LoadSettings reads the client root into link settings; NULL (after a message)
 * if unusable. */
static tl_client_settings *LoadSettings(tl_client_root *root) {
  const char *path = NULL;
  tl_client_settings *settings = NULL;
  if (tl_client_root_path(root, &path) != TL_OK ||
      tl_client_settings_new(&settings) != TL_OK) {
    fprintf(stderr, "vtl: error: out of memory\n");
    return NULL;
  }
  if (tl_client_settings_load_root(settings, path) != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    if (tl_client_settings_last_error(settings, message, sizeof(message),
                                      &len) != TL_OK) {
      snprintf(message, sizeof(message), "cannot load the client root");
    }
    fprintf(stderr, "vtl: error: %s\n", message);
    tl_client_settings_free(settings);
    return NULL;
  }
  return settings;
}

static double NowSeconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VerifyLinks connects once to every configured server and prints its outcome.
 */
static int VerifyLinks(tl_client_root *root, const struct Args *a) {
  tl_client_settings *settings = LoadSettings(root);
  if (settings == NULL) return kExitBadInput;
  tl_verify_results *results = NULL;
  double start = NowSeconds();
  tl_status s = tl_client_verify(
      settings, a->timeout_ms > 0 ? (uint32_t)a->timeout_ms : 5000, &results);
  double elapsed_ms = (NowSeconds() - start) * 1e3;
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    if (tl_client_settings_last_error(settings, message, sizeof(message),
                                      &len) != TL_OK) {
      snprintf(message, sizeof(message), "verify could not run");
    }
    fprintf(stderr, "vtl: error: %s (%s)\n", message, tl_status_name(s));
    tl_client_settings_free(settings);
    return ExitCodeFor(s);
  }
  size_t n = tl_verify_results_count(results);
  for (size_t i = 0; i < n; ++i) {
    tl_status outcome = TL_OK;
    uint16_t port = 0;
    size_t num_slots = 0;
    tl_verify_results_get(results, i, &outcome, &port, &num_slots);
    const char *name = tl_verify_results_server(results, i);
    const char *host = tl_verify_results_host(results, i);
    if (outcome == TL_OK) {
      printf("[ OK ] link %s (%s:%u): connected, %zu slot%s\n", name, host,
             (unsigned)port, num_slots, num_slots == 1 ? "" : "s");
      for (size_t j = 0; j < num_slots; ++j) {
        printf("         partition %s, label %s, serial %s\n",
               tl_verify_results_slot_partition(results, i, j),
               tl_verify_results_slot_label(results, i, j),
               tl_verify_results_slot_serial(results, i, j));
      }
    } else {
      printf("[FAIL] link %s (%s:%u): %s (%s)\n", name, host, (unsigned)port,
             tl_verify_results_message(results, i), tl_status_name(outcome));
    }
  }
  size_t failed = tl_verify_results_num_failed(results);
  tl_verify_results_free(results);
  tl_client_settings_free(settings);
  if (n == 0) {
    printf("verify: no servers are configured; run vtl addServer.\n");
    return kExitVerifyFailed;
  }
  if (failed != 0) {
    printf("verify: %zu of %zu link%s failed; each [FAIL] line says why.\n",
           failed, n, n == 1 ? "" : "s");
    return kExitVerifyFailed;
  }
  printf("verify: every link is up (%zu server%s, %.1f ms).\n", n,
         n == 1 ? "" : "s", elapsed_ms);
  return kExitOk;
}

/* OpenClient opens the links and waits for the first attempt to every server.
 */
static tl_client *OpenClient(tl_client_root *root) {
  tl_client_settings *settings = LoadSettings(root);
  if (settings == NULL) return NULL;
  tl_client *client = NULL;
  tl_status s = tl_client_open(settings, &client);
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    if (tl_client_settings_last_error(settings, message, sizeof(message),
                                      &len) != TL_OK) {
      snprintf(message, sizeof(message), "cannot open the client");
    }
    fprintf(stderr, "vtl: error: %s (%s)\n", message, tl_status_name(s));
    tl_client_settings_free(settings);
    return NULL;
  }
  tl_client_settings_free(settings);
  tl_client_wait_ready(client, 10000);
  return client;
}

/* PrintServerFailures says why servers that are not ready failed. */
static void PrintServerFailures(tl_client *client) {
  size_t n = 0;
  tl_client_server_count(client, &n);
  for (size_t i = 0; i < n; ++i) {
    int32_t state = 0;
    tl_status last = TL_OK;
    char name[256] = "", err[TL_ERROR_MESSAGE_MAX] = "";
    size_t len = 0;
    if (tl_client_server_state(client, i, &state, &last) != TL_OK ||
        state == TL_LINK_READY) {
      continue;
    }
    tl_client_server_name(client, i, name, sizeof(name), &len);
    tl_client_server_error(client, i, err, sizeof(err), &len);
    fprintf(stderr, "vtl: server %s is not connected: %s (%s)\n", name, err,
            tl_status_name(last));
  }
}

static int CmdListSlots(tl_client_root *root) {
  tl_client *client = OpenClient(root);
  if (client == NULL) return kExitBadInput;
  tl_slot_list *slots = NULL;
  if (tl_client_slots(client, &slots) != TL_OK) {
    tl_client_close(client);
    return kExitSystem;
  }
  size_t n = tl_slot_list_count(slots);
  PrintServerFailures(client);
  if (n == 0) {
    printf(
        "No slots: no server is connected or none assigns this client a "
        "partition.\n");
  } else {
    printf("%-4s %-16s %-16s %-24s %-10s %s\n", "Slot", "Server", "Partition",
           "Label", "Serial", "State");
  }
  for (size_t i = 0; i < n; ++i) {
    int32_t id = 0, state = 0;
    tl_slot_list_get(slots, i, &id, &state);
    printf("%-4d %-16s %-16s %-24s %-10s %s\n", id,
           tl_slot_list_server(slots, i), tl_slot_list_partition(slots, i),
           tl_slot_list_label(slots, i), tl_slot_list_serial(slots, i),
           state == TL_SLOT_READY         ? "ready"
           : state == TL_SLOT_SERVER_DOWN ? "server down"
                                          : "removed");
  }
  tl_slot_list_free(slots);
  tl_client_close(client);
  return n == 0 ? kExitNotFound : kExitOk;
}

static void PrintHex(const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; ++i) printf("%02x", data[i]);
  printf("\n");
}

static int CmdCall(tl_client_root *root, const struct Args *a) {
  static const char *const kOps[] = {"echo", "random", "sha256", "hmac"};
  uint32_t op = 0;
  if (a->op == NULL) return Usage("call needs -op echo|random|sha256|hmac");
  for (uint32_t i = 0; i < 4; ++i) {
    if (strcmp(a->op, kOps[i]) == 0) op = i + 1;
  }
  if (op == 0) {
    long v = 0;
    if (!ParseLong(a->op, 1, 0x7fffffffL, &v)) {
      return Usage("-op is echo, random, sha256, hmac or an op number");
    }
    op = (uint32_t)v;
  }
  uint8_t count_be[4];
  const uint8_t *data = (const uint8_t *)(a->data != NULL ? a->data : "hello");
  size_t data_len = strlen((const char *)data);
  if (op == 2) {
    long bytes = 32;
    if (a->data != NULL && !ParseLong(a->data, 0, 65536, &bytes)) {
      fprintf(stderr, "vtl: error: random -data is a byte count, 0 to 65536\n");
      return kExitBadInput;
    }
    count_be[0] = (uint8_t)(bytes >> 24);
    count_be[1] = (uint8_t)(bytes >> 16);
    count_be[2] = (uint8_t)(bytes >> 8);
    count_be[3] = (uint8_t)bytes;
    data = count_be;
    data_len = 4;
  }
  long count = a->count > 0 ? a->count : 1;
  tl_client *client = OpenClient(root);
  if (client == NULL) return kExitBadInput;
  tl_response *response = NULL;
  tl_status s = TL_OK;
  double start = NowSeconds();
  for (long i = 0; i < count; ++i) {
    tl_response_free(response);
    response = NULL;
    s = tl_client_call(client, (int32_t)a->slot, op, data, data_len, 10000,
                       &response);
    if (s != TL_OK) break;
  }
  double elapsed = NowSeconds() - start;
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    if (tl_client_last_error(client, message, sizeof(message), &len) != TL_OK ||
        len == 0) {
      snprintf(message, sizeof(message), "call failed");
    }
    fprintf(stderr, "vtl: error: slot %ld op %s: %s (%s)\n", a->slot, a->op,
            message, tl_status_name(s));
    PrintServerFailures(client);
    tl_client_close(client);
    return s == TL_E_INVALID_ARGUMENT || s == TL_E_NOT_FOUND ? kExitBadInput
                                                             : kExitSystem;
  }
  const uint8_t *out = tl_response_data(response);
  size_t out_len = tl_response_len(response);
  if (op == 1) {
    printf("%.*s\n", (int)out_len, (const char *)out);
  } else {
    PrintHex(out, out_len);
  }
  tl_response_free(response);
  if (a->count > 0) {
    printf("%ld calls in %.3f s: %.0f calls/s, %.1f us per round trip\n", count,
           elapsed, (double)count / elapsed, elapsed * 1e6 / (double)count);
  }
  tl_client_close(client);
  return kExitOk;
}

static int CmdVerify(tl_client_root *root, const struct Args *a) {
  tl_verify_report *report = NULL;
  tl_status s =
      tl_client_root_verify(root, a->repair ? TL_VERIFY_REPAIR : 0, &report);
  if (s != TL_OK) return Fail(root, s);
  tl_string_list *repairs = NULL;
  if (tl_verify_report_repairs(report, &repairs) == TL_OK) {
    for (size_t i = 0; i < tl_string_list_count(repairs); ++i) {
      const char *line = NULL;
      if (tl_string_list_get(repairs, i, &line) == TL_OK)
        printf("[FIXED] %s\n", line);
    }
    tl_string_list_free(repairs);
  }
  for (size_t i = 0; i < tl_verify_report_check_count(report); ++i) {
    int32_t level = 0;
    const char *object = "", *message = "";
    if (tl_verify_report_check(report, i, &level, &object, &message) != TL_OK)
      continue;
    printf("%s %s: %s\n",
           level == TL_CHECK_OK        ? "[ OK ]"
           : level == TL_CHECK_WARNING ? "[WARN]"
                                       : "[FAIL]",
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
        printf("[FAIL] server %s: %s (%s)\n", name, message,
               tl_status_name(local));
      } else {
        printf("[ OK ] server %s port %d: certificate trusted, SHA-256 %s\n",
               name, port, fp);
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
  if (a->local) {
    printf("verify: the local half of every link is in order.\n");
    return kExitOk;
  }
  return VerifyLinks(root, a);
}

static int CmdImport(tl_client_root *root, const struct Args *a) {
  if (a->file == NULL)
    return Usage("importConfig needs -c FILE (a Chrystoki.conf)");
  char *text = NULL;
  size_t len = 0;
  int rc = ReadFile(a->file, &text, &len);
  if (rc != kExitOk) return rc;
  tl_string_list *report = NULL;
  tl_status s =
      tl_client_root_import_chrystoki(root, text, len, a->file, &report);
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
#define NEED_VALUE()                                            \
  do {                                                          \
    if (next == NULL) {                                         \
      fprintf(stderr, "vtl: option %s needs a value\n\n", arg); \
      return Usage(NULL);                                       \
    }                                                           \
    ++i;                                                        \
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
        fprintf(stderr, "vtl: error: -days %s: give 1 to %d days (20 years)\n",
                next, TL_CERT_VALIDITY_MAX_DAYS);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "-p") == 0) {
      NEED_VALUE();
      if (!ParseLong(next, 1, 65535, &a.port)) {
        fprintf(
            stderr,
            "vtl: error: -p %s: a port is 1 to 65535 (NTLS listens on %d)\n",
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
    } else if (strcmp(arg, "-local") == 0) {
      a.local = 1;
    } else if (strcmp(arg, "-timeout") == 0) {
      NEED_VALUE();
      if (!ParseLong(next, 1, 600000, &a.timeout_ms)) {
        fprintf(stderr,
                "vtl: error: -timeout %s: give 1 to 600000 milliseconds\n",
                next);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "-slot") == 0) {
      NEED_VALUE();
      if (!ParseLong(next, 0, 0x7fffffffL, &a.slot)) {
        fprintf(stderr,
                "vtl: error: -slot %s: a slot number from vtl listSlots\n",
                next);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "-op") == 0) {
      NEED_VALUE();
      a.op = next;
    } else if (strcmp(arg, "-data") == 0) {
      NEED_VALUE();
      a.data = next;
    } else if (strcmp(arg, "-count") == 0) {
      NEED_VALUE();
      if (!ParseLong(next, 1, 100000000L, &a.count)) {
        fprintf(stderr, "vtl: error: -count %s: give 1 to 100000000\n", next);
        return kExitBadInput;
      }
    } else if (strcmp(arg, "help") == 0 || strcmp(arg, "-h") == 0 ||
               strcmp(arg, "--help") == 0) {
      fputs(kUsage, stdout);
      return kExitOk;
    } else if (arg[0] == '-') {
      fprintf(stderr, "vtl: unknown option %s\n\n", arg);
      return Usage(NULL);
    } else if (command == NULL && strcmp(arg, "p11") == 0) {
      return VtlP11Main(root_path, argc - i - 1, argv + i + 1);
    } else if (command == NULL) {
      command = arg;
    } else {
      fprintf(stderr, "vtl: unexpected argument %s\n\n", arg);
      return Usage(NULL);
    }
#undef NEED_VALUE
  }
  if (command == NULL) return Usage("no command given");
  int create = strcmp(command, "createCert") == 0 ||
               strcmp(command, "addServer") == 0 ||
               strcmp(command, "importConfig") == 0;
  int known = create || strcmp(command, "deleteServer") == 0 ||
              strcmp(command, "listServers") == 0 ||
              strcmp(command, "show") == 0 || strcmp(command, "verify") == 0 ||
              strcmp(command, "listSlots") == 0 || strcmp(command, "call") == 0;
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
  } else if (strcmp(command, "listSlots") == 0) {
    rc = CmdListSlots(root);
  } else if (strcmp(command, "call") == 0) {
    rc = CmdCall(root, &a);
  } else {
    rc = CmdImport(root, &a);
  }
  tl_client_root_free(root);
  return rc;
}
