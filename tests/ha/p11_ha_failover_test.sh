#!/bin/bash
# Single-part signing fails over: pkcs11-tool signs (ECDSA P-256 over a SHA-256 digest)
# through the group's slot while the primary member's ntlsd is killed with kill -9:
#   - a sign whose session and key were set up on the primary before the kill completes on
#     the other member (re-login with the PIN, key found again by CKA_ID);
#   - a loop of signs with a kill in the middle has 0 failures;
# and every signature verifies with openssl against the key's public half. A multi-part
# digest in flight on the killed member fails with CKR_DEVICE_ERROR and a line saying to
# restart it; restarted, it succeeds.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/ha/p11_ha_lib.sh"
SIGNS=30

appliances
setup
# The same P-256 key on both members, imported through each member's own slot.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/key.pem" 2>/dev/null
openssl pkey -in "$W/key.pem" -pubout -out "$W/pub.pem"
chmod 644 "$W/key.pem" "$W/pub.pem"
for p in "${PART[@]}"; do
  p11 --token-label "$p" --login --pin "$USER_PIN" --write-object "$W/key.pem" --type privkey \
    --id 01 --label sig > "$W/import.out" 2>&1 || fail "import into $p: $(cat "$W/import.out")"
done
setup -haonly
printf 'hello HA group\n' > "$W/data"
openssl dgst -sha256 -binary "$W/data" > "$W/digest"
chmod 644 "$W/digest"

sign() {  # OUT [INPUT]: one ECDSA signature through the group's slot
  as_user pkcs11-tool --module "$PROXY" --token-label "$GROUP" --login --pin "$USER_PIN" \
    --sign --mechanism ECDSA --signature-format openssl --id 01 -i "${2:-$W/digest}" -o "$1"
}
verify() {  # SIG
  openssl pkeyutl -verify -pubin -inkey "$W/pub.pem" -in "$W/digest" -sigfile "$1" >/dev/null 2>&1 \
    || fail "signature $1 does not verify"
}

# wait_reading PID OUT: pkcs11-tool PID is blocked reading $W/in.fifo, a call in flight.
wait_reading() {
  local deadline=$((SECONDS + 30))
  until pkcs11_tool_reading "$W/in.fifo"; do
    ((SECONDS < deadline)) || fail "pkcs11-tool never waited on its input: $(cat "$2")"
    kill -0 "$1" 2>/dev/null || fail "pkcs11-tool ended early: $(cat "$2")"
    sleep 0.02
  done
}

sign "$W/first.sig" > "$W/first.out" 2>&1 || fail "sign with both members up: $(cat "$W/first.out")"
verify "$W/first.sig"

# In flight: pkcs11-tool has logged in and found the key on the primary (member 0) and
# waits for its input; the primary's appliance is killed; the sign then completes.
rm -f "$W/in.fifo"; mkfifo "$W/in.fifo"; chmod 666 "$W/in.fifo"
exec 7<>"$W/in.fifo"
sign "$W/inflight.sig" "$W/in.fifo" > "$W/inflight.out" 2>&1 &
INFLIGHT=$!
wait_reading "$INFLIGHT" "$W/inflight.out"
kill9_ntlsd 0
cat "$W/digest" >&7
exec 7>&-
wait "$INFLIGHT" || fail "the in-flight sign failed after the primary was killed: $(cat "$W/inflight.out")"
verify "$W/inflight.sig"
grep -q "member ${ADDR[0]}/${PART[0]} failed" "$W/inflight.out" \
  || fail "no failover line from the group's bridge: $(cat "$W/inflight.out")"

# A loop of signs; the primary comes back, then is killed again in the middle.
start_ntlsd 0 "${PORT[0]}"
failed=0
for ((n = 1; n <= SIGNS; n++)); do
  if ((n == SIGNS / 2)); then kill9_ntlsd 0; fi
  sign "$W/loop$n.sig" > "$W/loop$n.out" 2>&1 || { failed=$((failed + 1)); echo "sign $n: $(cat "$W/loop$n.out")" >&2; }
done
((failed == 0)) || fail "$failed of $SIGNS signs failed while a member was killed"
for ((n = 1; n <= SIGNS; n++)); do verify "$W/loop$n.sig"; done

# Multi-part: pkcs11-tool --hash feeds C_DigestUpdate as its input arrives; the primary dies
# after the first parts.
start_ntlsd 0 "${PORT[0]}"
head -c 3000 /dev/urandom > "$W/big"; chmod 644 "$W/big"
rm -f "$W/in.fifo"; mkfifo "$W/in.fifo"; chmod 666 "$W/in.fifo"
exec 7<>"$W/in.fifo"
head -c 2000 "$W/big" >&7
hash() { as_user pkcs11-tool --module "$PROXY" --token-label "$GROUP" --hash -m SHA256 -i "$1" -o "$2"; }
hash "$W/in.fifo" "$W/multi.hash" > "$W/multi.out" 2>&1 &
MULTI=$!
wait_reading "$MULTI" "$W/multi.out"
kill9_ntlsd 0
tail -c +2001 "$W/big" >&7
exec 7>&-
if wait "$MULTI"; then fail "a multi-part digest survived its member's death: $(cat "$W/multi.out")"; fi
grep -q "CKR_DEVICE_ERROR" "$W/multi.out" || fail "multi-part: not CKR_DEVICE_ERROR: $(cat "$W/multi.out")"
grep -q "is lost; restart it" "$W/multi.out" || fail "multi-part: no line saying to restart: $(cat "$W/multi.out")"
hash "$W/big" "$W/again.hash" > "$W/again.out" 2>&1 || fail "the restarted digest failed: $(cat "$W/again.out")"
cmp "$W/again.hash" <(openssl dgst -sha256 -binary "$W/big") || fail "the restarted digest is wrong"
echo PASS
