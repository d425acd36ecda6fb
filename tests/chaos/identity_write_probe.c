/* identity_write_probe: makes a fresh identity for probe.example and writes it
 * with tl_identity_write(force) into DIR as probe.pem and probeKey.pem, the
 * library call identity_write_kill_test.sh kills at every step.
 *
 *   identity_write_probe DIR
 *
 * Prints the new certificate's fingerprint. Exit 0 when written; 1 with the
 * library's message on stderr otherwise. */
#include <stdio.h>

#include "trustlink/trustlink.h"

int main(int argc, char **argv) {
  tl_identity_options *options = NULL;
  tl_identity *identity = NULL;
  const char *fingerprint = NULL;
  char message[4096] = "";
  size_t message_len = 0;
  int rc = 1;
  if (argc != 2) {
    fprintf(stderr, "usage: identity_write_probe DIR\n");
    return 2;
  }
  if (tl_identity_options_new(&options) != TL_OK ||
      tl_identity_create(options, "probe.example", &identity) != TL_OK) {
    tl_identity_options_last_error(options, message, sizeof message,
                                   &message_len);
    fprintf(stderr, "identity_write_probe: cannot make an identity: %s\n",
            message);
    goto done;
  }
  if (tl_identity_write(identity, argv[1], "probe.pem", "probeKey.pem", 1) !=
      TL_OK) {
    tl_identity_last_error(identity, message, sizeof message, &message_len);
    fprintf(stderr, "identity_write_probe: %s\n", message);
    goto done;
  }
  tl_identity_fingerprint(identity, &fingerprint);
  printf("%s\n", fingerprint);
  rc = 0;
done:
  tl_identity_free(identity);
  tl_identity_options_free(options);
  return rc;
}
