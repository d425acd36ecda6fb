/* vtl's link commands: verify (the root's own checks, then one connection to
 * each server), listSlots and call. They share the code that loads the root's
 * settings and opens the links, which is why they are one file. */
#include "examples/vtl/vtl_link.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "examples/vtl/vtl_common.h"
#include "examples/vtl/vtl_hagroup.h"
#include "examples/vtl/vtl_hints.h"
#include "trustlink/trustlink.h"

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
  tl_status s = tl_client_settings_load_root(settings, path);
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    if (tl_last_error(message, sizeof(message), &len) != TL_OK) {
      snprintf(message, sizeof(message), "cannot load the client root");
    }
    fprintf(stderr, "vtl: error: %s\n", message);
    VtlHint(NULL, NULL, s);
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
static int VerifyLinks(tl_client_root *root, const struct VtlArgs *a) {
  tl_client_settings *settings = LoadSettings(root);
  if (settings == NULL) {
    if (a->json) printf(",\"links\":[],\"ok\":false}\n");
    return kExitBadInput;
  }
  tl_verify_results *results = NULL;
  double start = NowSeconds();
  tl_status s = tl_client_verify(
      settings, a->timeout_ms > 0 ? (uint32_t)a->timeout_ms : 5000, &results);
  double elapsed_ms = (NowSeconds() - start) * 1e3;
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    if (tl_last_error(message, sizeof(message), &len) != TL_OK) {
      snprintf(message, sizeof(message), "verify could not run");
    }
    fprintf(stderr, "vtl: error: %s (%s)\n", message, tl_status_name(s));
    VtlHint(a->command, a, s);
    tl_client_settings_free(settings);
    if (a->json) printf(",\"links\":[],\"ok\":false}\n");
    return VtlExitCodeFor(s);
  }
  size_t n = tl_verify_results_count(results);
  if (a->json) printf(",\"links\":[");
  for (size_t i = 0; i < n; ++i) {
    tl_status outcome = TL_OK;
    uint16_t port = 0;
    size_t num_slots = 0;
    tl_verify_results_get(results, i, &outcome, &port, &num_slots);
    const char *name = tl_verify_results_server(results, i);
    const char *host = tl_verify_results_host(results, i);
    if (a->json) {
      printf("%s{", i ? "," : "");
      VtlJsonField(1, "server");
      VtlJsonString(name);
      VtlJsonField(0, "host");
      VtlJsonString(host);
      VtlJsonField(0, "port");
      printf("%u", (unsigned)port);
      VtlJsonField(0, "status");
      VtlJsonString(tl_status_name(outcome));
      VtlJsonField(0, "message");
      VtlJsonString(outcome == TL_OK ? ""
                                     : tl_verify_results_message(results, i));
      VtlJsonField(0, "slots");
      printf("[");
      for (size_t j = 0; outcome == TL_OK && j < num_slots; ++j) {
        printf("%s{", j ? "," : "");
        VtlJsonField(1, "partition");
        VtlJsonString(tl_verify_results_slot_partition(results, i, j));
        VtlJsonField(0, "label");
        VtlJsonString(tl_verify_results_slot_label(results, i, j));
        VtlJsonField(0, "serial");
        VtlJsonString(tl_verify_results_slot_serial(results, i, j));
        printf("}");
      }
      printf("]}");
    } else if (outcome == TL_OK) {
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
      VtlVerifyServerHint(name, outcome);
    }
  }
  if (a->json) printf("]");
  size_t failed = tl_verify_results_num_failed(results);
  size_t failed_members = VtlVerifyHaMembers(root, results, a->json);
  tl_verify_results_free(results);
  tl_client_settings_free(settings);
  int ok = n != 0 && failed == 0 && failed_members == 0;
  if (a->json) {
    printf(",\"ok\":%s,\"elapsed_ms\":%.1f}\n", ok ? "true" : "false",
           elapsed_ms);
  } else if (n == 0) {
    printf("verify: no servers are configured; run vtl addServer.\n");
  } else if (failed != 0) {
    printf("verify: %zu of %zu link%s failed; each [FAIL] line says why.\n",
           failed, n, n == 1 ? "" : "s");
  } else if (failed_members != 0) {
    printf(
        "verify: every link is up, but %zu HA group member%s failed; each "
        "[FAIL] line says why.\n",
        failed_members, failed_members == 1 ? "" : "s");
  } else {
    printf("verify: every link is up (%zu server%s, %.1f ms).\n", n,
           n == 1 ? "" : "s", elapsed_ms);
  }
  return ok ? kExitOk : kExitVerifyFailed;
}

