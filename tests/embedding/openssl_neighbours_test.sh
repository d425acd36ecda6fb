#!/bin/bash
# libtrustlink.so.1 lives beside OpenSSL 3 in one process. Each program makes a real link to
# ntlsd and a real call through the shared library:
#   curl_first / trustlink_first  linked with Debian's libcurl (OpenSSL 3) in both orders,
#                                 curl_easy_init() before and after the link is opened;
#   libssl_global                 dlopen("libssl.so.3", RTLD_GLOBAL) before anything else;
#   dlopened                      loads trustlink itself with dlopen(RTLD_LOCAL), as PKCS#11
#                                 modules are loaded, in a program linked with libcurl.
# Before the BoringSSL build was linked in statically, each of these aborted in
# tl_client_settings_load_root with "free(): invalid pointer".
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
LIBRARY="$1"; HEADERS="$(dirname "$2")"; INSTALL_TREE="$3"; PROBE_SRC="$4"
PROGRAMS=("$5" "$6" "$7")
source tests/embedding/lib.sh

install_and_enrol
inc="-I$PREFIX/include"
lib="-L$PREFIX/lib"
export LD_LIBRARY_PATH="$PREFIX/lib"

probe curl_first "$inc" -DEMBED_WITH_CURL -lcurl "$lib" -ltrustlink
probe trustlink_first "$inc" -DEMBED_WITH_CURL "$lib" -ltrustlink -lcurl
# The link order decides which library's symbols come first in the global scope.
order() { readelf -d "$W/$1" | sed -n 's/.*(NEEDED).*\[\(lib[a-z]*\).*/\1/p' | grep -E 'libcurl|libtrustlink' | tr '\n' ' '; }
[[ "$(order curl_first)" == "libcurl libtrustlink " ]] || fail "curl_first links in the order: $(order curl_first)"
[[ "$(order trustlink_first)" == "libtrustlink libcurl " ]] || fail "trustlink_first links in the order: $(order trustlink_first)"
probe libssl_global "$inc" -DEMBED_DLOPEN_LIBSSL "$lib" -ltrustlink -ldl
probe dlopened "$inc" -DEMBED_DLOPEN_TRUSTLINK -DEMBED_WITH_CURL -lcurl -ldl

expect_echo curl_first
expect_echo trustlink_first
expect_echo libssl_global
grep -q "OpenSSL SSL_CTX ok after the link closed" "$W/libssl_global.out" ||
  fail "libssl_global did not use OpenSSL after the link: $(cat "$W/libssl_global.out")"
expect_echo dlopened "$PREFIX/lib/libtrustlink.so.1"
grep -q "^curl (OpenSSL/3" "$W/dlopened.out" || fail "libcurl in this process is not on OpenSSL 3: $(cat "$W/dlopened.out")"
echo PASS
