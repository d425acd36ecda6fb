#!/bin/bash
# Eight vtl processes adding different servers at once lose nothing: every certificate ends
# up in its named file, in CAFile.pem and in trustlink.conf.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail

VTL="$PWD/examples/vtl/vtl"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/conc.XXXXXX")"
ROOT="$WORK/client"
cd "$WORK"

"$VTL" --root "$ROOT" createCert -n web1 >/dev/null
for round in 1 2 3; do
  for i in 1 2 3 4 5 6 7 8; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=hsm$round-$i" -keyout /dev/null -out "s$round-$i.pem" 2>/dev/null
  done
  pids=()
  for i in 1 2 3 4 5 6 7 8; do
    "$VTL" --root "$ROOT" addServer -n "hsm$round-$i" -c "s$round-$i.pem" >"log$round-$i" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || fail "an addServer failed"; done
done
"$VTL" --root "$ROOT" listServers >list.txt
[[ $(grep -c '^hsm' list.txt) == 24 ]] || { cat list.txt; fail "servers lost"; }
[[ $(grep -c 'BEGIN CERTIFICATE' "$ROOT/cert/server/CAFile.pem") == 24 ]] || fail "CAFile.pem lost entries"
[[ $(grep -c '^ *ServerName' "$ROOT/trustlink.conf") == 24 ]] || fail "trustlink.conf lost entries"
"$VTL" --root "$ROOT" verify -local >/dev/null || fail "verify"
echo PASS
