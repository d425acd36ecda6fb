/* vtl's enrolment commands: they read and change the client root's identity
 * and trusted servers, and never open a link (that is vtl_link.c). */
#include "examples/vtl/vtl_enrol.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "examples/vtl/vtl_common.h"
#include "trustlink/trustlink.h"

/* ReadFile reads a whole file (at most TL_MAX_PEM_FILE_LEN) into a
 * NUL-terminated malloc'd buffer. tl_file_read refuses a FIFO, a device or an
 * oversized file at once, so a bad -c never hangs vtl or eats its memory. */
static int ReadFile(const char *path, char **out, size_t *out_len) {
  size_t cap = tl_max_pem_file_len();
  char *buf = malloc(cap + 1);
  if (buf == NULL) return kExitSystem;
  char message[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  tl_status s = tl_file_read(path, 0, buf, cap, &len, message, sizeof(message));
  if (s != TL_OK) {
    free(buf);
    fprintf(stderr, "vtl: error: %s (%s)\n", message, tl_status_name(s));
    return VtlExitCodeFor(s);
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

int VtlCmdCreateCert(tl_client_root *root, const struct VtlArgs *a) {
  if (a->name == NULL)
    return VtlUsage("createCert needs -n NAME (this client's host name or IP)");
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
    return VtlExitCodeFor(s);
  }
  tl_cert_result *result = NULL;
  s = tl_client_root_create_cert(root, options, a->name, a->force, &result);
  tl_identity_options_free(options);
  if (s != TL_OK) return VtlFail(root, s, a);
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

/* FindServer looks name (canonical, as the library reports names) up in
 * list: 1 and its port and HTL setting if it is there, else 0. */
static int FindServer(const tl_server_list *list, const char *name,
                      int32_t *port, int32_t *htl) {
  for (size_t i = 0; list != NULL && i < tl_server_list_count(list); ++i) {
    const char *n = "";
    tl_server_list_name(list, i, &n);
    if (strcmp(n, name) != 0) continue;
    tl_server_list_port(list, i, port);
    tl_server_list_htl(list, i, htl);
    return 1;
  }
  return 0;
}

int VtlCmdAddServer(tl_client_root *root, const struct VtlArgs *a) {
  if (a->name == NULL || a->file == NULL) {
    return VtlUsage(
        "addServer needs -n NAME (the appliance's host name or IP) and -c FILE "
        "(its server.pem)");
  }
  char *pem = NULL;
  size_t pem_len = 0;
  int rc = ReadFile(a->file, &pem, &pem_len);
  if (rc != kExitOk) return rc;
  /* The servers before the change, to say what it changed. */
  tl_server_list *before = NULL;
  if (tl_client_root_list_servers(root, &before) != TL_OK) before = NULL;
  /* What is not given is kept (docs/client-enrolment.md): re-registering a
   * renewed certificate must not move the port or turn HTL off. */
  int32_t htl = a->htl ? 1 : a->nohtl ? 0 : TL_SERVER_HTL_KEEP;
  tl_server_result *result = NULL;
  tl_status s = tl_client_root_add_server(
      root, a->name, pem, pem_len, (int32_t)a->port, htl, a->replace, &result);
  free(pem);
  if (s != TL_OK) {
    tl_server_list_free(before);
    return VtlFail(root, s, a);
  }
  for (size_t i = 0; i < tl_server_result_warning_count(result); ++i) {
    const char *w = NULL;
    if (tl_server_result_warning(result, i, &w) == TL_OK) {
      fprintf(stderr, "vtl: warning: %s\n", w);
    }
  }
  /* Messages use the name as typed; the library compares names without
   * regard to case and reports them in lower case. */
  const char *name = a->name;
  int32_t old_port = 0, old_htl = 0, new_port = 0, new_htl = 0;
  int known =
      FindServer(before, tl_server_result_name(result), &old_port, &old_htl);
  tl_server_list_free(before);
  tl_server_list *after = NULL;
  if (tl_client_root_list_servers(root, &after) == TL_OK) {
    FindServer(after, tl_server_result_name(result), &new_port, &new_htl);
    tl_server_list_free(after);
  }
  if (tl_server_result_replaced(result)) {
    printf(
        "Certificate of server %s replaced (previous SHA-256 fingerprint: "
        "%s).\n",
        name, tl_server_result_previous_fingerprint(result));
  } else if (!known) {
    printf("New server %s successfully added to server list.\n", name);
  } else if (tl_server_result_unchanged(result)) {
    printf("Server %s already has this certificate.\n", name);
  }
  if (known) {
    if (new_port != old_port) {
      printf("Port of server %s changed from %d to %d.\n", name, old_port,
             new_port);
    }
    if (new_htl != old_htl) {
      printf("HTL for server %s turned %s.\n", name, new_htl ? "on" : "off");
    }
    if (new_port == old_port && new_htl == old_htl) {
      printf(
          "Port %d and HTL %s kept (give -p, -htl or -nohtl to change "
          "them).\n",
          new_port, new_htl ? "on" : "off");
    }
  }
  printf("Certificate: %s\n", tl_server_result_path(result));
  printf("SHA-256 fingerprint: %s\n", tl_server_result_fingerprint(result));
  printf(
      "Compare it with the appliance's own fingerprint before you trust this "
      "link.\n");
  tl_server_result_free(result);
  return kExitOk;
}

int VtlCmdDeleteServer(tl_client_root *root, const struct VtlArgs *a) {
  if (a->name == NULL) return VtlUsage("deleteServer needs -n NAME");
  tl_status s = tl_client_root_delete_server(root, a->name);
  if (s != TL_OK) return VtlFail(root, s, a);
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

/* PrintServersJson prints {"servers":[...]}: what listServers shows, for
 * scripts. */
static void PrintServersJson(const tl_server_list *list) {
  printf("{\"servers\":[");
  for (size_t i = 0; i < tl_server_list_count(list); ++i) {
    VtlPrintServerJson(list, i);
  }
  printf("]}\n");
}

int VtlCmdListServers(tl_client_root *root, const struct VtlArgs *a) {
  tl_server_list *list = NULL;
  tl_status s = tl_client_root_list_servers(root, &list);
  if (s != TL_OK) return VtlFail(root, s, a);
  if (a != NULL && a->json) {
    PrintServersJson(list);
  } else {
    PrintServers(list, 0);
  }
  tl_server_list_free(list);
  return kExitOk;
}

int VtlCmdShow(tl_client_root *root, const struct VtlArgs *a) {
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
    return VtlFail(root, s, a);
  }
  printf("Servers:\n");
  return VtlCmdListServers(root, NULL);
}

int VtlCmdImportConfig(tl_client_root *root, const struct VtlArgs *a) {
  if (a->file == NULL)
    return VtlUsage(
        "importConfig needs -c FILE (a Chrystoki.conf or a crystoki.ini)");
  char *text = NULL;
  size_t len = 0;
  int rc = ReadFile(a->file, &text, &len);
  if (rc != kExitOk) return rc;
  tl_string_list *report = NULL;
  tl_status s =
      tl_client_root_import_chrystoki(root, text, len, a->file, &report);
  free(text);
  if (s != TL_OK) return VtlFail(root, s, a);
  for (size_t i = 0; i < tl_string_list_count(report); ++i) {
    const char *line = NULL;
    if (tl_string_list_get(report, i, &line) == TL_OK) printf("%s\n", line);
  }
  tl_string_list_free(report);
  return kExitOk;
}
