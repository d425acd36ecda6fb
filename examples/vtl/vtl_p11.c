/* vtl p11: the client side of partitions as PKCS#11 slots, on the C ABI only.
 *
 *   vtl [--root DIR] p11 setup [-dir DIR] [-bridge PATH]
 *   vtl [--root DIR] p11 bridge -server NAME [-partition NAME]
 *   vtl [--root DIR] p11 habridge -group LABEL ... (vtl_p11_ha.c)
 *
 * `setup` writes one p11-kit module config per server whose line
 *   remote: |<vtl> --root <root> p11 bridge -server S
 * makes p11-kit-proxy.so start the bridge and speak its PKCS#11 RPC on the
 * bridge's stdin and stdout; the bridge joins them to one client-wide "pkcs11"
 * stream on the link, which serves every partition assigned on S (ADR 0002).
 * With -partition the stream serves that partition only (module configs
 * written by older versions). The bridge's stdout belongs to that RPC: it
 * prints only to stderr. */
/* realpath(3) is XSI. */
#define _XOPEN_SOURCE 700

#include "examples/vtl/vtl_p11.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examples/cli/cli_args.h"
#include "examples/vtl/vtl_common.h"
#include "examples/vtl/vtl_hints.h"
#include "examples/vtl/vtl_p11_ha.h"
#include "examples/vtl/vtl_p11_probe.h"
#include "trustlink/trustlink.h"

/* vtl's exit codes (vtl_common.h), under the names this file uses. */
enum {
  kP11Ok = kExitOk,
  kP11Usage = kExitUsage,
  kP11BadInput = kExitBadInput,
  kP11NotFound = kExitNotFound,
  kP11System = kExitSystem
};

static const char kP11UsageText[] =
    "usage: vtl [--root DIR] p11 setup [-dir DIR] [-bridge PATH] [-haonly]\n"
    "                            [-group LABEL -member SERVER/PARTITION ...]\n"
    "       vtl [--root DIR] p11 bridge -server NAME [-partition NAME]\n"
    "       vtl [--root DIR] p11 habridge -group LABEL [-member "
    "SERVER/PARTITION ...]\n"
    "\n"
    "  setup   write one p11-kit module config per server that has "
    "partitions with a\n"
    "          PKCS#11 token assigned to this client, into DIR (default\n"
    "          $HOME/.config/pkcs11/modules; root uses /etc/pkcs11/modules, "
    "because p11-kit\n"
    "          ignores user configs for root). -bridge: the vtl to run "
    "(default: this one).\n"
    "          Then any PKCS#11 application using p11-kit-proxy.so sees the "
    "partitions as\n"
    "          slots, including ones assigned later.\n"
    "  bridge  join stdin and stdout to one pkcs11 stream serving every "
    "partition assigned\n"
    "          on the server, or only -partition NAME (p11-kit runs it).\n"
    "  setup also writes one module per HA group (trustlink.conf's, and "
    "-group with its\n"
    "          -members), whose slot fails over between the members; -haonly "
    "hides the\n"
    "          servers' own slots (docs/ha.md).\n"
    "  habridge  serve an HA group's slot on stdin and stdout (p11-kit runs "
    "it).\n";

struct P11Args {
  const char *dir;
  const char *bridge;
  const char *server;
  const char *partition;
};

static void PrintClientError(const tl_client *client, const char *what,
                             tl_status s) {
  char message[TL_ERROR_MESSAGE_MAX] = "";
  size_t len = 0;
  if (tl_client_last_error(client, message, sizeof(message), &len) != TL_OK ||
      len == 0) {
    snprintf(message, sizeof(message), "failed");
  }
  fprintf(stderr, "vtl p11: %s: %s (%s)\n", what, message, tl_status_name(s));
}

/* OpenLinks opens the client root and its links and waits (10 s at most) for
 * the first attempt to every server. On success *out_root_path is the root's
 * absolute path (malloc'd). */
