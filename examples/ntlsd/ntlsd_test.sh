#!/bin/bash
# ntlsd end to end: first start writes server.pem; readiness reaches
# $NOTIFY_SOCKET (a datagram listener stands in for systemd); log lines carry
# journal priority prefixes when stderr is the journal stream; the status
# socket answers; a second ntlsd on the same root fails at once and leaves the
# first's pid file and socket alone; --daemon returns the start status;
# SIGHUP reopens the log; SIGTERM stops cleanly and removes the pid file and
# socket.
set -uo pipefail
NTLSD="$1"
NOTIFY_LISTENER="$2"
# A fresh folder per run: Bazel keeps TEST_TMPDIR between runs.
WORK="$(mktemp -d "$TEST_TMPDIR/ntlsd.XXXXXX")"
ROOT="$WORK/appliance"
LOG="$WORK/ntlsd.log"
PIDF="$WORK/ntlsd.pid"
# Unix socket paths are limited to 108 bytes; TEST_TMPDIR can be longer.
SOCKDIR="$(mktemp -d /tmp/ntlsd-test.XXXXXX)"
SOCK="$SOCKDIR/s"
NOTIFY="$SOCKDIR/notify"
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$SOCKDIR"' EXIT

fail() {
  echo "FAIL: $*"
  echo "--- ntlsd log:"; cat "$LOG" 2>/dev/null
  exit 1
}

status() { python3 tests/lib/ntlsd_status.py "$1"; }

# The service manager's end of NOTIFY_SOCKET: it records every datagram and
# returns once READY=1 arrived (or fails after 20 s).
python3 "$NOTIFY_LISTENER" "$NOTIFY" "$WORK/notify.txt" &
LISTENER=$!
for i in $(seq 1 100); do [ -S "$NOTIFY" ] && break; sleep 0.05; done  # bounded

# stderr is the log file here; JOURNAL_STREAM naming it is how systemd says
# "stderr is the journal".
: >"$LOG"
JOURNAL_STREAM="$(stat -c '%d:%i' "$LOG")" NOTIFY_SOCKET="$NOTIFY" \
  "$NTLSD" --root "$ROOT" --name 127.0.0.1 --listen 127.0.0.1:0 --threads 1 \
  --log "$LOG" --pidfile "$PIDF" --status-socket "$SOCK" &
PID=$!
wait $LISTENER || fail "no READY=1 on NOTIFY_SOCKET within 20 s"
grep -qx "READY=1" "$WORK/notify.txt" || fail "no READY=1"
grep -qx "MAINPID=$PID" "$WORK/notify.txt" || fail "no MAINPID=$PID in $(cat "$WORK/notify.txt")"
test -S "$SOCK" || fail "READY before the status socket"
grep -q '^<6>ntlsd: ready$' "$LOG" || fail "no '<6>ntlsd: ready' line"
grep -q '^<6>ntlsd: listening on 127.0.0.1:' "$LOG" || fail "the library's lines lack their priority"
test "$(cat "$PIDF")" = "$PID" || fail "pid file does not hold $PID"

test -f "$ROOT/server/server.pem" || fail "no server.pem"
# The HTL state is opened as the serving daemon (a new boot is recorded).
test -f "$ROOT/htl/boot" || fail "no HTL state under $ROOT/htl"
grep -q "serving HTL from $ROOT/htl" "$LOG" || fail "no HTL line"
openssl x509 -in "$ROOT/server/server.pem" -noout -subject | grep -q 127.0.0.1 ||
  fail "server.pem is not for 127.0.0.1"
OUT="$(status "$SOCK")"
echo "$OUT"
echo "$OUT" | grep -q '^listen 127.0.0.1:[0-9]' || fail "status: no listen line"
echo "$OUT" | grep -q '^connections 0$' || fail "status: no connections line"
echo "$OUT" | grep -q "^pid $PID$" || fail "status: no pid line"
echo "$OUT" | grep -q '^end$' || fail "status: no end"
PORT="$(echo "$OUT" | sed -n 's/^listen 127.0.0.1:\([0-9]*\)$/\1/p')"

# An unregistered client is refused with an alert and logged.
openssl req -x509 -newkey ed25519 -keyout "$WORK/k.pem" -out "$WORK/c.pem" \
  -days 1 -nodes -subj /CN=stranger 2>/dev/null
if timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -alpn ntl/1 \
    -cert "$WORK/c.pem" -key "$WORK/k.pem" -ign_eof </dev/null \
    >"$WORK/sc.out" 2>&1; then
  cat "$WORK/sc.out"; fail "s_client unexpectedly succeeded"
fi
grep -qi "certificate unknown" "$WORK/sc.out" || fail "no certificate unknown alert"

# Only root and the root's owner may use the socket: with its mode loosened by
# mistake, another user is still refused (SO_PEERCRED). Needs root to switch.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c pass \
      2>/dev/null; then
  chmod 0666 "$SOCK"
  chmod o+x "$SOCKDIR"
  OTHER="$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - "$SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"stop\n")
