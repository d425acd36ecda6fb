#!/bin/bash
# Writes in an HA group. Both partitions join one cloning domain (ntlsh partition create
# -cloningdomain: the first makes the 0600 key file, the second imports it).
#   - A certificate written through the group's slot is on both members before
#     pkcs11-tool returns; one written while a member's ntlsd is down is on that member once
#     it is back (caught up at the next login, before it takes load).
#   - Keys travel wrapped under the cloning-domain key over the key-transfer streams
#     (docs/ha.md): an EC key pair generated through the group has its private key on both
#     members, and a signature made on member 2 alone (member 1's ntlsd killed) verifies
#     with openssl; an AES key is on both members; a key generated while member 2 is down
#     is on member 2 after it returns.
#   - A key the application makes non-extractable is refused, and leaves nothing behind.
#   - A member that refuses the copy (member 2 without its cloning-domain key) undoes the
#     write on every member.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/ha/p11_ha_lib.sh"

appliances -cloningdomain "$W/domain.key"
grep -q "new key" "$W/create0.out" || fail "the first partition did not make the key: $(cat "$W/create0.out")"
grep -q "key imported" "$W/create1.out" || fail "the second partition did not import it: $(cat "$W/create1.out")"
[[ "$(stat -c %a "$W/domain.key")" == 600 ]] || fail "domain key file is not 0600"

group() { p11 --token-label "$GROUP" --login --pin "$USER_PIN" "$@"; }
# has PARTITION TYPE ID: the member's own slot (members visible: no HAOnly) lists it.
has() {
  p11 --token-label "$1" --login --pin "$USER_PIN" --list-objects --type "$2" > "$W/objs" 2>&1 \
    || fail "list objects on $1: $(cat "$W/objs")"
  grep -q "ID: *$3\$" "$W/objs"
}
cert() {  # FILE: a self-signed certificate in DER
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -subj "/CN=$1" -days 2 -outform DER -out "$W/$1.der" 2>/dev/null
  chmod 644 "$W/$1.der"
}

setup -haonly
cert c1
group --write-object "$W/c1.der" --type cert --id 11 --label c1 > "$W/w1.out" 2>&1 \
  || fail "write a certificate with both members up: $(cat "$W/w1.out")"
# An EC key pair through the group, with HAOnly (the members' modules load only in the
# group's bridge, which starts their key-transfer streams from the same configs).
group --keypairgen --key-type EC:prime256v1 --id 02 --label k > "$W/gen.out" 2>&1 \
  || fail "EC key pair through the group: $(cat "$W/gen.out")"
setup
has "${PART[0]}" cert 11 || fail "certificate 11 not on ${PART[0]}: $(cat "$W/objs")"
has "${PART[1]}" cert 11 || fail "certificate 11 not on ${PART[1]}: $(cat "$W/objs")"

# Member 1 down during a write; back afterwards.
kill9_ntlsd 1
cert c2
group --write-object "$W/c2.der" --type cert --id 12 --label c2 > "$W/w2.out" 2>&1 \
  || fail "write with member 1 down: $(cat "$W/w2.out")"
start_ntlsd 1 "${PORT[1]}"
group --list-objects --type cert > "$W/catchup.out" 2>&1 || fail "login after return: $(cat "$W/catchup.out")"
grep -q "member ${ADDR[1]}/${PART[1]} caught up" "$W/catchup.out" \
  || fail "no catch-up line: $(cat "$W/catchup.out")"
has "${PART[1]}" cert 12 || fail "certificate 12 made while ${PART[1]} was down is not there after it returned: $(cat "$W/objs")"
cmp <(p11 --token-label "${PART[1]}" --read-object --type cert --id 12 2>/dev/null) "$W/c2.der" \
  || fail "the caught-up certificate differs from the one written"

# The EC key pair made through the group: both halves are on both members.
for p in "${PART[@]}"; do
  has "$p" privkey 02 || fail "the group's private key 02 is not on $p: $(cat "$W/objs")"
  has "$p" pubkey 02 || fail "the group's public key 02 is not on $p: $(cat "$W/objs")"
done
# A signature on member 2 alone (member 1's appliance killed) verifies against the key.
p11 --token-label "${PART[1]}" --read-object --type pubkey --id 02 -o "$W/pub02.der" \
  > "$W/pub.out" 2>&1 || fail "read public key 02: $(cat "$W/pub.out")"
