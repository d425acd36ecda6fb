#!/bin/bash
# Runs the C example against the fake NTLS peer on loopback: it lists the slot and echoes;
# a client key that others can read is refused with a message naming the fix.
#
# Every failure says why: the ERR trap names the failed command and its line, and prints the
# fake server's output and c_client's. (The test once exited 2 with nothing printed: the
# port was read from server.out before the background job had created the file, and `sed`
# exits 2 on a missing file; server.out is now made before the server starts.)
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode
c_client="$1"
fake_server="$2"
tls=testdata/tls
dir="$(mktemp -d "${TEST_TMPDIR:-/tmp}/c_client.XXXXXX")"
pid=""

show_output() {
  echo "--- fake server output ($dir/server.out):"; cat "$dir/server.out" 2>/dev/null || true
  echo "--- c_client output:"; cat "$dir/client.out" 2>/dev/null || true
}
# This test's fail and ERR trap replace the shared ones: both also show the two programs'
# output.
fail() { echo "FAIL: $*"; show_output; exit 1; }
trap 'rc=$?; echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited $rc"; show_output; exit "$rc"' ERR
trap '[ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }' EXIT

# The key as vtl createCert leaves it (0600): a checkout's mode depends on the umask.
install -m 0600 "$tls/client_ed25519.key.pem" "$dir/client.key.pem"

mkfifo "$dir/stdin"
exec 3<>"$dir/stdin"  # held open so the server serves until this script exits
: >"$dir/server.out"  # exists before the first read below, whatever the scheduling
"$fake_server" "$tls/server_ed25519.cert.pem" "$tls/server_ed25519.key.pem" part1 \
  >"$dir/server.out" 2>&1 <"$dir/stdin" 3>&- &
pid=$!

# Wait for "PORT n" with a deadline; a server that died is reported at once.
port=""
deadline=$((SECONDS + 30))
while [ -z "$port" ]; do
  port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$dir/server.out")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || fail "fake server exited before printing its port"
  [ "$SECONDS" -lt "$deadline" ] || fail "fake server printed no port within 30 s"
  sleep 0.05
done

run_client() {  # run_client KEY: c_client's stdout and stderr go to client.out
  "$c_client" hsm1 127.0.0.1 "$port" "$tls/server_ed25519.cert.pem" \
    "$tls/client_ed25519.cert.pem" "$1" "hi there" >"$dir/client.out" 2>&1
}

run_client "$dir/client.key.pem" || fail "c_client exited $?"
cat "$dir/client.out"
grep -q 'slot 0: server hsm1 partition part1' "$dir/client.out" || fail "slot 0 not listed"
grep -q '^echo: hi there$' "$dir/client.out" || fail "no echo"

# A key others can read is refused before any connection, naming the file and the fix.
chmod 0644 "$dir/client.key.pem"
rc=0
run_client "$dir/client.key.pem" || rc=$?
[ "$rc" = 1 ] || fail "c_client with a 0644 key exited $rc, want 1"
grep -qF "private key $dir/client.key.pem has mode 0644: group or others can access it; run: chmod 600 $dir/client.key.pem" \
  "$dir/client.out" || fail "no key-permission refusal"
grep -q 'TL_E_KEY_PERMISSIONS' "$dir/client.out" || fail "status not TL_E_KEY_PERMISSIONS"
echo PASS