print(s.recv(4096).decode())
PY
)"
  chmod 0600 "$SOCK"
  echo "$OTHER" | grep -q "^error permission denied" || fail "uid 65534 was not refused: $OTHER"
  status "$SOCK" | grep -q "^pid $PID$" || fail "a refused stop stopped ntlsd"
else
  echo "skipped the SO_PEERCRED check: needs root and setpriv, and a uid to switch to"
fi

# A second ntlsd on the same root fails at once, even with --daemon, and
# leaves the first's pid file and status socket alone.
"$NTLSD" --root "$ROOT" --listen 127.0.0.1:0 --daemon --pidfile "$PIDF" \
  --status-socket "$SOCK" 2>"$WORK/second.err"
RC=$?
cat "$WORK/second.err"
[ "$RC" = 1 ] || fail "second ntlsd on the same root exited $RC, expected 1"
grep -q "another ntlsd (pid $PID) already serves $ROOT" "$WORK/second.err" ||
  fail "second ntlsd: unclear message"
test "$(cat "$PIDF")" = "$PID" || fail "the second ntlsd overwrote the pid file"
status "$SOCK" | grep -q "^pid $PID$" || fail "the first's status socket is gone"

# --daemon reports a start that fails after the fork (the port is taken) by
# its exit status, and leaves no pid file.
"$NTLSD" --root "$WORK/other" --listen "127.0.0.1:$PORT" --daemon \
  --pidfile "$WORK/other.pid" --status-socket "$SOCKDIR/o" 2>"$WORK/busy.err"
RC=$?
cat "$WORK/busy.err"
[ "$RC" != 0 ] || fail "ntlsd --daemon on a busy port exited 0"
grep -q "cannot listen" "$WORK/busy.err" || fail "busy port: unclear message"
test ! -e "$WORK/other.pid" || fail "a failed start left its pid file"

# --daemon that starts returns 0 once it serves: the socket answers at once.
"$NTLSD" --root "$WORK/third" --listen 127.0.0.1:0 --daemon \
  --pidfile "$WORK/third.pid" --status-socket "$SOCKDIR/t" 2>"$WORK/third.err" ||
  fail "ntlsd --daemon did not start: $(cat "$WORK/third.err")"
THIRD="$(cat "$WORK/third.pid")"
status "$SOCKDIR/t" | grep -q "^pid $THIRD$" || fail "--daemon returned before it served"
kill -TERM "$THIRD"

# --busy-poll: refused when not a number or over the limit, naming the fix;
# a budget in range is named in the listening line.
timeout 20 "$NTLSD" --root "$WORK/spin" --listen 127.0.0.1:0 --busy-poll 50us \
  --status-socket "$SOCKDIR/b" 2>"$WORK/spin.err"
RC=$?
[ "$RC" = 2 ] || fail "--busy-poll 50us exited $RC, expected 2 (usage): $(cat "$WORK/spin.err")"
grep -q "busy-poll wants a number of microseconds (0 to 1000" "$WORK/spin.err" ||
  fail "--busy-poll 50us: unclear message: $(cat "$WORK/spin.err")"
timeout 20 "$NTLSD" --root "$WORK/spin" --listen 127.0.0.1:0 --busy-poll 5000 \
  --status-socket "$SOCKDIR/b" 2>"$WORK/spin.err"
RC=$?
[ "$RC" != 0 ] || fail "--busy-poll 5000 started"
grep -q "busy-poll budget of 5000 microseconds is over the limit of 1000" "$WORK/spin.err" ||
  fail "--busy-poll 5000: unclear message: $(cat "$WORK/spin.err")"
"$NTLSD" --root "$WORK/spin" --listen 127.0.0.1:0 --daemon --busy-poll 50 \
  --log "$WORK/spin.log" --pidfile "$WORK/spin.pid" --status-socket "$SOCKDIR/b" \
  2>"$WORK/spin.err" || fail "ntlsd --busy-poll 50 did not start: $(cat "$WORK/spin.err")"
SPIN="$(cat "$WORK/spin.pid")"
kill -TERM "$SPIN"
grep -q "listening on 127.0.0.1:[0-9]* .* busy_poll_us=50$" "$WORK/spin.log" ||
  fail "the listening line does not name busy_poll_us=50: $(cat "$WORK/spin.log")"
! grep -q "busy_poll_us" "$WORK/all.log" "$LOG" 2>/dev/null ||
  fail "a default ntlsd names a busy-poll budget"

# SIGHUP reopens the log file (logrotate moved it away).
mv "$LOG" "$LOG.1"
kill -HUP $PID
for i in $(seq 1 100); do grep -qs "reopened log file" "$LOG" && break; sleep 0.05; done
grep -q "reopened log file $LOG" "$LOG" || fail "SIGHUP did not reopen the log"
cat "$LOG.1" >>"$WORK/all.log"

kill -TERM $PID
wait $PID || fail "ntlsd exited non-zero on SIGTERM"
PID=""
grep -q stopped "$LOG" || fail "no stopped line"
grep -q "^<4>ntlsd: refused .*rule=registered" "$WORK/all.log" || fail "refusal not logged as a warning"
test ! -e "$PIDF" || fail "pid file left behind"
test ! -e "$SOCK" || fail "status socket left behind"
echo "1 passed, 0 failed"
