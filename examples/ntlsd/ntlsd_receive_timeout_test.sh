#!/bin/bash
# `ntls timeout set -receive MS` with a real ntlsd and a real client: a link
# that sends nothing for longer than the receive timeout is closed by ntlsd,
# which logs why; and a change reaches a daemon that is already running.
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

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
sh ntls bind -address 127.0.0.1 -port "$PORT"
sh partition create -partition p1
sh client register -client probe -ip 127.0.0.1 -certificate "$TLS/client_ed25519.cert.pem" -force
sh client assignPartition -client probe -partition p1
"$NTLSD" --root "$ROOT" --name 127.0.0.1 --daemon --log "$ROOT/ntlsd.log" ||
  fail "ntlsd did not start"

# Set while ntlsd runs: it applies at once.
sh ntls timeout set -receive 1000
grep -q "open links included" "$BASE/out" || fail "ntls timeout set does not say it applies at once"
OUT="$("$PROBE" 127.0.0.1 "$PORT" "$ROOT/server/server.pem" \
  "$TLS/client_ed25519.cert.pem" "$TLS/client_ed25519.key.pem" 10)" ||
  fail "the idle link was not closed: $OUT"
echo "$OUT"
MS="$(sed -n 's/^link closed after \([0-9]*\) ms.*/\1/p' <<<"$OUT")"
[ "$MS" -ge 900 ] && [ "$MS" -le 5000 ] || fail "closed after $MS ms, expected about 1000"
grep -q "idle too long" <<<"$OUT" || fail "the client was not told why: $OUT"
grep -q "closing peer=127.0.0.1:[0-9]* rule=receive-timeout reason=\"nothing received for 1s\"" \
  "$ROOT/ntlsd.log" || fail "ntlsd did not log the receive timeout"
sh service stop ntls
echo "1 passed, 0 failed"