static tl_client *OpenLinks(const char *root_path, char **out_root_path) {
  tl_client_root *root = NULL;
  if (tl_client_root_new(&root) != TL_OK) return NULL;
  tl_status s = tl_client_root_open(root, root_path, 0);
  const char *path = NULL;
  if (s == TL_OK) s = tl_client_root_path(root, &path);
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX] = "cannot open the client root";
    size_t len = 0;
    tl_client_root_last_error(root, message, sizeof(message), &len);
    fprintf(stderr, "vtl p11: %s (%s)\n", message, tl_status_name(s));
    tl_client_root_free(root);
    return NULL;
  }
  *out_root_path = realpath(path, NULL);
  tl_client_settings *settings = NULL;
  tl_client *client = NULL;
  if (*out_root_path == NULL || tl_client_settings_new(&settings) != TL_OK) {
    fprintf(stderr, "vtl p11: cannot resolve the client root %s\n", path);
    tl_client_root_free(root);
    free(*out_root_path);
    return NULL;
  }
  tl_client_root_free(root);
  s = tl_client_settings_load_root(settings, *out_root_path);
  /* The PKCS#11 plumbing needs the members' own slots: HAOnly hides them from
   * applications through the module configs setup writes (docs/ha.md,
   * "PKCS#11"), not from the bridges and setup themselves. */
  if (s == TL_OK) s = tl_client_settings_set_ha(settings, 0, 60000, -1);
  if (s == TL_OK) s = tl_client_open(settings, &client);
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX] = "cannot open the links";
    size_t len = 0;
    tl_last_error(message, sizeof(message), &len);
    fprintf(stderr, "vtl p11: %s (%s)\n", message, tl_status_name(s));
    VtlHint(NULL, NULL, s);
    tl_client_settings_free(settings);
    free(*out_root_path);
    return NULL;
  }
  tl_client_settings_free(settings);
  tl_client_wait_ready(client, 10000);
  return client;
}

/* NotReadyServers prints why each server that is not connected failed and
 * returns how many there are. */
static size_t NotReadyServers(tl_client *client) {
  size_t n = 0, down = 0;
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
    ++down;
    tl_client_server_name(client, i, name, sizeof(name), &len);
    tl_client_server_error(client, i, err, sizeof(err), &len);
    fprintf(stderr, "vtl p11: server %s is not connected: %s (%s)\n", name, err,
            tl_status_name(last));
    VtlServerHint(name, last);
  }
  return down;
}

/* ServerIndex returns the number of the configured server called name, or -1.
 */
static long ServerIndex(tl_client *client, const char *name) {
  size_t n = 0;
  tl_client_server_count(client, &n);
  for (size_t k = 0; k < n; ++k) {
    char got[256] = "";
    size_t len = 0;
    if (tl_client_server_name(client, k, got, sizeof(got), &len) == TL_OK &&
        strcmp(got, name) == 0) {
      return (long)k;
    }
  }
  return -1;
}

