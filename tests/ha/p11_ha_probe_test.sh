#!/bin/bash
# The group bridge's probe thread brings a failed member back on its own: an application
# logs in through the group while member 2's ntlsd is down, then makes no call (pkcs11-tool
# sits in read(2) on its input FIFO); member 2's ntlsd restarts, and the bridge's stderr
# (the application's) says member 2 is back and caught up with the key pair generated while
# it was down, which is then on member 2. The application's sign afterwards verifies, and
# its C_Finalize joins the probe thread.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/ha/p11_ha_lib.sh"

appliances -cloningdomain "$W/domain.key"
setup
group() { p11 --token-label "$GROUP" --login --pin "$USER_PIN" "$@"; }

kill9_ntlsd 1
group --keypairgen --key-type EC:prime256v1 --id 31 --label late > "$W/gen.out" 2>&1 \
  || fail "EC key pair with member 2 down: $(cat "$W/gen.out")"

# The application: logged in through the group, then blocked reading the data to sign.
mkfifo "$W/data.fifo"
chmod 666 "$W/data.fifo"
exec 7<>"$W/data.fifo"  # held open, so pkcs11-tool's open returns and its read blocks
group --sign --mechanism ECDSA --signature-format openssl --id 31 -i "$W/data.fifo" \
  -o "$W/late.sig" > "$W/app.out" 2>&1 &
APP=$!
deadline=$((SECONDS + 30))
until pkcs11_tool_reading "$W/data.fifo"; do
  ((SECONDS < deadline)) || fail "pkcs11-tool never waited on its input: $(cat "$W/app.out")"
  kill -0 "$APP" 2>/dev/null || fail "pkcs11-tool exited: $(cat "$W/app.out")"
  sleep 0.05
done

start_ntlsd 1 "${PORT[1]}"
ready=$EPOCHREALTIME
# No application call from here until the data is written.
deadline=$((SECONDS + 40))
until grep -q "member ${ADDR[1]}/${PART[1]} is back" "$W/app.out"; do
  ((SECONDS < deadline)) || fail "member 2 not back without a call: $(cat "$W/app.out")"
  sleep 0.05
done
echo "member 2 back $(python3 -c "print(round(($EPOCHREALTIME - $ready) * 1000))") ms after its ntlsd was ready (backoff reached: $(grep -o 'next try in [0-9.]*m*s' "$W/app.out" | tail -1))"
pkcs11_tool_reading "$W/data.fifo" \
  || fail "the application left its read before member 2 came back: $(cat "$W/app.out")"
grep -q "member ${ADDR[1]}/${PART[1]} caught up: 2 objects copied" "$W/app.out" \
  || fail "member 2 came back without its catch-up: $(cat "$W/app.out")"

# Member 2's own slot (members visible: no HAOnly) has both halves of the pair.
p11 --token-label "${PART[1]}" --login --pin "$USER_PIN" --list-objects > "$W/objs" 2>&1 \
  || fail "list objects on ${PART[1]}: $(cat "$W/objs")"
[[ "$(grep -c "ID: *31\$" "$W/objs")" == 2 ]] \
  || fail "key pair 31 (made while ${PART[1]} was down) is not whole there: $(cat "$W/objs")"

# The application goes on: its sign verifies, and it finalises (joining the probe thread).
printf 'after the probe\n' > "$W/data"
openssl dgst -sha256 -binary "$W/data" > "$W/digest"
cat "$W/digest" >&7
exec 7>&-
wait "$APP" || fail "the sign after member 2 returned failed: $(cat "$W/app.out")"
p11 --token-label "${PART[1]}" --read-object --type pubkey --id 31 -o "$W/pub31.der" \
  > "$W/pub.out" 2>&1 || fail "read public key 31: $(cat "$W/pub.out")"
openssl pkey -pubin -inform DER -in "$W/pub31.der" -out "$W/pub31.pem" 2>"$W/pub.out" \
  || fail "public key 31 is not a key openssl reads: $(cat "$W/pub.out")"
openssl pkeyutl -verify -pubin -inkey "$W/pub31.pem" -in "$W/digest" -sigfile "$W/late.sig" \
  > "$W/verify.out" 2>&1 || fail "the signature does not verify: $(cat "$W/verify.out")"
echo PASS
