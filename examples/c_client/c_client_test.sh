#!/bin/bash
# Runs the C example against the fake NTLS peer on loopback: it lists the slot and echoes.
set -euo pipefail
c_client="$1"
fake_server="$2"
tls=testdata/tls
dir="${TEST_TMPDIR:-$(mktemp -d)}"
mkfifo "$dir/stdin"
exec 3<>"$dir/stdin"
"$fake_server" "$tls/server_ed25519.cert.pem" "$tls/server_ed25519.key.pem" part1 \
  >"$dir/server.out" 2>&1 <"$dir/stdin" 3>&- &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$dir/server.out")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "fake server did not start"; cat "$dir/server.out"; exit 1; }
out=$("$c_client" hsm1 127.0.0.1 "$port" "$tls/server_ed25519.cert.pem" \
  "$tls/client_ed25519.cert.pem" "$tls/client_ed25519.key.pem" "hi there")
echo "$out"
grep -q 'slot 0: server hsm1 partition part1' <<<"$out"
grep -q '^echo: hi there$' <<<"$out"
echo PASS
