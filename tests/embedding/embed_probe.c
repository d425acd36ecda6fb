/* embed_probe: a host program the way vendors embed trustlink, beside OpenSSL.
 *
 *   embed_probe [LIBTRUSTLINK.so.1] CLIENT_ROOT MESSAGE
 *
 * It loads the client root (PEM parsing: where a mis-bound BoringSSL crashed),
 * opens the link, lists the slots and echoes MESSAGE on the first one. Build
 * variants put OpenSSL in the process around those calls:
 *   EMBED_WITH_CURL         curl_easy_init() (Debian's libcurl is built on
 *                           OpenSSL 3) before and after the link is opened;
 *   EMBED_DLOPEN_LIBSSL     dlopen("libssl.so.3", RTLD_GLOBAL) first, and
 *                           OpenSSL makes an SSL_CTX before and after;
 *   EMBED_DLOPEN_TRUSTLINK  trustlink itself is dlopen()ed RTLD_LOCAL from the
 *                           first argument, as PKCS#11 modules are loaded.
 * Without any of them it is the plain out-of-tree program of the install test.
 * It prints "echo: MESSAGE" and exits 0 when the call succeeded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(EMBED_DLOPEN_LIBSSL) || defined(EMBED_DLOPEN_TRUSTLINK)
#include <dlfcn.h>
#endif
#ifdef EMBED_WITH_CURL
#include <curl/curl.h>
#endif

#include "trustlink/trustlink.h"

#define ECHO_OP 1u

/* The slice of the C ABI the probe uses, bound directly or through dlsym. */
struct api {
  const char *(*version_string)(void);
  const char *(*status_name)(tl_status);
  tl_status (*settings_new)(tl_client_settings **);
  tl_status (*settings_load_root)(tl_client_settings *, const char *);
  tl_status (*settings_last_error)(const tl_client_settings *, char *, size_t,
                                   size_t *);
  void (*settings_free)(tl_client_settings *);
  tl_status (*client_open)(const tl_client_settings *, tl_client **);
  tl_status (*client_wait_ready)(tl_client *, uint32_t);
  tl_status (*client_slots)(tl_client *, tl_slot_list **);
  size_t (*slot_list_count)(const tl_slot_list *);
  tl_status (*slot_list_get)(const tl_slot_list *, size_t, int32_t *,
                             int32_t *);
  const char *(*slot_list_partition)(const tl_slot_list *, size_t);
  void (*slot_list_free)(tl_slot_list *);
  tl_status (*client_call)(tl_client *, int32_t, uint32_t, const uint8_t *,
                           size_t, uint32_t, tl_response **);
  const uint8_t *(*response_data)(const tl_response *);
  size_t (*response_len)(const tl_response *);
  void (*response_free)(tl_response *);
  tl_status (*client_last_error)(const tl_client *, char *, size_t, size_t *);
  void (*client_close)(tl_client *);
};

