/* dlopen_loop_probe: load, use and unload libtrustlink.so.1 again and again,
 * as a host that loads a PKCS#11 module per session does.
 *
 *   dlopen_loop_probe LIBTRUSTLINK.so.1 CLIENT_ROOT ROUNDS PORT SERVER_PEM
 *
 * Each round dlopen()s the library RTLD_LOCAL, opens a client on CLIENT_ROOT
 * (a link to ntlsd, with its I/O thread) plus the same ntlsd (PORT,
 * SERVER_PEM) by the name "localhost", so a name lookup runs too; echoes on
 * the first slot, closes the client and dlclose()s the library. After every
 * close the process has the threads it started with (/proc/self/task): a
 * library thread left running would be executing unmapped code after the
 * dlclose. Under ASan the run also checks every round for leaks and
 * use-after-unmap. It prints "PASS" and exits 0, or says which round failed and
 * why and exits 1.
 *
 * A leak in an unloaded library is reported without symbols. To find it, set
 * TL_PROBE_PRINT_BASE (each round prints the library's load address: subtract
 * it from a frame and give the offset to addr2line -e libtrustlink.so.1), or
 * TL_PROBE_KEEP_LOADED (no dlclose; memory a global still points to is then
 * not reported at all, which tells such a leak from a lost pointer). */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_calls.h"
#include "trustlink/trustlink.h"

struct api {
  const char *(*status_name)(tl_status);
  tl_status (*last_error)(char *, size_t, size_t *);
  tl_status (*settings_new)(tl_client_settings **);
  tl_status (*settings_load_root)(tl_client_settings *, const char *);
  tl_status (*settings_add_server)(tl_client_settings *, const char *,
                                   const char *, uint16_t, int32_t,
                                   const char *);
  void (*settings_free)(tl_client_settings *);
  tl_status (*client_open)(const tl_client_settings *, tl_client **);
  tl_status (*client_wait_ready)(tl_client *, uint32_t);
  tl_status (*client_slots)(tl_client *, tl_slot_list **);
  size_t (*slot_list_count)(const tl_slot_list *);
  tl_status (*slot_list_get)(const tl_slot_list *, size_t, int32_t *,
                             int32_t *);
  void (*slot_list_free)(tl_slot_list *);
  tl_status (*client_call)(tl_client *, int32_t, uint32_t, const uint8_t *,
                           size_t, uint32_t, tl_response **);
  size_t (*response_len)(const tl_response *);
  void (*response_free)(tl_response *);
  void (*client_close)(tl_client *);
};

static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  while (d != NULL && (e = readdir(d)) != NULL) {
    n += e->d_name[0] != '.';
  }
  if (d != NULL) {
    closedir(d);
  }
  return n;
}

#define BIND(field, symbol)                                         \
  do {                                                              \
    *(void **)&a->field = dlsym(lib, #symbol);                      \
    if (a->field == NULL) {                                         \
      fprintf(stderr, "the library does not export %s\n", #symbol); \
      return 0;                                                     \
    }                                                               \
  } while (0)

static int bind_api(struct api *a, void *lib) {
  BIND(status_name, tl_status_name);
  BIND(last_error, tl_last_error);
  BIND(settings_new, tl_client_settings_new);
  BIND(settings_load_root, tl_client_settings_load_root);
  BIND(settings_add_server, tl_client_settings_add_server);
  BIND(settings_free, tl_client_settings_free);
  BIND(client_open, tl_client_open);
  BIND(client_wait_ready, tl_client_wait_ready);
  BIND(client_slots, tl_client_slots);
  BIND(slot_list_count, tl_slot_list_count);
  BIND(slot_list_get, tl_slot_list_get);
  BIND(slot_list_free, tl_slot_list_free);
  BIND(client_call, tl_client_call);
  BIND(response_len, tl_response_len);
  BIND(response_free, tl_response_free);
  BIND(client_close, tl_client_close);
  return 1;
}

/* one_round opens a link, echoes and closes; 1 on success. */
static char g_pem[65536];
static uint16_t g_port;

static int one_round(const struct api *a, const char *root, int round) {
  tl_client_settings *settings = NULL;
  tl_client *client = NULL;
  tl_slot_list *slots = NULL;
  tl_response *r = NULL;
  char err[TL_ERROR_MESSAGE_MAX] = "";
  size_t len = 0;
  int32_t slot = -1, state = 0;
  int ok = 0;
  tl_status st = a->settings_new(&settings);
  if (st == TL_OK) st = a->settings_load_root(settings, root);
  if (st == TL_OK) {
    st = a->settings_add_server(settings, "byname", "localhost", g_port, 0,
                                g_pem);
  }
  if (st == TL_OK) st = a->client_open(settings, &client);
  if (st == TL_OK) st = a->client_wait_ready(client, 20000);
  if (st == TL_OK) st = a->client_slots(client, &slots);
  if (st == TL_OK && a->slot_list_count(slots) > 0) {
    a->slot_list_get(slots, 0, &slot, &state);
    st = a->client_call(client, slot, ECHO_OP, (const uint8_t *)"round", 5,
                        10000, &r);
    ok = st == TL_OK && a->response_len(r) == 5;
  }
  if (!ok) {
    a->last_error(err, sizeof(err), &len);
    fprintf(stderr, "round %d: no echo (%s): %s\n", round, a->status_name(st),
            err);
  }
  a->response_free(r);
  a->slot_list_free(slots);
  a->client_close(client);
  a->settings_free(settings);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr,
            "usage: %s LIBTRUSTLINK.so.1 CLIENT_ROOT ROUNDS PORT SERVER_PEM\n",
            argv[0]);
    return 2;
  }
  g_port = (uint16_t)atoi(argv[4]);
  if (!read_file(argv[5], g_pem, sizeof(g_pem))) {
    return 2;
  }
  const char *path = argv[1];
  const int rounds = atoi(argv[3]);
  const int start_threads = thread_count();
  int unloaded = 0;
  for (int i = 0; i < rounds; i++) {
    struct api a;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
      fprintf(stderr, "round %d: dlopen %s: %s\n", i, path, dlerror());
      return 1;
    }
    if (!bind_api(&a, lib)) {
      return 1;
    }
    if (getenv("TL_PROBE_PRINT_BASE") != NULL) {
      Dl_info info;
      if (dladdr(*(void **)&a.status_name, &info) != 0) {
        printf("round %d base %p\n", i, info.dli_fbase);
      }
    }
    if (!one_round(&a, argv[2], i)) {
      return 1;
    }
    if (thread_count() != start_threads) {
      fprintf(stderr,
              "round %d: %d threads after tl_client_close, %d before "
              "the library was loaded\n",
              i, thread_count(), start_threads);
      return 1;
    }
    if (getenv("TL_PROBE_KEEP_LOADED") != NULL) {
      continue; /* to symbolise a leak report: the library stays mapped */
    }
    if (dlclose(lib) != 0) {
      fprintf(stderr, "round %d: dlclose: %s\n", i, dlerror());
      return 1;
    }
    /* Whether the library really left the process (RTLD_NOLOAD finds it only
     * if it is still mapped). */
    void *still = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (still == NULL) {
      unloaded++;
    } else {
      dlclose(still);
    }
  }
  if (thread_count() != start_threads) {
    fprintf(stderr, "%d threads at the end, %d at the start\n", thread_count(),
            start_threads);
    return 1;
  }
  printf(
      "%d rounds: a link opened, used and closed in each; the library was "
      "unmapped after %d of the dlcloses; threads back to %d every time\n",
      rounds, unloaded, start_threads);
  printf("PASS\n");
  return 0;
}