tl_client *VtlOpenClient(tl_client_root *root) {
  tl_client_settings *settings = LoadSettings(root);
  if (settings == NULL) return NULL;
  tl_client *client = NULL;
  tl_status s = tl_client_open(settings, &client);
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    if (tl_last_error(message, sizeof(message), &len) != TL_OK) {
      snprintf(message, sizeof(message), "cannot open the client");
    }
    fprintf(stderr, "vtl: error: %s (%s)\n", message, tl_status_name(s));
    VtlHint(NULL, NULL, s);
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
    VtlServerHint(name, last);
  }
}

static const char *SlotStateText(int32_t state) {
  return state == TL_SLOT_READY         ? "ready"
         : state == TL_SLOT_SERVER_DOWN ? "server down"
                                        : "removed";
}

/* PrintSlotsJson prints {"slots":[...]}, one object per slot. */
static void PrintSlotsJson(const tl_slot_list *slots) {
  printf("{\"slots\":[");
  for (size_t i = 0; i < tl_slot_list_count(slots); ++i) {
    int32_t id = 0, state = 0;
    tl_slot_list_get(slots, i, &id, &state);
    printf("%s{", i ? "," : "");
    VtlJsonField(1, "slot");
    printf("%d", id);
    VtlJsonField(0, "server");
    VtlJsonString(tl_slot_list_server(slots, i));
    VtlJsonField(0, "partition");
    VtlJsonString(tl_slot_list_partition(slots, i));
    VtlJsonField(0, "label");
    VtlJsonString(tl_slot_list_label(slots, i));
    VtlJsonField(0, "serial");
    VtlJsonString(tl_slot_list_serial(slots, i));
    VtlJsonField(0, "state");
    VtlJsonString(SlotStateText(state));
    VtlJsonField(0, "ha_group");
    VtlJsonString(tl_slot_list_ha_group(slots, i));
    printf("}");
  }
  printf("]}\n");
}

int VtlCmdListSlots(tl_client_root *root, const struct VtlArgs *a) {
  tl_client *client = VtlOpenClient(root);
  if (client == NULL) return kExitBadInput;
  tl_slot_list *slots = NULL;
  if (tl_client_slots(client, &slots) != TL_OK) {
    tl_client_close(client);
    return kExitSystem;
  }
  size_t n = tl_slot_list_count(slots);
  PrintServerFailures(client);
  if (a->json) {
    PrintSlotsJson(slots);
  } else if (n == 0) {
    printf(
        "No slots: no server is connected or none assigns this client a "
        "partition.\n");
  } else {
    printf("%-4s %-16s %-16s %-24s %-10s %s\n", "Slot", "Server", "Partition",
           "Label", "Serial", "State");
  }
  for (size_t i = 0; i < n && !a->json; ++i) {
    int32_t id = 0, state = 0;
    tl_slot_list_get(slots, i, &id, &state);
    /* An HA group's virtual slot has no server or partition of its own. */
    const int group = tl_slot_list_ha_group(slots, i)[0] != '\0';
    printf("%-4d %-16s %-16s %-24s %-10s %s\n", id,
           group ? "(HA group)" : tl_slot_list_server(slots, i),
           group ? "-" : tl_slot_list_partition(slots, i),
           tl_slot_list_label(slots, i), tl_slot_list_serial(slots, i),
           SlotStateText(state));
  }
  tl_slot_list_free(slots);
  tl_client_close(client);
  return n == 0 ? kExitNotFound : kExitOk;
}

static void PrintHex(const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; ++i) printf("%02x", data[i]);
  printf("\n");
}

