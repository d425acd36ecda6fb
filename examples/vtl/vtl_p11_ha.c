/* vtl p11 habridge: an HA group as one PKCS#11 slot, on the C ABI only.
 *
 *   vtl [--root DIR] p11 habridge -group LABEL [-member SERVER/PARTITION ...]
 *                                 [-serial S] [-retry MS]
 *
 * `p11 setup` writes it into the group's module config; p11-kit-proxy.so runs
 * it and speaks PKCS#11 RPC on its stdin and stdout. Without -member the
 * group's members come from trustlink.conf. Its stdout belongs to the RPC: it
 * prints only to stderr. */
#define _XOPEN_SOURCE 700

#include "examples/vtl/vtl_p11_ha.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/cli/cli_args.h"
#include "examples/vtl/vtl_common.h"

int VtlP11HaTakeOption(int argc, char **argv, int *i, struct VtlP11HaArgs *a) {
  const char *v = NULL;
  int got = CliTakeOption(argc, argv, i, "group", 1, &a->group);
  if (got == 0) got = CliTakeOption(argc, argv, i, "serial", 1, &a->serial);
  if (got == 0) got = CliTakeOption(argc, argv, i, "retry", 1, &a->retry_ms);
  if (got == 0) {
    got = CliTakeOption(argc, argv, i, "haonly", 0, &v);
    if (got == 1) a->ha_only = 1;
  }
  if (got == 0) {
    got = CliTakeOption(argc, argv, i, "member", 1, &v);
    if (got == 1) {
      if (a->num_members == VTL_P11_HA_MAX_MEMBERS) {
        fprintf(stderr, "vtl p11: at most %d -member options\n",
                VTL_P11_HA_MAX_MEMBERS);
        return -1;
      }
      const char *slash = strrchr(v, '/');
      if (slash == NULL || slash == v || slash[1] == '\0' ||
          (size_t)(slash - v) >= 256) {
        fprintf(stderr,
                "vtl p11: -member %s: give SERVER/PARTITION, for example "
                "-member hsm1/partA\n",
                v);
        return -1;
      }
      a->members[a->num_members++] = v;
    }
  }
  if (got < 0) fprintf(stderr, "vtl p11: option %s needs a value\n", argv[*i]);
  return got;
}

/* SplitMember copies SERVER/PARTITION's two halves (split at the last '/';
 * VtlP11HaTakeOption checked the form). */
static void SplitMember(const char *m, char server[256],
                        const char **partition) {
  const char *slash = strrchr(m, '/');
  size_t n = (size_t)(slash - m);
  memcpy(server, m, n);
  server[n] = '\0';
  *partition = slash + 1;
}

tl_status VtlP11HaSetup(tl_p11_setup *setup, const char *bridge,
                        const char *root_abs, const struct VtlP11HaArgs *a) {
  const char *words[] = {bridge, "--root", root_abs, "p11", "habridge"};
  tl_status s = TL_OK;
  for (size_t i = 0; s == TL_OK && i < sizeof(words) / sizeof(words[0]); ++i) {
    s = tl_p11_setup_add_habridge_arg(setup, words[i]);
  }
  tl_client_settings *settings = NULL;
  if (s == TL_OK) s = tl_client_settings_new(&settings);
  if (s == TL_OK && tl_client_settings_load_root(settings, root_abs) == TL_OK) {
    s = tl_p11_setup_add_groups_from_settings(setup, settings);
  }
  tl_client_settings_free(settings);
  if (s == TL_OK && a->group != NULL) {
    s = tl_p11_setup_add_group(setup, a->group, a->serial);
    for (int i = 0; s == TL_OK && i < a->num_members; ++i) {
      char server[256];
      const char *partition = NULL;
      SplitMember(a->members[i], server, &partition);
      s = tl_p11_setup_add_group_member(setup, a->group, server, partition);
    }
  }
  if (s == TL_OK && a->ha_only) s = tl_p11_setup_set_ha_only(setup, 1);
  return s;
}

int VtlP11HaBridge(const char *root_path, const struct VtlP11HaArgs *a) {
  if (a->group == NULL) {
    fprintf(stderr,
            "vtl p11 habridge: give -group LABEL (vtl p11 setup writes the "
            "command into the group's module config)\n");
    return kExitUsage;
  }
  tl_p11_ha *ha = NULL;
  if (tl_p11_ha_new(&ha) != TL_OK) return kExitSystem;
  tl_status s = TL_OK;
  if (a->num_members > 0) {
    s = tl_p11_ha_set_group(ha, a->group, a->serial);
    for (int i = 0; s == TL_OK && i < a->num_members; ++i) {
      char server[256];
      const char *partition = NULL;
      SplitMember(a->members[i], server, &partition);
      s = tl_p11_ha_add_member(ha, server, partition);
    }
  } else {
    tl_client_settings *settings = NULL;
    s = tl_client_settings_new(&settings);
    if (s == TL_OK) s = tl_client_settings_load_root(settings, root_path);
    if (s != TL_OK) {
      char message[TL_ERROR_MESSAGE_MAX] = "cannot load the client root";
      size_t len = 0;
      tl_last_error(message, sizeof(message), &len);
      fprintf(stderr, "p11 habridge: %s (%s)\n", message, tl_status_name(s));
      tl_client_settings_free(settings);
      tl_p11_ha_free(ha);
      return kExitBadInput;
    }
    s = tl_p11_ha_load_group(ha, settings, a->group);
    tl_client_settings_free(settings);
  }
  if (s == TL_OK && a->retry_ms != NULL) {
    char *end = NULL;
    errno = 0;
    long long ms = strtoll(a->retry_ms, &end, 10);
    if (errno != 0 || end == a->retry_ms || *end != '\0') {
      fprintf(stderr, "p11 habridge: -retry %s: give milliseconds\n",
              a->retry_ms);
      tl_p11_ha_free(ha);
      return kExitUsage;
    }
    s = tl_p11_ha_set_retry_interval_ms(ha, (int64_t)ms);
  }
  if (s == TL_OK) s = tl_p11_ha_set_log_fd(ha, 2);
  if (s == TL_OK) s = tl_p11_ha_serve(ha, 0, 1);
  int rc = kExitOk;
  if (s != TL_OK) {
    char message[TL_ERROR_MESSAGE_MAX] = "failed";
    size_t len = 0;
    tl_p11_ha_last_error(ha, message, sizeof(message), &len);
    fprintf(stderr, "p11 habridge: %s (%s)\n", message, tl_status_name(s));
    rc = s == TL_E_NOT_FOUND ? kExitNotFound
         : s == TL_E_INVALID_ARGUMENT || s == TL_E_NAME_INVALID ||
                 s == TL_E_OUT_OF_RANGE
             ? kExitBadInput
             : kExitSystem;
  }
  tl_p11_ha_free(ha);
  return rc;
}