static int Setup(const char *root_path, const struct P11Args *a,
                 const struct VtlP11HaArgs *ha) {
  char self[PATH_MAX];
  const char *bridge = a->bridge;
  if (bridge == NULL) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
      fprintf(stderr,
              "vtl p11 setup: cannot find this program's path; give -bridge "
              "/path/to/vtl\n");
      return kP11System;
    }
    self[n] = '\0';
    bridge = self;
  }
  if (bridge[0] != '/') {
    fprintf(stderr,
            "vtl p11 setup: -bridge %s: give an absolute path (p11-kit runs "
            "it from any directory)\n",
            bridge);
    return kP11BadInput;
  }
  char *root_abs = NULL;
  tl_client *client = OpenLinks(root_path, &root_abs);
  if (client == NULL) return kP11BadInput;
  if (NotReadyServers(client) != 0) {
    /* Writing now would drop the modules of a server that is only down. */
    fprintf(stderr,
            "vtl p11 setup: nothing written: the partitions of a server that "
            "is not connected are unknown; run it again when vtl verify "
            "passes\n");
    tl_client_close(client);
    free(root_abs);
    return kP11System;
  }
  tl_slot_list *slots = NULL;
  tl_p11_setup *setup = NULL;
  tl_status s = tl_client_slots(client, &slots);
  if (s == TL_OK) s = tl_p11_setup_new(&setup);
  if (s == TL_OK && a->dir != NULL) s = tl_p11_setup_set_dir(setup, a->dir);
  const char *words[] = {bridge, "--root", root_abs, "p11", "bridge"};
  for (size_t i = 0; s == TL_OK && i < sizeof(words) / sizeof(words[0]); ++i) {
    s = tl_p11_setup_add_bridge_arg(setup, words[i]);
  }
  size_t n = s == TL_OK ? tl_slot_list_count(slots) : 0;
  int *pipes = calloc(2 * n + 1, sizeof(int));
  size_t num_pipes = 0;
  size_t num_servers = 0;
  tl_client_server_count(client, &num_servers);
  /* served[k]: server k has a partition with a token (or one that did not
   * answer the probe), so it gets a module. */
  unsigned char *served = calloc(num_servers + 1, 1);
  if (pipes == NULL || served == NULL) s = TL_E_NO_MEMORY;
  for (size_t i = 0; s == TL_OK && i < n; ++i) {
    int32_t id = 0, state = 0;
    tl_slot_list_get(slots, i, &id, &state);
    if (state == TL_SLOT_REMOVED) continue;
    int probe = -1;
    if (pipe(pipes + 2 * num_pipes) == 0) {
      probe = VtlP11ProbeToken(client, id, pipes + 2 * num_pipes,
                               kVtlP11ProbeTimeoutMs);
      ++num_pipes;
    }
    if (probe == 0) {
      printf("slot %d: server %s, partition %s has no PKCS#11 token; skipped\n",
             id, tl_slot_list_server(slots, i),
             tl_slot_list_partition(slots, i));
      continue;
    }
    if (probe < 0) {
      fprintf(stderr,
              "vtl p11 setup: warning: slot %d (partition %s) did not answer "
              "the PKCS#11 probe; its module is written anyway\n",
              id, tl_slot_list_partition(slots, i));
    }
    long k = ServerIndex(client, tl_slot_list_server(slots, i));
    if (k >= 0) served[k] = 1;
    printf("slot %d: server %s, partition %s\n", id,
           tl_slot_list_server(slots, i), tl_slot_list_partition(slots, i));
  }
  for (size_t k = 0; s == TL_OK && k < num_servers; ++k) {
    char name[256] = "";
    size_t len = 0;
    tl_client_server_name(client, k, name, sizeof(name), &len);
    if (served[k]) {
      s = tl_p11_setup_add_server(setup, name);
    } else {
      printf(
          "server %s: no partition with a PKCS#11 token is assigned to this "
          "client; no module (run vtl p11 setup again once one is)\n",
          name);
    }
  }
  if (s == TL_OK) s = VtlP11HaSetup(setup, bridge, root_abs, ha);
  size_t written = 0, removed = 0;
  if (s == TL_OK) s = tl_p11_setup_write(setup, &written, &removed);
  int rc = kP11Ok;
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX] = "out of memory";
    size_t len = 0;
    tl_p11_setup_last_error(setup, message, sizeof(message), &len);
    fprintf(stderr, "vtl p11 setup: %s (%s)\n", message, tl_status_name(s));
    rc = s == TL_E_NAME_INVALID || s == TL_E_INVALID_ARGUMENT ||
                 s == TL_E_CONFIG_INVALID || s == TL_E_NOT_FOUND
             ? kP11BadInput
             : kP11System;
  } else {
    printf(
        "p11 setup: %zu module config%s written (one per server and HA "
        "group), %zu stale "
        "removed; PKCS#11\napplications using p11-kit-proxy.so see %s.\n",
        written, written == 1 ? "" : "s", removed,
        written == 0 ? "no trustlink slots"
                     : "these partitions as slots, and ones assigned later");
  }
  tl_p11_setup_free(setup);
  tl_slot_list_free(slots);
  tl_client_close(client);
  for (size_t i = 0; i < 2 * num_pipes; ++i) close(pipes[i]);
  free(pipes);
  free(served);
  free(root_abs);
  return rc;
}

/* BridgeLink is what the stream callbacks and the bridge's send/close share. */
struct BridgeLink {
  tl_client *client;
  tl_p11_bridge *bridge;
  uint64_t stream;
};

static void OnStreamData(void *userdata, const uint8_t *data, size_t len) {
  struct BridgeLink *l = userdata;
  tl_p11_bridge_deliver(l->bridge, data, len);
}

static void OnStreamClose(void *userdata, tl_status status,
                          const char *message) {
  struct BridgeLink *l = userdata;
  tl_p11_bridge_end(l->bridge, status, message);
}

static tl_status SendToStream(void *userdata, const uint8_t *data, size_t len) {
  struct BridgeLink *l = userdata;
  return tl_client_stream_send(l->client, l->stream, data, len);
}

static void CloseStream(void *userdata) {
  struct BridgeLink *l = userdata;
  tl_client_stream_close(l->client, l->stream);
}

/* FindSlot returns the slot id of (server, partition), or -1. A NULL
 * partition matches any partition on server. */
static int32_t FindSlot(tl_client *client, const char *server,
                        const char *partition) {
  tl_slot_list *slots = NULL;
  if (tl_client_slots(client, &slots) != TL_OK) return -1;
  int32_t found = -1;
  for (size_t i = 0; found < 0 && i < tl_slot_list_count(slots); ++i) {
    int32_t id = 0, state = 0;
    tl_slot_list_get(slots, i, &id, &state);
    if (state != TL_SLOT_REMOVED &&
        strcmp(tl_slot_list_server(slots, i), server) == 0 &&
        (partition == NULL ||
         strcmp(tl_slot_list_partition(slots, i), partition) == 0)) {
      found = id;
    }
  }
  tl_slot_list_free(slots);
  return found;
}

