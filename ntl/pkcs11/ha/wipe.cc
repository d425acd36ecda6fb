#include "ntl/pkcs11/ha/wipe.h"

namespace trustlink::ntl::pkcs11::ha {

void ZeroString(std::string* s) {
  volatile char* p = s->empty() ? nullptr : &(*s)[0];
  for (size_t i = 0; i < s->size(); ++i) {
    p[i] = 0;
  }
  s->clear();
}

}  // namespace trustlink::ntl::pkcs11::ha
