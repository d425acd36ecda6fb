#!/bin/bash
# Session tickets survive ntlsd restarts (issue 16, "Storms"): a live library client
# (reconnect_probe, one tl_client never re-opened) links to ntlsd; ntlsd is killed with
# SIGKILL and started again on the same port, then restarted in place with
# `ntlsh service restart ntls`. After each, the client's reconnect must be a resumed TLS
# session (the daemon's "authenticated ... resumed=yes" line; the client offers the
# ticket the previous daemon issued), and the ticket keys must be in
# <root>/server/ticketKeys, mode 0600.
set -Eeuo pipefail
source "$(dirname "$0")/../lib/ntlsd_start.sh"
NTLSD="$1"; NTLSH="$2"; VTL="$3"; PROBE="$4"
DEADLINE_S=20
W="$(mktemp -d "$TEST_TMPDIR/tickets.XXXXXX")"
# The status socket lives in the root and unix socket paths are short: the appliance
# root is a short path under /tmp (removed at exit).
APP="$(mktemp -d /tmp/tl-tickets.XXXXXX)"
CLIENT="$W/client"
NTLSD_PID=""; PROBE_PID=""; LOG="$W/ntlsd.log"

fail() {
  echo "FAIL: $*" >&2
  echo "--- ntlsd log (last 30 lines)" >&2; tail -30 "$LOG" >&2 || true
  echo "--- client (last 5 lines)" >&2; tail -5 "$W/probe.out" >&2 || true
  tail -5 "$W/probe.err" >&2 || true
  exit 1
}
trap 'fail "line $LINENO: \"$BASH_COMMAND\" exited $?"' ERR
cleanup() {
  exec 2>/dev/null
  local p
  for p in $PROBE_PID $NTLSD_PID; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$APP"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_ntlsd: ntlsd on 127.0.0.1:$PORT, appending to $LOG, ready within the deadline.
start_ntlsd() {
  start_ntlsd_at "$LOG" "$NTLSD" --root "$APP" --name 127.0.0.1 --listen "127.0.0.1:$PORT" \
    --threads 1 --log "$LOG"
  NTLSD_PID=$STARTED_PID
}

# wait_reconnect N: the daemon's log holds N "authenticated" lines, within the deadline.
wait_reconnect() {
  local n=$1 deadline=$(( $(now_ms) + DEADLINE_S * 1000 ))
  while (( $(grep -c " authenticated " "$LOG" || true) < n )); do
    kill -0 "$PROBE_PID" 2>/dev/null || fail "the client died"
    (( $(now_ms) < deadline )) || fail "the client did not link again within ${DEADLINE_S} s"
    sleep 0.02  # polling the log, bounded by the deadline
  done
}

# expect_resumed N WHAT: the Nth authenticated link was a resumed session.
expect_resumed() {
  local line
  line="$(grep " authenticated " "$LOG" | sed -n "${1}p")"
  [[ "$line" == *"resumed=yes"* ]] ||
    fail "after $2 the client's link was a full handshake, not a resumed session: $line"
}

# --- The appliance and the client, as in the enrolment guide.
"$NTLSH" --root "$APP" sysconf regenCert -name 127.0.0.1 >"$W/out" 2>&1 ||
  fail "sysconf regenCert: $(cat "$W/out")"
"$NTLSH" --root "$APP" partition create -partition par1 -label "tickets" >/dev/null
"$NTLSH" --root "$APP" sysconf exportCert -file "$W/server.pem" >/dev/null
PORT="$(free_port)"
"$VTL" --root "$CLIENT" createCert -n 127.0.0.1 >/dev/null
"$VTL" --root "$CLIENT" addServer -n 127.0.0.1 -c "$W/server.pem" -p "$PORT" >/dev/null
"$NTLSH" --root "$APP" client register -client web1 -ip 127.0.0.1 \
  -certificate "$CLIENT/cert/client/127.0.0.1.pem" >/dev/null
"$NTLSH" --root "$APP" client assignPartition -client web1 -partition par1 >/dev/null
: >"$LOG"
start_ntlsd

mode="$(stat -c %a "$APP/server/ticketKeys" 2>/dev/null)" || fail "no $APP/server/ticketKeys"
[[ "$mode" == 600 ]] || fail "ticketKeys has mode $mode, not 600"

: >"$W/probe.out"
"$PROBE" "$CLIENT" 120 1 >>"$W/probe.out" 2>"$W/probe.err" &
PROBE_PID=$!
wait_reconnect 1
grep " authenticated " "$LOG" | head -1 | grep -q "resumed=no" ||
  fail "the first link cannot have resumed"

# --- kill -9, and a new process on the same port.
kill -9 "$NTLSD_PID"; wait "$NTLSD_PID" 2>/dev/null || true; NTLSD_PID=""
start_ntlsd
grep -q "ticket-keys loaded" "$LOG" || fail "the restarted ntlsd did not load the ticket keys"
wait_reconnect 2
expect_resumed 2 "kill -9 and a new ntlsd"

# --- service restart ntls: a new server in the same process.
"$NTLSH" --root "$APP" service restart ntls >"$W/out" 2>&1 ||
  fail "service restart ntls: $(cat "$W/out")"
wait_reconnect 3
expect_resumed 3 "ntlsh service restart ntls"

kill -TERM "$PROBE_PID"
timeout 15 tail --pid="$PROBE_PID" -f /dev/null || fail "the client did not stop on SIGTERM"
PROBE_PID=""
echo "PASS: the client resumed its TLS session after kill -9 and after service restart ntls"
