#!/bin/bash
# htlclient on the C ABI: argument checks, the waiting state, and the daemon mode's proof
# socket (0600 in a 0700 directory) that disappears on SIGTERM.
set -euo pipefail
bin="$1"
root="$(mktemp -d "${TEST_TMPDIR:-/tmp}/htlc.XXXXXX")"
mkdir -m 700 "$root/htl"
sockdir="$(mktemp -d /tmp/htlc-sock.XXXXXX)"
trap 'rm -rf "$root" "$sockdir"' EXIT

if "$bin" -root "$root" 2>/dev/null; then echo "FAIL: no -server accepted"; exit 1; fi

out="$("$bin" -root "$root" -server hsm1 -once || true)"
grep -q "hsm1: HTL waiting for a token" <<<"$out" || { echo "FAIL: $out"; exit 1; }

printf 'trustlink-htl-ott v1\ntoken %s\n' "$(printf 'a%.0s' $(seq 64))" > "$root/htl/hsm1.ott"
out="$("$bin" -root "$root" -server hsm1 -once || true)"
grep -q "TL_E_UNIMPLEMENTED" <<<"$out" || { echo "FAIL: expected the unwired link: $out"; exit 1; }
rm "$root/htl/hsm1.ott"

sock="$sockdir/run/htl-agent.sock"
"$bin" -root "$root" -server hsm1 -interval 50 -socket "$sock" > "$root/log" &
pid=$!
for _ in $(seq 100); do [[ -S "$sock" ]] && break; sleep 0.05; done
[[ -S "$sock" ]] || { echo "FAIL: no socket"; kill "$pid"; exit 1; }
[[ "$(stat -c %a "$sock")" == 600 ]] || { echo "FAIL: socket mode"; kill "$pid"; exit 1; }
[[ "$(stat -c %a "$sockdir/run")" == 700 ]] || { echo "FAIL: dir mode"; kill "$pid"; exit 1; }
kill -TERM "$pid"
wait "$pid"
[[ ! -e "$sock" ]] || { echo "FAIL: socket left behind"; exit 1; }
grep -q "stopped" "$root/log"
echo PASS
