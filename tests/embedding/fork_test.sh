#!/bin/bash
# fork() and libtrustlink.so.1 (docs/c-api.md, "Fork"), with a real ntlsd:
#   fork_probe         a client process forks while two threads keep calling; each child
#                      gets TL_E_FORKED on the inherited client, closes it, and calls on its
#                      own client; the parent's calls never fail and its link never drops.
#   server_fork_probe  a process serving links with tl_server forks; the child gets
#                      TL_E_FORKED, frees the inherited server (closing its copy of the
#                      listener) and runs its own; the parent serves vtl's calls throughout.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
LIBRARY="$1"; HEADERS="$(dirname "$2")"; INSTALL_TREE="$3"; PROBE_SRC="$4"
PROGRAMS=("$5" "$6" "$7")
FORK_PROBE="$8"; SERVER_FORK_PROBE="$9"
source tests/embedding/lib.sh

install_and_enrol
export LD_LIBRARY_PATH="$PREFIX/lib"
PROBE_SRC="$FORK_PROBE"
probe fork_probe "-I$PREFIX/include" "-L$PREFIX/lib" -ltrustlink -lpthread

set +e; timeout 120 "$W/fork_probe" "$CLIENT" >"$W/fork_probe.out" 2>&1; rc=$?; set -e
((rc == 0)) || fail "fork_probe exited $rc: $(cat "$W/fork_probe.out")"
grep -q '^PASS$' "$W/fork_probe.out" || fail "fork_probe did not pass: $(cat "$W/fork_probe.out")"
grep '^parent:' "$W/fork_probe.out"
grep -m1 '^child' "$W/fork_probe.out"

PROBE_SRC="$SERVER_FORK_PROBE"
probe server_fork_probe "-I$PREFIX/include" "-L$PREFIX/lib" -ltrustlink -lpthread
set +e
timeout 120 "$W/server_fork_probe" "$W/appliance" "$CLIENT" "$W/server.pem" >"$W/server_fork_probe.out" 2>&1
rc=$?
set -e
((rc == 0)) || fail "server_fork_probe exited $rc: $(cat "$W/server_fork_probe.out")"
grep -q '^PASS$' "$W/server_fork_probe.out" || fail "server_fork_probe did not pass: $(cat "$W/server_fork_probe.out")"
grep -E '^(parent|child):' "$W/server_fork_probe.out"
echo PASS
