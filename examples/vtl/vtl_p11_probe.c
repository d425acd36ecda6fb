/* vtl p11 setup's probe, apart from vtl_p11.c so that a test can drive it
 * against a server whose answers it controls. */
#include "examples/vtl/vtl_p11_probe.h"

#include <poll.h>
#include <unistd.h>

/* ProbeData and ProbeClose carry a probe's stream callbacks to the waiting
 * thread through a pipe: 'D' for data, 'N' for a close meaning "no token", 'C'
 * for another close. */
static void ProbeData(void *userdata, const uint8_t *data, size_t len) {
  const int *fds = userdata;
  (void)data;
  if (len > 0) (void)!write(fds[1], "D", 1);
}

static void ProbeClose(void *userdata, tl_status status, const char *message) {
  const int *fds = userdata;
  (void)message;
  (void)!write(fds[1], status == TL_E_NOT_FOUND ? "N" : "C", 1);
}

int VtlP11ProbeToken(tl_client *client, int32_t slot, const int fds[2],
                     int timeout_ms) {
  uint64_t stream = 0;
  if (tl_client_stream_open(client, slot, "pkcs11", ProbeData, ProbeClose,
                            (void *)fds, &stream) != TL_OK) {
    return -1;
  }
  const uint8_t version = 0;
  const tl_status sent = tl_client_stream_send(client, stream, &version, 1);
  /* TL_E_NOT_FOUND: the server closed the stream before the byte went out, as
   * it does at once for a partition without a token. The close, with its
   * reason, has then reached ProbeClose or is on its way, so it is awaited
   * like any answer rather than taken for silence. */
  if (sent != TL_OK && sent != TL_E_NOT_FOUND) {
    tl_client_stream_close(client, stream);
    return -1;
  }
  int result = -1;
  char event = 0;
  struct pollfd p = {fds[0], POLLIN, 0};
  if (poll(&p, 1, timeout_ms) == 1 && read(fds[0], &event, 1) == 1) {
    result = event == 'D' ? 1 : event == 'N' ? 0 : -1;
  }
  if (event != 'N' && event != 'C') tl_client_stream_close(client, stream);
  return result;
}