#ifdef EMBED_DLOPEN_TRUSTLINK
#define BIND(field, symbol)                                      \
  do {                                                           \
    *(void **)&a->field = dlsym(lib, #symbol);                   \
    if (a->field == NULL) {                                      \
      fprintf(stderr, "%s does not export %s\n", path, #symbol); \
      return 0;                                                  \
    }                                                            \
  } while (0)
#else
#define BIND(field, symbol) (a->field = symbol)
#endif

static int bind_api(struct api *a, const char *path) {
#ifdef EMBED_DLOPEN_TRUSTLINK
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    return 0;
  }
#else
  (void)path;
#endif
  BIND(version_string, tl_version_string);
  BIND(status_name, tl_status_name);
  BIND(settings_new, tl_client_settings_new);
  BIND(settings_load_root, tl_client_settings_load_root);
  BIND(settings_last_error, tl_client_settings_last_error);
  BIND(settings_free, tl_client_settings_free);
  BIND(client_open, tl_client_open);
  BIND(client_wait_ready, tl_client_wait_ready);
  BIND(client_slots, tl_client_slots);
  BIND(slot_list_count, tl_slot_list_count);
  BIND(slot_list_get, tl_slot_list_get);
  BIND(slot_list_partition, tl_slot_list_partition);
  BIND(slot_list_free, tl_slot_list_free);
  BIND(client_call, tl_client_call);
  BIND(response_data, tl_response_data);
  BIND(response_len, tl_response_len);
  BIND(response_free, tl_response_free);
  BIND(client_last_error, tl_client_last_error);
  BIND(client_close, tl_client_close);
  return 1;
}

/* use_openssl exercises OpenSSL in the same process: its allocator, its
 * globals, and the symbol names it shares with BoringSSL. */
static int use_openssl(const char *when) {
#ifdef EMBED_WITH_CURL
  CURL *curl = curl_easy_init();
  if (curl == NULL) {
    fprintf(stderr, "curl_easy_init failed %s\n", when);
    return 0;
  }
  curl_easy_cleanup(curl);
  printf("curl (%s) ok %s\n", curl_version_info(CURLVERSION_NOW)->ssl_version,
         when);
#endif
#ifdef EMBED_DLOPEN_LIBSSL
  void *ssl = dlopen("libssl.so.3", RTLD_NOW | RTLD_GLOBAL);
  const void *(*tls_method)(void);
  void *(*ctx_new)(const void *);
  void (*ctx_free)(void *);
  void *ctx;
  if (ssl == NULL) {
    fprintf(stderr, "dlopen libssl.so.3: %s\n", dlerror());
    return 0;
  }
  *(void **)&tls_method = dlsym(ssl, "TLS_method");
  *(void **)&ctx_new = dlsym(ssl, "SSL_CTX_new");
  *(void **)&ctx_free = dlsym(ssl, "SSL_CTX_free");
  if (tls_method == NULL || ctx_new == NULL || ctx_free == NULL ||
      (ctx = ctx_new(tls_method())) == NULL) {
    fprintf(stderr, "OpenSSL's SSL_CTX_new failed %s\n", when);
    return 0;
  }
  ctx_free(ctx);
  printf("OpenSSL SSL_CTX ok %s\n", when);
#endif
  (void)when;
  return 1;
}

int main(int argc, char **argv) {
  struct api a;
  tl_client_settings *settings = NULL;
  tl_client *client = NULL;
  tl_slot_list *slots = NULL;
  tl_response *response = NULL;
  char err[TL_ERROR_MESSAGE_MAX];
  size_t err_len = 0;
  int rc = 1;
  tl_status st;
#ifdef EMBED_DLOPEN_TRUSTLINK
  const int first = 2;
#else
  const int first = 1;
#endif
  const char *root, *message;

  if (argc != first + 2) {
    fprintf(stderr, "usage: %s %sCLIENT_ROOT MESSAGE\n", argv[0],
            first == 2 ? "LIBTRUSTLINK.so.1 " : "");
    return 2;
  }
  root = argv[first];
  message = argv[first + 1];
  if (!use_openssl("before the link") || !bind_api(&a, argv[1])) {
    return 1;
  }
  printf("trustlink %s\n", a.version_string());

  st = a.settings_new(&settings);
  if (st == TL_OK) {
    st = a.settings_load_root(settings, root);
  }
  if (st == TL_OK) {
    st = a.client_open(settings, &client);
  }
  if (st != TL_OK) {
    a.settings_last_error(settings, err, sizeof(err), &err_len);
    fprintf(stderr, "open failed: %s: %s\n", a.status_name(st), err);
    goto out;
  }
  if (!use_openssl("with the link open")) {
    goto out;
  }
  /* The first attempt must have settled before the slots say anything. */
  st = a.client_wait_ready(client, 20000);
  if (st == TL_OK) {
    st = a.client_slots(client, &slots);
  }
  if (st != TL_OK || a.slot_list_count(slots) == 0) {
    fprintf(stderr, "no slots (%s)\n", a.status_name(st));
    goto out;
  }
  {
    int32_t id, state;
    a.slot_list_get(slots, 0, &id, &state);
    printf("slot %d: %s\n", (int)id, a.slot_list_partition(slots, 0));
    st = a.client_call(client, id, ECHO_OP, (const uint8_t *)message,
                       strlen(message), 10000, &response);
  }
  if (st != TL_OK) {
    a.client_last_error(client, err, sizeof(err), &err_len);
    fprintf(stderr, "call failed: %s: %s\n", a.status_name(st), err);
    goto out;
  }
  printf("echo: %.*s\n", (int)a.response_len(response),
         (const char *)a.response_data(response));
  rc = 0;

out:
  if (response != NULL) {
    a.response_free(response);
  }
  if (slots != NULL) {
    a.slot_list_free(slots);
  }
  if (client != NULL) {
    a.client_close(client);
  }
  if (settings != NULL) {
    a.settings_free(settings);
  }
  if (rc == 0 && !use_openssl("after the link closed")) {
    rc = 1;
  }
  return rc;
}
