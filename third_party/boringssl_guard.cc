// Compiles the guard at least once even when no dependent includes it.
#include "third_party/boringssl_guard.h"
