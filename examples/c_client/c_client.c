/* c_client: a plain C program on trustlink's C ABI. It opens a client for one
 * server, lists the slots, and makes an echo call (op 1) on the first slot.
 *
 *   c_client NAME HOST PORT SERVER_CERT.pem CLIENT_CERT.pem CLIENT_KEY.pem
 * [MESSAGE]
 *
 * SERVER_CERT.pem is the server certificate this client pins
 * (cert/server/<name>Cert.pem in a client root). CLIENT_KEY.pem must be
 * readable by its owner only (chmod 600). It exits 0 when the call
 * succeeded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trustlink/trustlink.h"

#define ECHO_OP 1u

/* read_pem reads a PEM file with tl_file_read (bounded, regular files only;
 * with TL_FILE_PRIVATE_KEY a key group or others can read is refused, as the
 * library refuses it in a client root) and NUL-terminates it. On failure it
 * prints the library's message, which names the file and the fix. */
static char *read_pem(const char *path, int32_t flags) {
  char msg[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  tl_status st;
  char *buf = malloc(TL_MAX_PEM_FILE_LEN + 1);
  if (buf == NULL) {
    fprintf(stderr, "out of memory reading %s\n", path);
    return NULL;
  }
  st = tl_file_read(path, flags, buf, TL_MAX_PEM_FILE_LEN, &len, msg,
                    sizeof(msg));
  if (st != TL_OK) {
    fprintf(stderr, "cannot read %s: %s: %s\n", path, tl_status_name(st), msg);
    free(buf);
    return NULL;
  }
  buf[len] = '\0';
  return buf;
}

static const char *state_name(int32_t state) {
  switch (state) {
    case TL_SLOT_READY:
      return "ready";
    case TL_SLOT_SERVER_DOWN:
      return "server-down";
    case TL_SLOT_REMOVED:
      return "removed";
    default:
      return "?";
  }
}

int main(int argc, char **argv) {
  tl_client_settings *settings = NULL;
  tl_client *client = NULL;
  tl_slot_list *slots = NULL;
  tl_response *response = NULL;
  char *server_pem, *cert_pem, *key_pem;
  char err[TL_ERROR_MESSAGE_MAX];
  size_t err_len = 0, i, count;
  const char *message = argc > 7 ? argv[7] : "hello from C";
  int rc = 1;
  tl_status st;

  if (argc < 7) {
    fprintf(stderr,
            "usage: %s NAME HOST PORT SERVER_CERT.pem CLIENT_CERT.pem "
            "CLIENT_KEY.pem "
            "[MESSAGE]\n",
            argv[0]);
    return 2;
  }
  server_pem = read_pem(argv[4], 0);
  cert_pem = read_pem(argv[5], 0);
  key_pem = read_pem(argv[6], TL_FILE_PRIVATE_KEY);
  if (server_pem == NULL || cert_pem == NULL || key_pem == NULL) {
    goto out;
  }
  if (tl_client_settings_new(&settings) != TL_OK) {
    goto out;
  }
  st = tl_client_settings_add_server(settings, argv[1], argv[2],
                                     (uint16_t)atoi(argv[3]), 0, server_pem);
  if (st == TL_OK) {
    st = tl_client_settings_set_identity_pem(settings, cert_pem, key_pem);
  }
  if (st == TL_OK) {
    st = tl_client_open(settings, &client);
  }
  if (st != TL_OK) {
    tl_last_error(err, sizeof(err), &err_len);
    fprintf(stderr, "open failed: %s: %s\n", tl_status_name(st), err);
    goto out;
  }
  /* tl_client_open waits for the link a few seconds at most; a busy host can
   * take longer. Read the slots once the first attempt has settled either way.
   */
  if (tl_client_wait_ready(client, 20000) != TL_OK) {
    fprintf(stderr, "the link's first attempt did not settle within 20 s\n");
    goto out;
  }

  if (tl_client_slots(client, &slots) != TL_OK) {
    goto out;
  }
  count = tl_slot_list_count(slots);
  printf("%lu slot(s)\n", (unsigned long)count);
  for (i = 0; i < count; i++) {
    int32_t id, state;
    tl_slot_list_get(slots, i, &id, &state);
    printf("  slot %d: server %s partition %s label \"%s\" serial %s (%s)\n",
           (int)id, tl_slot_list_server(slots, i),
           tl_slot_list_partition(slots, i), tl_slot_list_label(slots, i),
           tl_slot_list_serial(slots, i), state_name(state));
  }
  if (count == 0) {
    size_t n = 0;
    int32_t state;
    tl_status last;
    tl_client_server_count(client, &n);
    for (i = 0; i < n; i++) {
      tl_client_server_state(client, i, &state, &last);
      tl_client_server_error(client, i, err, sizeof(err), &err_len);
      fprintf(stderr, "server %lu: %s: %s\n", (unsigned long)i,
              tl_status_name(last), err);
    }
    goto out;
  }

  st = tl_client_call(client, 0, ECHO_OP, (const uint8_t *)message,
                      strlen(message), 5000, &response);
  if (st != TL_OK) {
    tl_client_last_error(client, err, sizeof(err), &err_len);
    fprintf(stderr, "call failed: %s: %s\n", tl_status_name(st), err);
    goto out;
  }
  printf("echo: %.*s\n", (int)tl_response_len(response),
         (const char *)tl_response_data(response));
  rc = 0;

out:
  tl_response_free(response);
  tl_slot_list_free(slots);
  tl_client_close(client);
  tl_client_settings_free(settings);
  free(server_pem);
  free(cert_pem);
  free(key_pem);
  return rc;
}