static int Bridge(const char *root_path, const struct P11Args *a) {
  if (a->server == NULL) {
    fprintf(stderr,
            "vtl p11 bridge: give -server NAME (and -partition NAME for one "
            "partition only)\n");
    return kP11Usage;
  }
  char *root_abs = NULL;
  struct BridgeLink link = {NULL, NULL, 0};
  link.client = OpenLinks(root_path, &root_abs);
  if (link.client == NULL) return kP11BadInput;
  free(root_abs);
  int32_t slot = FindSlot(link.client, a->server, a->partition);
  if (slot < 0) {
    if (NotReadyServers(link.client) != 0) {
      fprintf(stderr,
              "p11 bridge: %s%s%son server '%s' %s unavailable: the link is "
              "down (the line above says why; vtl verify checks it)\n",
              a->partition ? "partition '" : "the partitions ",
              a->partition ? a->partition : "", a->partition ? "' " : "",
              a->server, a->partition ? "is" : "are");
    } else if (a->partition != NULL) {
      fprintf(stderr,
              "p11 bridge: partition '%s' is not assigned to this client on "
              "server '%s' (vtl listSlots shows the slots; vtl p11 setup "
              "rewrites the module configs)\n",
              a->partition, a->server);
    } else if (ServerIndex(link.client, a->server) < 0) {
      fprintf(stderr,
              "p11 bridge: server '%s' is not configured on this client "
              "(vtl listServers shows them; vtl p11 setup rewrites the module "
              "configs)\n",
              a->server);
    } else {
      fprintf(stderr,
              "p11 bridge: no partition is assigned to this client on server "
              "'%s' (vtl listSlots shows the slots)\n",
              a->server);
    }
    tl_client_close(link.client);
    return kP11NotFound;
  }
  tl_status s = tl_p11_bridge_new(&link.bridge);
  if (s == TL_OK) s = tl_p11_bridge_set_report_fd(link.bridge, 2);
  if (s != TL_OK) {
    tl_client_close(link.client);
    return kP11System;
  }
  if (a->partition != NULL) {
    s = tl_client_stream_open(link.client, slot, "pkcs11", OnStreamData,
                              OnStreamClose, &link, &link.stream);
  } else {
    s = tl_client_server_stream_open(
        link.client, (size_t)ServerIndex(link.client, a->server), "pkcs11",
        OnStreamData, OnStreamClose, &link, &link.stream);
  }
  if (s != TL_OK) {
    PrintClientError(link.client, "cannot open the pkcs11 stream", s);
    tl_p11_bridge_free(link.bridge);
    tl_client_close(link.client);
    return kP11System;
  }
  s = tl_p11_bridge_run(link.bridge, 0, 1, SendToStream, CloseStream, &link);
  /* Close the links before freeing the bridge: no callback may still run. */
  tl_client_close(link.client);
  tl_p11_bridge_free(link.bridge);
  return s == TL_OK ? kP11Ok : kP11System;
}

int VtlP11Main(const char *root_path, int argc, char **argv) {
  if (argc < 1) {
    fputs(kP11UsageText, stderr);
    return kP11Usage;
  }
  const char *command = argv[0];
  struct P11Args a = {NULL, NULL, NULL, NULL};
  struct VtlP11HaArgs ha;
  memset(&ha, 0, sizeof(ha));
  static const char *const kNames[] = {"dir", "bridge", "server", "partition"};
  const char **values[] = {&a.dir, &a.bridge, &a.server, &a.partition};
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    int got = 0;
    for (size_t k = 0; k < 4 && got == 0; ++k) {
      got = CliTakeOption(argc, argv, &i, kNames[k], 1, values[k]);
    }
    if (got == 0) got = VtlP11HaTakeOption(argc, argv, &i, &ha);
    if (got != 1) {
      fprintf(stderr, "vtl p11: %s option %s\n\n",
              got == 0 ? "unknown" : "no value for", arg);
      fputs(kP11UsageText, stderr);
      return kP11Usage;
    }
  }
  if (ha.num_members > 0 && ha.group == NULL) {
    fprintf(stderr, "vtl p11: -member needs -group LABEL\n\n");
    fputs(kP11UsageText, stderr);
    return kP11Usage;
  }
  if (CliWordIs(command, "setup")) return Setup(root_path, &a, &ha);
  if (CliWordIs(command, "habridge")) return VtlP11HaBridge(root_path, &ha);
  if (CliWordIs(command, "bridge")) return Bridge(root_path, &a);
  if (CliIsHelp(command)) {
    fputs(kP11UsageText, stdout);
    return kP11Ok;
  }
  fprintf(stderr, "vtl p11: unknown subcommand %s\n\n", command);
  fputs(kP11UsageText, stderr);
  return kP11Usage;
}
