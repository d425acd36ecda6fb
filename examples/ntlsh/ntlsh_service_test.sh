#!/bin/bash
# ntlsh's service commands against a real ntlsd (docs/appliance.md, "The NTLS
# service"): nothing succeeds on a stopped daemon; start, a second start and a
# second ntlsd are told apart; `ntls bind` refuses an address the host lacks;
# after `ntls bind -port P2` and `ntls tcp_keepalive set`, `service restart
# ntls` leaves ntlsd listening on P2 with the new keep-alive on new links (as
# the kernel reports it, ss -tnoie); stop, then status says stopped.
set -uo pipefail
NTLSH="$1"
export TRUSTLINK_NTLSD="$2"
# Unix socket paths are limited to 108 bytes and the status socket lives in the
# root, so the root is a short path under /tmp.
BASE="$(mktemp -d /tmp/ntlsh-svc.XXXXXX)"
ROOT="$BASE/appliance"
OUT="$BASE/out"

cleanup() {
  # A daemon left running by a failed step: its pid is in the lock file.
  if [ -f "$ROOT/ntlsd.lock" ]; then
    pid="$(cat "$ROOT/ntlsd.lock" 2>/dev/null || true)"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  fi
  [ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
  rm -rf "$BASE"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  echo "--- last output:"; cat "$OUT" 2>/dev/null
  echo "--- ntlsd log:"; cat "$ROOT/ntlsd.log" 2>/dev/null
  exit 1
}

# run EXPECTED_EXIT ARGS...: runs ntlsh, keeps its output in $OUT.
run() {
  local want="$1"; shift
  "$NTLSH" --root "$ROOT" "$@" >"$OUT" 2>&1
  local got=$?
  [ "$got" = "$want" ] || fail "ntlsh $* exited $got, expected $want"
}

expect() { grep -q -- "$1" "$OUT" || fail "output lacks '$1'"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
P1="$(free_port)"
P2="$(free_port)"
while [ "$P2" = "$P1" ]; do P2="$(free_port)"; done

run 0 ntls bind -address 127.0.0.1 -port "$P1"
expect "take effect at the next: ntlsh service restart ntls"

# Nothing succeeds when nothing runs.
run 1 service status ntls
expect "Status  *: stopped"
expect "ntls is not running"
run 1 service restart ntls
expect "nothing to restart"
run 1 service stop ntls
expect "nothing to stop"
run 0 service list
expect "ntls *stopped"
run 0 ntls information show
expect "0 (DOWN)"

# An address this host does not have is refused before it is stored.
run 1 ntls bind -address 192.0.2.1
expect "is not an address of this host"
run 0 ntls show
expect "NTLS bind address *: 127.0.0.1"

run 0 service start ntls
expect "Status *: running"
expect "Listening on *: 127.0.0.1:$P1"
PID="$(sed -n 's/^PID *: //p' "$OUT")"
[ -n "$PID" ] && kill -0 "$PID" || fail "no running ntlsd pid after start"
run 1 service start ntls
expect "already running (pid $PID)"
run 0 service list
expect "ntls *running *$PID"

# A second ntlsd on the same root fails at once, and leaves the first alone.
"$TRUSTLINK_NTLSD" --root "$ROOT" --daemon >"$OUT" 2>&1 && fail "a second ntlsd started"
expect "another ntlsd (pid $PID) already serves"
run 0 service status ntls
expect "PID *: $PID"

# The settings: keep-alive applies to new links, the bind at restart.
run 0 ntls bind -port "$P2"
run 0 ntls tcp_keepalive set -idle 30 -interval 5 -probes 3
expect "Applies at once to new links"
# The reference guide's spelling of the same command.
run 0 ntls TCPKeepAlive show
expect "TCP keep-alive idle (s) *: 30"
run 0 service status ntls
expect "Listening on *: 127.0.0.1:$P1"
run 0 service restart ntls
expect "Listening on *: 127.0.0.1:$P2"
expect "Restarts *: 1"
expect "PID *: $PID"

# A new link on P2 carries the new keep-alive: the kernel's keep-alive timer on
# the daemon's end starts at the idle time, 30 s (it was 60 s).
python3 - "$P1" "$P2" "$PID" >"$OUT" 2>&1 <<'PY' || fail "keep-alive on the new link"
import re, socket, subprocess, sys, time
p1, p2, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
# The daemon's own listening sockets, not a connection attempt: a test running beside this
# one may be given the port ntlsd just freed.
listeners = subprocess.run(["ss", "-ltnpH", "( sport = :%d )" % p1],
                           capture_output=True, text=True).stdout
if "pid=%s," % pid in listeners:
    sys.exit("ntlsd still listens on the old port %d: %s" % (p1, listeners))
link = socket.create_connection(("127.0.0.1", p2), timeout=5)
deadline = time.time() + 5
while True:
    out = subprocess.run(["ss", "-tnoie", "state", "established",
                          "( sport = :%d )" % p2],
                         capture_output=True, text=True).stdout
    m = re.search(r"timer:\(keepalive,(\d+)(?:\.\d+)?(ms|sec|min)", out)
    if m or time.time() > deadline:
        break
    time.sleep(0.05)  # polling the kernel's view, bounded by the deadline
print(out)
if not m:
    sys.exit("no keep-alive timer on the daemon's end of the link")
seconds = int(m.group(1)) * {"ms": 0.001, "sec": 1, "min": 60}[m.group(2)]
if not 20 <= seconds <= 30:
    sys.exit("keep-alive timer %ss, expected the new idle time (30 s)" % seconds)
print("keep-alive idle on the new link: %ss" % seconds)
PY
cat "$OUT" | tail -1

run 0 ntls information show
expect "1 (UP)"
expect "Listening on *: 127.0.0.1:$P2"

# A restart whose new bind fails comes back on the old address and says so.
# Another program holds P3 (it listens there until the test ends).
python3 - "$BASE/p3" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)  # holds the port; killed by the test
PY
HOLDER=$!
for i in $(seq 1 100); do [ -s "$BASE/p3" ] && break; sleep 0.05; done  # bounded
P3="$(cat "$BASE/p3")" || fail "no busy port"
run 0 ntls bind -port "$P3"
run 1 service restart ntls
expect "restart failed"
expect "cannot listen on 127.0.0.1 port $P3"
expect "serves again on 127.0.0.1:$P2"
run 0 service status ntls
expect "Listening on *: 127.0.0.1:$P2"
expect "the previous bind (the last restart failed)"

run 0 service stop ntls
expect "Status *: stopped"
# ntlsh returns once the daemon let go of its lock, a moment before the process is gone (and
# reaped: a zombie still answers kill -0).
gone() { ! kill -0 "$PID" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$PID/stat" 2>/dev/null)" = Z ]; }
deadline=$((SECONDS + 10))
until gone; do
  [ "$SECONDS" -lt "$deadline" ] || fail "ntlsd $PID still runs 10 s after service stop"
  sleep 0.1  # polling under a deadline
done
run 1 service status ntls
expect "Status  *: stopped"
test ! -e "$ROOT/ntlsd.sock" || fail "the status socket was left behind"

# A start that fails says why, from ntlsd's own log lines.
run 1 service start ntls
expect "ntlsd did not start (exit status 1)"
expect "cannot listen on 127.0.0.1 port $P3"
kill "$HOLDER"
run 1 service status ntls

# A daemon told to listen on port 0 (the kernel picks) keeps the port it got
# across a restart: its clients were given that port.
"$TRUSTLINK_NTLSD" --root "$ROOT" --listen 127.0.0.1:0 --log "$ROOT/ntlsd.log" &
for i in $(seq 1 200); do  # bounded: 10 s
  "$NTLSH" --root "$ROOT" service status ntls >"$OUT" 2>&1 && break
  sleep 0.05
done
run 0 service status ntls
P0="$(sed -n 's/^Listening on *: 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$OUT")"
[ -n "$P0" ] && [ "$P0" != 0 ] || fail "no kernel-picked port in the status"
run 0 service restart ntls
expect "Listening on *: 127.0.0.1:$P0$"
run 0 service stop ntls
echo "1 passed, 0 failed"
