// Compiled as C++98 with -pedantic -Werror: trustlink.h must serve C++ programs
// built with any standard, so TL_NOEXCEPT is not `noexcept` before C++11. The
// program also makes a failing call and reads it back through tl_last_error,
// so the declarations are seen to link against the library.
#include <cstdio>
#include <cstring>

#include "trustlink/trustlink.h"

#if __cplusplus >= 201103L
#error "this test must be compiled as C++98 (see capi/BUILD.bazel)"
#endif

int main() {
  int failures = 0;
  if (tl_version_number() != static_cast<uint32_t>(TL_VERSION_NUMBER)) {
    std::fprintf(stderr, "tl_version_number() disagrees with the header\n");
    failures++;
  }
  tl_client_settings* settings = NULL;
  if (tl_client_open(settings, NULL) != TL_E_INVALID_ARGUMENT) {
    std::fprintf(stderr, "tl_client_open(NULL, NULL) was not refused\n");
    failures++;
  }
  char message[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  if (tl_last_error(message, sizeof(message), &len) != TL_OK ||
      std::strstr(message, "tl_client_open") == NULL) {
    std::fprintf(stderr, "tl_last_error did not name tl_client_open\n");
    failures++;
  }
  return failures == 0 ? 0 : 1;
}
