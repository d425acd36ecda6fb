#!/bin/bash
# End to end with GnuTLS's p11tool. GnuTLS loads p11-kit's registered modules itself (it
# refuses p11-kit-proxy.so as a provider) and skips a module whose CK_INFO equals one it
# already has, so with SoftHSM2 behind every partition it shows the first partition's module
# only (docs/pkcs11.md). This test therefore uses one partition.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/pkcs11/lib.sh"

create_partition web
start_appliance web
setup web

export GNUTLS_PIN="$USER_PIN"
as_user p11tool --list-token-urls > "$W/urls" 2>&1 || fail "list tokens: $(cat "$W/urls")"
grep -q 'token=web' "$W/urls" || fail "token web not listed: $(cat "$W/urls")"
grep -q 'SoftHSM' "$W/urls" || fail "unexpected token list: $(cat "$W/urls")"
[[ "$(grep -c 'model=SoftHSM' "$W/urls")" == 1 ]] || fail "want exactly one partition token: $(cat "$W/urls")"

TOKEN="pkcs11:token=web"
as_user p11tool --login --generate-privkey ecdsa --curve secp256r1 --label gnutls-ec "$TOKEN" \
  > "$W/gen" 2>&1 || fail "p11tool keygen: $(cat "$W/gen")"
as_user p11tool --login --list-privkeys "$TOKEN" > "$W/privs" 2>&1 || fail "list: $(cat "$W/privs")"
grep -q 'Label: gnutls-ec' "$W/privs" || fail "key not found: $(cat "$W/privs")"

# Sign and verify on the token (p11tool signs random data and verifies with the public key).
as_user p11tool --login --test-sign "$TOKEN;object=gnutls-ec;type=private" > "$W/sign" 2>&1 \
  || fail "test-sign: $(cat "$W/sign")"
grep -q 'Verifying against public key in the token... ok' "$W/sign" || fail "test-sign did not verify: $(cat "$W/sign")"

# Export the public key and check it with openssl outside the HSM.
as_user p11tool --export-pubkey "$TOKEN;object=gnutls-ec" --outfile "$W/ec.pub.pem" > /dev/null 2>&1 \
  || fail "export public key"
openssl pkey -pubin -in "$W/ec.pub.pem" -noout -text | grep -q 'prime256v1\|P-256' \
  || fail "exported key is not P-256"

# Wrong PIN.
if GNUTLS_PIN=00000000 as_user p11tool --login --list-privkeys "$TOKEN" > "$W/bad" 2>&1; then
  fail "wrong PIN accepted"
fi
grep -qi 'pin' "$W/bad" || fail "wrong PIN: no PIN error: $(cat "$W/bad")"
echo PASS
