#!/bin/bash
# Parallel ntlsh processes registering different clients lose nothing: every registration
# that reported success is in the registry afterwards, and the registry loads cleanly.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
NTLSH="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
T="${TEST_TMPDIR:-$(mktemp -d)}/concurrency"
rm -rf "$T"; mkdir -p "$T/certs"
ROOT="$T/appliance"
PROCS=6 PER=8
for p in $(seq 1 $PROCS); do
  for i in $(seq 1 $PER); do
    ip="127.0.$p.$i"
    openssl req -x509 -newkey ed25519 -nodes -days 5 -keyout "$T/certs/$ip.key" \
      -out "$T/certs/$ip.pem" -subj "/CN=$ip" -addext "subjectAltName=IP:$ip" 2>/dev/null
  done
done
"$NTLSH" --root "$ROOT" partition create -partition shared >/dev/null
pids=()
for p in $(seq 1 $PROCS); do
  (
    for i in $(seq 1 $PER); do
      ip="127.0.$p.$i"
      "$NTLSH" --root "$ROOT" client register -client "c$p-$i" -ip "$ip" \
        -certificate "$T/certs/$ip.pem" >/dev/null
      "$NTLSH" --root "$ROOT" client assignPartition -client "c$p-$i" -partition shared >/dev/null
    done
  ) &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
"$NTLSH" --root "$ROOT" --json client list >"$T/list"
python3 - "$T/list" $PROCS $PER <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
procs, per = int(sys.argv[2]), int(sys.argv[3])
labels = {c["label"] for c in d["clients"]}
want = {f"c{p}-{i}" for p in range(1, procs + 1) for i in range(1, per + 1)}
assert labels == want, sorted(want - labels)
assert all(c["partitions"] == "shared" for c in d["clients"]), d
PY
"$NTLSH" --root "$ROOT" --json partition show -partition shared >"$T/p"
python3 -c "import json; d=json.load(open('$T/p')); assert len(d['clients'].split(', '))==$((PROCS*PER)), d"
echo PASS
