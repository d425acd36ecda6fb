#!/bin/bash
# ntlsd end to end: first start writes server.pem, the status socket answers, SIGHUP is a
# no-op, SIGTERM stops cleanly and removes the pid file and socket; a second daemon on the
# same port fails with a clear message.
set -euo pipefail
NTLSD="$1"
ROOT="$TEST_TMPDIR/appliance"
LOG="$TEST_TMPDIR/ntlsd.log"
# Unix socket paths are limited to 108 bytes; TEST_TMPDIR can be longer.
SOCKDIR="$(mktemp -d /tmp/ntlsd-test.XXXXXX)"
SOCK="$SOCKDIR/s"
"$NTLSD" --root "$ROOT" --name 127.0.0.1 --listen 127.0.0.1:0 --threads 1 \
  --log "$LOG" --pidfile "$TEST_TMPDIR/ntlsd.pid" --status-socket "$SOCK" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$SOCKDIR"' EXIT

status() {
  python3 - "$SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"status\n")
out = b""
while not out.endswith(b"end\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode())
PY
}

for i in $(seq 1 100); do
  if [ -S "$SOCK" ] && grep -q ready "$LOG"; then break; fi
  sleep 0.1  # waiting for the daemon to come up, bounded
done
test -f "$ROOT/server/server.pem" || { echo "no server.pem"; cat "$LOG"; exit 1; }
# The HTL state is opened as the serving daemon (a new boot is recorded).
test -f "$ROOT/htl/boot" || { echo "no HTL state under $ROOT/htl"; cat "$LOG"; exit 1; }
grep -q "serving HTL from $ROOT/htl" "$LOG"
openssl x509 -in "$ROOT/server/server.pem" -noout -subject | grep -q 127.0.0.1
OUT="$(status)"
echo "$OUT"
echo "$OUT" | grep -q '^listen 127.0.0.1:[0-9]'
echo "$OUT" | grep -q '^connections 0$'
echo "$OUT" | grep -q '^end$'
PORT="$(echo "$OUT" | sed -n 's/^listen 127.0.0.1:\([0-9]*\)$/\1/p')"

# An unregistered client is refused with an alert and logged.
openssl req -x509 -newkey ed25519 -keyout "$TEST_TMPDIR/k.pem" -out "$TEST_TMPDIR/c.pem" \
  -days 1 -nodes -subj /CN=stranger 2>/dev/null
if timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -alpn ntl/1 \
    -cert "$TEST_TMPDIR/c.pem" -key "$TEST_TMPDIR/k.pem" -ign_eof </dev/null \
    >"$TEST_TMPDIR/sc.out" 2>&1; then
  echo "s_client unexpectedly succeeded"; cat "$TEST_TMPDIR/sc.out"; exit 1
fi
grep -qi "certificate unknown" "$TEST_TMPDIR/sc.out"

kill -HUP $PID
for i in $(seq 1 50); do grep -q SIGHUP "$LOG" && break; sleep 0.1; done
grep -q "nothing to reload" "$LOG"

# A second daemon on the same port fails clearly.
if "$NTLSD" --root "$ROOT" --listen "127.0.0.1:$PORT" --status-socket "$SOCKDIR/2" \
    2>"$TEST_TMPDIR/second.err"; then
  echo "second ntlsd started"; exit 1
fi
grep -q "cannot listen" "$TEST_TMPDIR/second.err"

kill -TERM $PID
wait $PID
trap 'rm -rf "$SOCKDIR"' EXIT
grep -q "refused .*rule=registered" "$LOG"
grep -q stopped "$LOG"
test ! -e "$TEST_TMPDIR/ntlsd.pid"
test ! -e "$SOCK"
echo "1 passed, 0 failed"
