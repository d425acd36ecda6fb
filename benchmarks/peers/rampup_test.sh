#!/bin/bash
# rampup_test: one tl_client opening many links to a real ntlsd at once (the peer
# harness's ramp-up row, smaller) trips none of the appliance's caps: every link comes
# up, ntlsd evicted and refused no connection, and each link cost exactly one full
# handshake. Before the client paced its attempts (ntl/client/dial_gate.h), all of them
# started together, the client's one I/O thread finished each handshake long after
# ntlsd had answered it, and ntlsd evicted the oldest beyond its per-source cap of 64.
#
#   rampup_test.sh NTLSD NTLSH VTL PEER_LOAD NTLSD_STATUS [LINKS]
W="$(mktemp -d "${TEST_TMPDIR:-/tmp}/rampup.XXXXXX")"
LOG="$W/ntlsd.log"; PIDFILE="$W/ntlsd.pid"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/daemon_test.sh"
NTLSD="$1"; NTLSH="$2"; VTL="$3"; LOAD="$4"; STATUS="$5"; LINKS="${6:-400}"
SOCKDIR="$(mktemp -d /tmp/rampup-sock.XXXXXX)"  # unix socket paths are short
CLEANUP_PATHS+=("$W" "$SOCKDIR")
APP="$W/app"; CLIENT="$W/client"
fail_extra() { echo "--- peer_load"; cat "$W/load.out" "$W/load.err" 2>/dev/null; }
(( $(ulimit -n) > LINKS + 64 )) || ulimit -n $((LINKS + 256)) ||
  fail "ulimit -n $(ulimit -n) is too low for $LINKS links"

"$NTLSH" --root "$APP" sysconf regenCert -name 127.0.0.1 >/dev/null
"$NTLSH" --root "$APP" partition create -partition par1 -label rampup >/dev/null
"$NTLSH" --root "$APP" ntls limits set -maxlinksperclient $((LINKS * 2)) >/dev/null
"$NTLSH" --root "$APP" sysconf exportCert -file "$W/server.pem" >/dev/null
# --daemon returns once it serves; port 0: the kernel picks, the log says which.
"$NTLSD" --root "$APP" --name 127.0.0.1 --listen 127.0.0.1:0 --threads 2 --daemon \
  --pidfile "$PIDFILE" --log "$LOG" --status-socket "$SOCKDIR/s" 2>"$W/start.err" ||
  fail "ntlsd did not start: $(cat "$W/start.err")"
PORT="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG" | head -1)"
[[ -n "$PORT" ]] || fail "no 'listening on 127.0.0.1:PORT' line in the log"
"$VTL" --root "$CLIENT" createCert -n 127.0.0.1 >/dev/null
"$VTL" --root "$CLIENT" addServer -n 127.0.0.1 -c "$W/server.pem" -p "$PORT" >/dev/null
"$NTLSH" --root "$APP" client register -client fleet -ip 127.0.0.1 \
  -certificate "$CLIENT/cert/client/127.0.0.1.pem" >/dev/null
"$NTLSH" --root "$APP" client assignPartition -client fleet -partition par1 >/dev/null

# All links at once; peer_load prints "up SECONDS" when every one is welcomed, then
# closes them at the end of its input.
"$LOAD" links --target "trustlink:$CLIENT" --count "$LINKS" --timeout 60 \
  </dev/null >"$W/load.out" 2>"$W/load.err" || fail "peer_load links failed"
grep -q '^up [0-9.]*$' "$W/load.out" || fail "peer_load did not report every link up"
echo "$LINKS links: $(cat "$W/load.out")"

# The counters are exact (the log limits eviction lines to 20 per 10 s).
stats="$(python3 "$STATUS" "$SOCKDIR/s")" || fail "no status from ntlsd: $stats"
counter() { sed -n "s/^stat $1 \([0-9]*\)$/\1/p" <<<"$stats"; }
echo "ntlsd: handshakes_full=$(counter handshakes_full) evicted=$(counter evicted_unauthenticated)" \
  "refused_at_cap=$(counter refused_unauthenticated_cap) refused_link_cap=$(counter refused_link_cap)"
(( $(counter evicted_unauthenticated) == 0 )) ||
  fail "ntlsd evicted $(counter evicted_unauthenticated) of the client's connections (cap of connections not yet admitted)"
(( $(counter refused_unauthenticated_cap) == 0 )) ||
  fail "ntlsd refused $(counter refused_unauthenticated_cap) of the client's connections at its cap"
(( $(counter handshakes_full) == LINKS )) ||
  fail "$(counter handshakes_full) full handshakes for $LINKS links: some links needed another attempt"
! grep -q " evicted " "$LOG" || fail "ntlsd's log has evicted lines"
echo PASS