int VtlCmdCall(tl_client_root *root, const struct VtlArgs *a) {
  static const char *const kOps[] = {"echo", "random", "sha256", "hmac"};
  uint32_t op = 0;
  if (a->op == NULL) return VtlUsage("call needs -op echo|random|sha256|hmac");
  for (uint32_t i = 0; i < 4; ++i) {
    if (strcmp(a->op, kOps[i]) == 0) op = i + 1;
  }
  if (op == 0) {
    long v = 0;
    if (!VtlParseLong(a->op, 1, 0x7fffffffL, &v)) {
      return VtlUsage("-op is echo, random, sha256, hmac or an op number");
    }
    op = (uint32_t)v;
  }
  uint8_t count_be[4];
  const uint8_t *data = (const uint8_t *)(a->data != NULL ? a->data : "hello");
  size_t data_len = strlen((const char *)data);
  if (op == 2) {
    long bytes = 32;
    if (a->data != NULL && !VtlParseLong(a->data, 0, 65536, &bytes)) {
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
  tl_client *client = VtlOpenClient(root);
  if (client == NULL) return kExitBadInput;
  tl_response *response = NULL;
  tl_status s = TL_OK, first_failure = TL_OK;
  char message[TL_ERROR_MESSAGE_MAX] = "";
  long failed = 0, made = 0;
  double start = NowSeconds();
  /* The run stops at the first failure: a lost link fails every later call
   * too. On an HA group's slot a failover is no failure (docs/ha.md), so a
   * run across one ends with 0 failed. */
  for (long i = 0; i < count && failed == 0; ++i) {
    tl_response_free(response);
    response = NULL;
    ++made;
    tl_status r = tl_client_call(client, (int32_t)a->slot, op, data, data_len,
                                 10000, &response);
    if (r != TL_OK) {
      size_t len = 0;
      ++failed;
      first_failure = r;
      if (tl_last_error(message, sizeof(message), &len) != TL_OK || len == 0) {
        snprintf(message, sizeof(message), "call failed");
      }
    }
  }
  s = first_failure;
  double elapsed = NowSeconds() - start;
  if (a->count > 0) {
    printf("%ld calls: %ld ok, %ld failed\n", made, made - failed, failed);
  }
  if (s != TL_OK) {
    fprintf(stderr, "vtl: error: slot %ld op %s: %s (%s)\n", a->slot, a->op,
            message, tl_status_name(s));
    VtlHint(a->command, a, s);
    PrintServerFailures(client);
    tl_response_free(response);
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

static const char *LevelText(int32_t level, int json) {
  if (json) {
    return level == TL_CHECK_OK        ? "ok"
           : level == TL_CHECK_WARNING ? "warning"
                                       : "error";
  }
  return level == TL_CHECK_OK        ? "[ OK ]"
         : level == TL_CHECK_WARNING ? "[WARN]"
                                     : "[FAIL]";
}

/* PrintVerifyServers prints the trust store's view of each server (human
 * lines, or the "servers" JSON member). */
static void PrintVerifyServers(const tl_verify_report *report, int json) {
  tl_server_list *servers = NULL;
  if (json) printf(",\"servers\":[");
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
      if (json) {
        VtlPrintServerJson(servers, i);
        continue;
      }
      if (local != TL_OK) {
        printf("[FAIL] server %s: %s (%s)\n", name, message,
               tl_status_name(local));
        VtlVerifyServerHint(name, local);
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
  if (json) printf("]");
}

int VtlCmdVerify(tl_client_root *root, const struct VtlArgs *a) {
  tl_verify_report *report = NULL;
  tl_status s =
      tl_client_root_verify(root, a->repair ? TL_VERIFY_REPAIR : 0, &report);
  if (s != TL_OK) return VtlFail(root, s, a);
  if (a->json) printf("{\"repairs\":[");
  tl_string_list *repairs = NULL;
  if (tl_verify_report_repairs(report, &repairs) == TL_OK) {
    for (size_t i = 0; i < tl_string_list_count(repairs); ++i) {
      const char *line = NULL;
      if (tl_string_list_get(repairs, i, &line) != TL_OK) continue;
      if (a->json) {
        if (i) printf(",");
        VtlJsonString(line);
      } else {
        printf("[FIXED] %s\n", line);
      }
    }
    tl_string_list_free(repairs);
  }
  if (a->json) printf("],\"checks\":[");
  for (size_t i = 0; i < tl_verify_report_check_count(report); ++i) {
    int32_t level = 0;
    const char *object = "", *message = "";
    if (tl_verify_report_check(report, i, &level, &object, &message) != TL_OK)
      continue;
    if (a->json) {
      printf("%s{", i ? "," : "");
      VtlJsonField(1, "level");
      VtlJsonString(LevelText(level, 1));
      VtlJsonField(0, "object");
      VtlJsonString(object);
      VtlJsonField(0, "message");
      VtlJsonString(message);
      printf("}");
    } else {
      printf("%s %s: %s\n", LevelText(level, 0), object, message);
      if (level == TL_CHECK_ERROR) VtlVerifyHint(object);
    }
  }
  if (a->json) printf("]");
  PrintVerifyServers(report, a->json);
  int ok = tl_verify_report_ok(report);
  tl_verify_report_free(report);
  if (!ok || a->local) {
    if (a->json) {
      printf(",\"ok\":%s}\n", ok ? "true" : "false");
    } else if (!ok) {
      printf("verify: problems found; each [FAIL] line says what to do.\n");
    } else {
      printf("verify: the local half of every link is in order.\n");
    }
    return ok ? kExitOk : kExitVerifyFailed;
  }
  return VerifyLinks(root, a);
}
