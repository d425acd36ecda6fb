#!/bin/bash
# An OpenSSL 3 peer accepts a vtl-made client identity in a TLS 1.3 mutual-auth handshake:
# openssl s_server trusts exactly the client certificate (-CAfile, X.509 verification with
# the self-signed certificate as its own anchor) and requires it; openssl s_client presents
# vtl's certificate and key. Done for the default key type (Ed25519) and for P-256, and a
# certificate the server does not trust is refused.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail

VTL="$PWD/examples/vtl/vtl"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/hs.XXXXXX")"
cd "$WORK"

openssl req -x509 -newkey ed25519 -nodes -days 30 -subj /CN=hsm1 \
  -addext "extendedKeyUsage=serverAuth" -addext "subjectAltName=DNS:hsm1" \
  -keyout server.key -out server.pem 2>/dev/null

handshake() {  # handshake TRUSTED_CLIENT_CERT CLIENT_CERT CLIENT_KEY -> 0 if both sides verified
  rm -f srv.log cli.log
  openssl s_server -accept 127.0.0.1:0 -tls1_3 -cert server.pem -key server.key \
    -Verify 1 -verify_return_error -CAfile "$1" -naccept 1 -www >srv.log 2>&1 &
  local spid=$! port=""
  # Wait (with a deadline) for the server to report the port it bound.
  for _ in $(seq 100); do
    port=$(sed -n 's/^ACCEPT 127.0.0.1:\([0-9]*\)$/\1/p' srv.log)
    [[ -n "$port" ]] && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "$port" ]] || { cat srv.log; kill "$spid" 2>/dev/null; fail "s_server did not start"; }
  set +e
  echo "GET / HTTP/1.0" | timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_3 \
    -cert "$2" -key "$3" -CAfile server.pem -verify_return_error -brief >cli.log 2>&1
  set -e
  timeout 20 tail --pid="$spid" -f /dev/null || kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  grep -q "Verification: OK" cli.log && grep -q "verify return:1" srv.log &&
    ! grep -qi "alert" cli.log
}

for kt in default p256; do
  root="$WORK/$kt"
  "$VTL" --root "$root" createCert -n web1 -k "$kt" >/dev/null
  cert="$root/cert/client/web1.pem"
  key="$root/cert/client/web1Key.pem"
  handshake "$cert" "$cert" "$key" || { cat srv.log cli.log; fail "$kt: handshake"; }
  # The server must also have seen the client's signature type.
  if [[ $kt == default ]]; then
    grep -q "Signature type: ed25519" cli.log || { cat cli.log; fail "server key is not Ed25519"; }
  fi
done

# A client certificate the server does not trust is refused.
"$VTL" --root "$WORK/stranger" createCert -n web1 >/dev/null
if handshake "$WORK/default/cert/client/web1.pem" "$WORK/stranger/cert/client/web1.pem" \
    "$WORK/stranger/cert/client/web1Key.pem"; then
  fail "an untrusted client certificate was accepted"
fi

# And the appliance certificate registers with vtl under its name.
"$VTL" --root "$WORK/default" addServer -n hsm1 -c server.pem >/dev/null
"$VTL" --root "$WORK/default" verify -local >/dev/null || fail "verify"
echo PASS
