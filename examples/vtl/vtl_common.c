/* vtl's shared helpers: the status-to-exit-code table, the error printer and
 * the number parser, used by main() and by every command group. */
#include "examples/vtl/vtl_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "examples/vtl/vtl_hints.h"

int VtlExitCodeFor(tl_status status) {
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
    /* A change the configuration refuses as it stands (deleting a server an
     * HA group uses): the request, not the system, needs changing. */
    case TL_E_FAILED_PRECONDITION:
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

int VtlFail(const tl_client_root *root, tl_status status,
            const struct VtlArgs *a) {
  char message[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  if (root == NULL ||
      tl_client_root_last_error(root, message, sizeof(message), &len) !=
          TL_OK ||
      len == 0) {
    snprintf(message, sizeof(message), "operation failed");
  }
  fprintf(stderr, "vtl: error: %s (%s)\n", message, tl_status_name(status));
  VtlHint(a->command, a, status);
  return VtlExitCodeFor(status);
}

int VtlParseLong(const char *text, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return 0;
  *out = v;
  return 1;
}

void VtlJsonString(const char *text) {
  putchar('"');
  for (const unsigned char *c = (const unsigned char *)(text ? text : "");
       *c != '\0'; ++c) {
    if (*c == '"' || *c == '\\') {
      printf("\\%c", *c);
    } else if (*c < 0x20) {
      printf("\\u%04x", *c);
    } else {
      putchar(*c);
    }
  }
  putchar('"');
}

void VtlJsonField(int first, const char *key) {
  if (!first) putchar(',');
  VtlJsonString(key);
  putchar(':');
}

void VtlPrintServerJson(const tl_server_list *list, size_t index) {
  const char *name = "", *fp = "", *message = "";
  int32_t port = 0, htl = 0;
  tl_status local = TL_OK;
  tl_server_list_name(list, index, &name);
  tl_server_list_port(list, index, &port);
  tl_server_list_htl(list, index, &htl);
  tl_server_list_fingerprint(list, index, &fp);
  tl_server_list_local_status(list, index, &local, &message);
  printf("%s{", index ? "," : "");
  VtlJsonField(1, "name");
  VtlJsonString(name);
  VtlJsonField(0, "port");
  printf("%d", port);
  VtlJsonField(0, "htl");
  printf("%s", htl ? "true" : "false");
  VtlJsonField(0, "fingerprint");
  VtlJsonString(fp);
  VtlJsonField(0, "status");
  VtlJsonString(tl_status_name(local));
  VtlJsonField(0, "message");
  VtlJsonString(local == TL_OK ? "" : message);
  printf("}");
}
