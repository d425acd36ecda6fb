#!/bin/bash
# ntlsd's links, with a real ntlsd and a real client (idle_link_probe):
# - `ntls timeout set -receive MS`: a link that sends nothing for longer than
#   the receive timeout is closed by ntlsd, which logs why, and the change
#   reaches a daemon that is already running;
# - `service restart ntls` drains a live link: its client is told the server
#   is going away, and reconnects to the restarted server by itself.
set -uo pipefail
NTLSD="$1"
NTLSH="$2"
PROBE="$3"
TLS=testdata/tls
BASE="$(mktemp -d /tmp/ntlsd-rt.XXXXXX)"  # the status socket lives in the root
ROOT="$BASE/appliance"
trap '[ -f "$ROOT/ntlsd.lock" ] && kill "$(cat "$ROOT/ntlsd.lock")" 2>/dev/null; rm -rf "$BASE"' EXIT
fail() {
  echo "FAIL: $*"
  echo "--- ntlsd log:"; cat "$ROOT/ntlsd.log" 2>/dev/null
  exit 1
}
sh() { "$NTLSH" --root "$ROOT" "$@" >"$BASE/out" 2>&1 || fail "ntlsh $*: $(cat "$BASE/out")"; }

sh partition create -partition p1
sh client register -client probe -ip 127.0.0.1 -certificate "$TLS/client_ed25519.cert.pem" -force
sh client assignPartition -client probe -partition p1
# A port free a moment ago can be handed to another test's connect before ntlsd binds it:
# on "in use", bind another.
for attempt in 1 2 3 4 5; do
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  sh ntls bind -address 127.0.0.1 -port "$PORT"
  "$NTLSD" --root "$ROOT" --name 127.0.0.1 --daemon --log "$ROOT/ntlsd.log" 2>"$BASE/start.err" && break
  grep -qsi "in use" "$BASE/start.err" "$ROOT/ntlsd.log" && [ "$attempt" -lt 5 ] ||
    fail "ntlsd did not start: $(cat "$BASE/start.err")"
done

# Set while ntlsd runs: it applies at once.
sh ntls timeout set -receive 1000
grep -q "open links included" "$BASE/out" || fail "ntls timeout set does not say it applies at once"
OUT="$("$PROBE" 127.0.0.1 "$PORT" "$ROOT/server/server.pem" \
  "$TLS/client_ed25519.cert.pem" "$TLS/client_ed25519.key.pem" 10)" ||
  fail "the idle link was not closed: $OUT"
echo "$OUT"
MS="$(sed -n 's/^link closed after \([0-9]*\) ms.*/\1/p' <<<"$OUT")"
# Measured from the client's UP event, which comes after the server's last receive, so a bit
# under 1000 is right; the bounds leave room for a sanitizer build on a busy host.
[ "$MS" -ge 500 ] && [ "$MS" -le 9000 ] || fail "closed after $MS ms, expected about 1000"
grep -q "idle too long" <<<"$OUT" || fail "the client was not told why: $OUT"
grep -q "closing peer=127.0.0.1:[0-9]* rule=receive-timeout reason=\"nothing received for 1s\"" \
  "$ROOT/ntlsd.log" || fail "ntlsd did not log the receive timeout"
# Restart with a live link: back to a receive timeout that leaves it alone.
sh ntls timeout set -receive 60000
"$PROBE" 127.0.0.1 "$PORT" "$ROOT/server/server.pem" \
  "$TLS/client_ed25519.cert.pem" "$TLS/client_ed25519.key.pem" 20 reconnect \
  >"$BASE/probe.out" 2>&1 &
PROBE_PID=$!
for i in $(seq 1 200); do grep -qs '^ready$' "$BASE/probe.out" && break; sleep 0.05; done  # bounded
grep -q '^ready$' "$BASE/probe.out" || fail "the probe's link did not come up: $(cat "$BASE/probe.out")"
sh service restart ntls
grep -q "Restarts *: 1" "$BASE/out" || fail "restart: $(cat "$BASE/out")"
wait "$PROBE_PID" || fail "the link did not come back after the restart: $(cat "$BASE/probe.out")"
cat "$BASE/probe.out"
grep -q "link closed after .*shutting down" "$BASE/probe.out" ||
  fail "the client was not told the server was going away"
grep -q "^link back after" "$BASE/probe.out" || fail "no reconnect"
grep -q "restart: draining links" "$ROOT/ntlsd.log" || fail "no drain logged"
sh service stop ntls
echo "1 passed, 0 failed"
