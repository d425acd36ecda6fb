#!/bin/bash
# Writes in an HA group. Both partitions join one cloning domain (ntlsh partition create
# -cloningdomain: the first makes the 0600 key file, the second imports it).
#   - A certificate written through the group's slot is on both members before
#     pkcs11-tool returns; one written while a member's ntlsd is down is on that member once
#     it is back (caught up at the next login, before it takes load).
#   - A key pair cannot be copied between members over p11-kit's RPC (it carries no AES key
#     wrap mechanism): generating one through the group fails with a line saying why, and
#     leaves nothing on either member.
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

# A key pair: refused with the reason, nothing left behind.
if group --keypairgen --key-type EC:prime256v1 --id 02 --label k > "$W/gen.out" 2>&1; then
  fail "a key pair was made although it cannot be copied: $(cat "$W/gen.out")"
fi
grep -q "CKM_AES_KEY_WRAP_PAD" "$W/gen.out" || fail "no reason for the refused key pair: $(cat "$W/gen.out")"
for p in "${PART[@]}"; do
  if has "$p" privkey 02; then fail "a refused key pair left a private key on $p"; fi
  if has "$p" pubkey 02; then fail "a refused key pair left a public key on $p"; fi
done
echo PASS
