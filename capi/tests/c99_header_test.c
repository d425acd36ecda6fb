/* Compiled as C99 with -Wstrict-prototypes -Werror: the public header must stay
 * plain C that any C compiler and any FFI generator can read. It also pins the
 * sizes that bindings hard-code, and checks the version macros against the
 * library. */
#include <stdio.h>
#include <string.h>

#include "trustlink/trustlink.h"

/* C99 has no _Static_assert; a negative array size fails the build instead. */
#define TL_PIN(name, cond) typedef char tl_pin_##name[(cond) ? 1 : -1]

TL_PIN(status_is_32_bits, sizeof(tl_status) == 4);
TL_PIN(status_is_signed, (tl_status)-1 < 0);
TL_PIN(ok_is_zero, TL_OK == 0);
TL_PIN(error_max_fits_a_stack_buffer, TL_ERROR_MESSAGE_MAX == 1024);
TL_PIN(version_number_formula,
       TL_VERSION_NUMBER == TL_VERSION_MAJOR * 1000000 +
                                TL_VERSION_MINOR * 1000 + TL_VERSION_PATCH);

int main(void) {
  char expected[32];
  int failures = 0;
  if (tl_version_number() != (uint32_t)TL_VERSION_NUMBER) {
    fprintf(stderr, "tl_version_number() = %u, header says %u\n",
            (unsigned)tl_version_number(), (unsigned)TL_VERSION_NUMBER);
    failures++;
  }
  snprintf(expected, sizeof(expected), "%d.%d.%d", TL_VERSION_MAJOR,
           TL_VERSION_MINOR, TL_VERSION_PATCH);
  if (strcmp(tl_version_string(), expected) != 0 ||
      strcmp(TL_VERSION_STRING, expected) != 0) {
    fprintf(stderr, "version strings disagree: %s / %s / %s\n",
            tl_version_string(), TL_VERSION_STRING, expected);
    failures++;
  }
  if (tl_error_message_max() != TL_ERROR_MESSAGE_MAX) {
    fprintf(stderr,
            "tl_error_message_max() disagrees with TL_ERROR_MESSAGE_MAX\n");
    failures++;
  }
  if (strcmp(tl_status_name(TL_E_NOT_FOUND), "TL_E_NOT_FOUND") != 0) {
    fprintf(stderr, "tl_status_name(TL_E_NOT_FOUND) = %s\n",
            tl_status_name(TL_E_NOT_FOUND));
    failures++;
  }
  return failures == 0 ? 0 : 1;
}
