#!/bin/bash
# libtrustlink.so.1 dlopen()ed and dlclose()d 100 times, with a real link to ntlsd opened,
# used and closed inside each round (dlopen_loop_probe.c). No library thread outlives
# tl_client_close, so none runs after the dlclose; under --config=asan the same run finds no
# leak and no use of unmapped code.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
LIBRARY="$1"; HEADERS="$(dirname "$2")"; INSTALL_TREE="$3"
PROGRAMS=("$5" "$6" "$7")
PROBE_SRC="$8"
ROUNDS=100
source tests/embedding/lib.sh

install_and_enrol
probe dlopen_loop_probe "-I$PREFIX/include" -ldl

set +e
port=$(python3 tests/lib/ntlsd_status.py "$SOCKDIR/s" --port)
timeout 600 "$W/dlopen_loop_probe" "$PREFIX/lib/libtrustlink.so.1" "$CLIENT" "$ROUNDS" \
  "$port" "$W/server.pem" >"$W/dlopen_loop.out" 2>&1
rc=$?
set -e
((rc == 0)) || fail "dlopen_loop_probe exited $rc: $(tail -40 "$W/dlopen_loop.out")"
grep -q '^PASS$' "$W/dlopen_loop.out" || fail "dlopen_loop_probe did not pass: $(cat "$W/dlopen_loop.out")"
grep rounds "$W/dlopen_loop.out"
echo PASS
