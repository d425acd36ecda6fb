#!/bin/bash
# tools/install_tree lays out headers, libtrustlink.so.1.M.P with its links, trustlink.pc and
# the programs; the installed ntlsd, ntlsh and vtl run from the prefix; and an out-of-tree C
# program built with `cc $(pkg-config --cflags --libs trustlink)` links, calls and echoes.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
LIBRARY="$1"; HEADERS="$(dirname "$2")"; INSTALL_TREE="$3"; PROBE_SRC="$4"
PROGRAMS=("$5" "$6" "$7")
source tests/embedding/lib.sh

install_and_enrol
for f in include/trustlink/trustlink.h lib/libtrustlink.so.1 lib/libtrustlink.so \
  lib/pkgconfig/trustlink.pc bin/ntlsd bin/ntlsh bin/vtl; do
  [[ -e "$PREFIX/$f" ]] || fail "the install has no $f"
done
real=$(readlink -f "$PREFIX/lib/libtrustlink.so")
[[ "$real" =~ /libtrustlink\.so\.1\.[0-9]+\.[0-9]+$ ]] || fail "libtrustlink.so resolves to $real"
for b in ntlsd ntlsh vtl; do
  rp=$(readelf -d "$PREFIX/bin/$b" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  [[ "$rp" == '$ORIGIN/../lib' ]] || fail "bin/$b has RUNPATH '$rp', want \$ORIGIN/../lib"
done

export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
[[ "$(pkg-config --modversion trustlink)" =~ ^1\. ]] || fail "pkg-config --modversion: $(pkg-config --modversion trustlink)"
# shellcheck disable=SC2046
probe app $(pkg-config --cflags --libs trustlink)
LD_LIBRARY_PATH="$PREFIX/lib" expect_echo app
echo PASS
