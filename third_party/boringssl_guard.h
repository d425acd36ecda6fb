#ifndef TRUSTLINK_THIRD_PARTY_BORINGSSL_GUARD_H_
#define TRUSTLINK_THIRD_PARTY_BORINGSSL_GUARD_H_

// Every translation unit that uses <openssl/...> through
// //third_party:boringssl sees this check. OpenSSL 3's headers are installed
// too, and a wrong include order would compile silently against them and then
// fail in odd ways at link or run time.
#include <openssl/base.h>

#if !defined(OPENSSL_IS_BORINGSSL)
#error \
    "<openssl/base.h> is not BoringSSL: @boringssl//:ssl's src/include must come before /usr/include"
#endif

#endif  // TRUSTLINK_THIRD_PARTY_BORINGSSL_GUARD_H_