openssl pkey -pubin -inform DER -in "$W/pub02.der" -out "$W/pub02.pem" 2>"$W/pub.out" \
  || fail "public key 02 is not a key openssl reads: $(cat "$W/pub.out")"
printf 'signed on member 2 alone\n' > "$W/data"
openssl dgst -sha256 -binary "$W/data" > "$W/digest"
chmod 644 "$W/digest"
kill9_ntlsd 0
p11 --token-label "${PART[1]}" --login --pin "$USER_PIN" --sign --mechanism ECDSA \
  --signature-format openssl --id 02 -i "$W/digest" -o "$W/m2.sig" > "$W/sign.out" 2>&1 \
  || fail "sign with the replicated key on ${PART[1]}: $(cat "$W/sign.out")"
openssl pkeyutl -verify -pubin -inkey "$W/pub02.pem" -in "$W/digest" -sigfile "$W/m2.sig" \
  > "$W/verify.out" 2>&1 || fail "member 2's signature does not verify: $(cat "$W/verify.out")"
start_ntlsd 0 "${PORT[0]}"

# An AES key through the group is on both members.
group --keygen --key-type AES:32 --extractable --id 03 --label aes > "$W/aes.out" 2>&1 \
  || fail "AES key through the group: $(cat "$W/aes.out")"
for p in "${PART[@]}"; do
  has "$p" secrkey 03 || fail "the group's AES key 03 is not on $p: $(cat "$W/objs")"
done

# A key generated while member 2 is down is on member 2 after it returns.
kill9_ntlsd 1
group --keygen --key-type AES:32 --extractable --id 04 --label late > "$W/late.out" 2>&1 \
  || fail "AES key with member 2 down: $(cat "$W/late.out")"
start_ntlsd 1 "${PORT[1]}"
group --list-objects --type secrkey > "$W/catchup2.out" 2>&1 \
  || fail "login after member 2 returned: $(cat "$W/catchup2.out")"
grep -q "member ${ADDR[1]}/${PART[1]} caught up" "$W/catchup2.out" \
  || fail "no catch-up line for key 04: $(cat "$W/catchup2.out")"
has "${PART[1]}" secrkey 04 \
  || fail "key 04 made while ${PART[1]} was down is not there after it returned: $(cat "$W/objs")"

# A key the application makes non-extractable (pkcs11-tool sets CKA_EXTRACTABLE false
# without --extractable): refused with the reason, nothing left behind.
if group --keygen --key-type AES:32 --id 05 --label nonext > "$W/nonext.out" 2>&1; then
  fail "a non-extractable key was made in the group: $(cat "$W/nonext.out")"
fi
grep -q "CKA_EXTRACTABLE false cannot be copied" "$W/nonext.out" \
  || fail "no reason for the refused non-extractable key: $(cat "$W/nonext.out")"
for p in "${PART[@]}"; do
  p11 --token-label "$p" --login --pin "$USER_PIN" --list-objects > "$W/all.out" 2>&1 \
    || fail "list objects on $p: $(cat "$W/all.out")"
  if grep -q "label: *nonext" "$W/all.out"; then fail "the refused key left an object on $p"; fi
done

# Member 2 loses its cloning-domain key: it cannot unwrap, so a new key is refused and
# removed from member 1 too.
p11 --token-label "${PART[1]}" --login --pin "$USER_PIN" --delete-object --type secrkey \
  --label trustlink-cloning-domain > "$W/del.out" 2>&1 || fail "delete member 2's cloning key: $(cat "$W/del.out")"
if group --keygen --key-type AES:32 --extractable --id 06 --label undone > "$W/undo.out" 2>&1; then
  fail "a key was made although member 2 cannot take a copy: $(cat "$W/undo.out")"
fi
grep -q "member ${ADDR[1]}/${PART[1]} refused the copy.*no cloning-domain key.*undone on every member" \
  "$W/undo.out" || fail "no reason for the undone write: $(cat "$W/undo.out")"
for p in "${PART[@]}"; do
  p11 --token-label "$p" --login --pin "$USER_PIN" --list-objects > "$W/all.out" 2>&1 \
    || fail "list objects on $p: $(cat "$W/all.out")"
  if grep -q "label: *undone" "$W/all.out"; then fail "the undone write left a key on $p"; fi
done
echo PASS
