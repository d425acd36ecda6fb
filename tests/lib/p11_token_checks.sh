# The checks an application's view of a partition token must pass, with the real client
# tools through p11-kit, whatever carries the calls (the stand-in link of tests/pkcs11/lib.sh
# or the real one of link_lib.sh). They use p11, as_user, fail, $W, $USER_PIN and $SO_PIN
# from p11_client.sh.

# pkcs11_tool_key_checks TOKEN OTHER: with OpenSC's pkcs11-tool, on TOKEN as Crypto Officer
# (the PKCS#11 user): EC P-256 and RSA-2048 key pairs (ids 01 and 02, labels ec1 and rsa1);
# both sign, and openssl verifies the signatures outside the HSM and refuses them over
# other data; the private keys are found by label only after login, and not on the
# partition token OTHER; a wrong PIN is refused with CKR_PIN_INCORRECT; the partition SO
# logs in with the SO PIN and (re)sets the user PIN, and a wrong SO PIN is refused.
pkcs11_tool_key_checks() {
  local token="$1" other="$2" k id name objs
  local tok=(--token-label "$token" --login --pin "$USER_PIN")
  p11 "${tok[@]}" --keypairgen --key-type EC:prime256v1 --id 01 --label ec1 > "$W/ec.gen" 2>&1 \
    || fail "EC keygen: $(cat "$W/ec.gen")"
  p11 "${tok[@]}" --keypairgen --key-type rsa:2048 --id 02 --label rsa1 > "$W/rsa.gen" 2>&1 \
    || fail "RSA keygen: $(cat "$W/rsa.gen")"

  # Sign. SoftHSM 2.6 has no ECDSA-SHA256, so the digest is made here and signed with ECDSA.
  printf 'trustlink pkcs11 end-to-end %s\n' "$RANDOM" > "$W/data"
  openssl dgst -sha256 -binary "$W/data" > "$W/data.sha256"
  p11 "${tok[@]}" --sign --mechanism ECDSA --id 01 --signature-format openssl \
    -i "$W/data.sha256" -o "$W/ec.sig" > "$W/ec.sign" 2>&1 || fail "ECDSA sign: $(cat "$W/ec.sign")"
  p11 "${tok[@]}" --sign --mechanism SHA256-RSA-PKCS --id 02 -i "$W/data" -o "$W/rsa.sig" \
    > "$W/rsa.sign" 2>&1 || fail "RSA sign: $(cat "$W/rsa.sign")"

  # Verify outside the HSM with the public keys read off the token.
  for k in 01:ec 02:rsa; do
    id=${k%%:*}; name=${k##*:}
    p11 --token-label "$token" --read-object --type pubkey --id "$id" -o "$W/$name.pub.der" \
      2>/dev/null || fail "read $name public key"
    openssl pkey -pubin -inform DER -in "$W/$name.pub.der" -out "$W/$name.pub.pem"
    openssl dgst -sha256 -verify "$W/$name.pub.pem" -signature "$W/$name.sig" "$W/data" \
      | grep -q "Verified OK" || fail "openssl did not verify the $name signature"
  done
  openssl pkey -pubin -in "$W/ec.pub.pem" -noout -text | grep -q 'prime256v1\|P-256' \
    || fail "EC key is not P-256"
  openssl pkey -pubin -in "$W/rsa.pub.pem" -noout -text | grep -q '2048 bit' \
    || fail "RSA key is not 2048-bit"
  # And a signature over other data must not verify (the check above can fail).
  echo tampered >> "$W/data"
  if openssl dgst -sha256 -verify "$W/ec.pub.pem" -signature "$W/ec.sig" "$W/data" >/dev/null 2>&1; then
    fail "a signature verified over tampered data"
  fi

  # Find objects: both private keys, by label, only after login.
  objs="$(p11 "${tok[@]}" --list-objects --type privkey 2>/dev/null)"
  grep -q 'label: *ec1' <<<"$objs" || fail "ec1 not found: $objs"
  grep -q 'label: *rsa1' <<<"$objs" || fail "rsa1 not found: $objs"
  [[ "$(p11 --token-label "$token" --list-objects --type privkey 2>/dev/null | grep -c 'Private Key')" == 0 ]] \
    || fail "private keys visible without login"
  # Partitions are separate tokens: OTHER has none of TOKEN's keys.
  [[ "$(p11 --token-label "$other" --login --pin "$USER_PIN" --list-objects --type privkey 2>/dev/null \
    | grep -c 'Private Key')" == 0 ]] || fail "$other shows $token's keys"

  # A wrong PIN is refused with CKR_PIN_INCORRECT, as the application sees it.
  if p11 --token-label "$token" --login --pin 00000000 --list-objects > "$W/badpin" 2>&1; then
    fail "wrong PIN accepted"
  fi
  grep -q CKR_PIN_INCORRECT "$W/badpin" || fail "wrong PIN: want CKR_PIN_INCORRECT, got: $(cat "$W/badpin")"
  # The SO PIN is the partition SO login; the SO's job is (re)setting the user PIN.
  p11 --token-label "$token" --login --login-type so --so-pin "$SO_PIN" --init-pin --new-pin "$USER_PIN" \
    > "$W/so" 2>&1 || fail "SO login / init-pin refused: $(cat "$W/so")"
  if p11 --token-label "$token" --login --login-type so --so-pin 00000000 --init-pin --new-pin "$USER_PIN" \
    > "$W/badso" 2>&1; then fail "wrong SO PIN accepted"; fi
  grep -q CKR_PIN_INCORRECT "$W/badso" || fail "wrong SO PIN: $(cat "$W/badso")"
}

# p11tool_key_checks TOKEN: with GnuTLS's p11tool, on TOKEN: a P-256 key generated and
# listed; p11tool signs with it and verifies against the public key on the token; the
# exported public key is P-256 to openssl; a wrong PIN is refused with a PIN error.
p11tool_key_checks() {
  local uri="pkcs11:token=$1"
  export GNUTLS_PIN="$USER_PIN"
  as_user p11tool --login --generate-privkey ecdsa --curve secp256r1 --label gnutls-ec "$uri" \
    > "$W/gen" 2>&1 || fail "p11tool keygen: $(cat "$W/gen")"
  as_user p11tool --login --list-privkeys "$uri" > "$W/privs" 2>&1 || fail "list: $(cat "$W/privs")"
  grep -q 'Label: gnutls-ec' "$W/privs" || fail "key not found: $(cat "$W/privs")"

  # Sign and verify on the token (p11tool signs random data and verifies with the public key).
  as_user p11tool --login --test-sign "$uri;object=gnutls-ec;type=private" > "$W/sign" 2>&1 \
    || fail "test-sign: $(cat "$W/sign")"
  grep -q 'Verifying against public key in the token... ok' "$W/sign" \
    || fail "test-sign did not verify: $(cat "$W/sign")"

  # Export the public key and check it with openssl outside the HSM.
  as_user p11tool --export-pubkey "$uri;object=gnutls-ec" --outfile "$W/ec.pub.pem" > /dev/null 2>&1 \
    || fail "export public key"
  openssl pkey -pubin -in "$W/ec.pub.pem" -noout -text | grep -q 'prime256v1\|P-256' \
    || fail "exported key is not P-256"

  if GNUTLS_PIN=00000000 as_user p11tool --login --list-privkeys "$uri" > "$W/bad" 2>&1; then
    fail "wrong PIN accepted"
  fi
  grep -qi 'pin' "$W/bad" || fail "wrong PIN: no PIN error: $(cat "$W/bad")"
}
