#!/bin/bash
# End to end over the real link with GnuTLS's p11tool: list the token, generate a P-256 key,
# sign and verify on the token, export the public key for openssl, and a wrong PIN. GnuTLS
# loads p11-kit's module list itself and shows only the first of several SoftHSM2-backed
# partitions (docs/pkcs11.md), so this test assigns one.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/pkcs11/link_lib.sh"

start_appliance
create_partition web
assign web
slots_are web
setup

export GNUTLS_PIN="$USER_PIN"
as_user p11tool --list-token-urls > "$W/urls" 2>&1 || fail "list tokens: $(cat "$W/urls")"
grep -q 'token=web' "$W/urls" || fail "token web not listed: $(cat "$W/urls")"
[[ "$(grep -c 'model=SoftHSM' "$W/urls")" == 1 ]] || fail "want exactly one partition token: $(cat "$W/urls")"

TOKEN="pkcs11:token=web"
as_user p11tool --login --generate-privkey ecdsa --curve secp256r1 --label gnutls-ec "$TOKEN" \
  > "$W/gen" 2>&1 || fail "p11tool keygen: $(cat "$W/gen")"
as_user p11tool --login --list-privkeys "$TOKEN" > "$W/privs" 2>&1 || fail "list: $(cat "$W/privs")"
grep -q 'Label: gnutls-ec' "$W/privs" || fail "key not found: $(cat "$W/privs")"

as_user p11tool --login --test-sign "$TOKEN;object=gnutls-ec;type=private" > "$W/sign" 2>&1 \
  || fail "test-sign: $(cat "$W/sign")"
grep -q 'Verifying against public key in the token... ok' "$W/sign" || fail "test-sign did not verify: $(cat "$W/sign")"

as_user p11tool --export-pubkey "$TOKEN;object=gnutls-ec" --outfile "$W/ec.pub.pem" > /dev/null 2>&1 \
  || fail "export public key"
openssl pkey -pubin -in "$W/ec.pub.pem" -noout -text | grep -q 'prime256v1\|P-256' \
  || fail "exported key is not P-256"

if GNUTLS_PIN=00000000 as_user p11tool --login --list-privkeys "$TOKEN" > "$W/bad" 2>&1; then
  fail "wrong PIN accepted"
fi
grep -qi 'pin' "$W/bad" || fail "wrong PIN: no PIN error: $(cat "$W/bad")"

# Revoked: the token is no longer listed.
revoke web
slots_are
as_user p11tool --list-token-urls > "$W/urls2" 2>&1 || true
if grep -q 'token=web' "$W/urls2"; then fail "token web still listed after revoke: $(cat "$W/urls2")"; fi
echo PASS
