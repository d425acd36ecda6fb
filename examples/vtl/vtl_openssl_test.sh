#!/bin/bash
# Certificates made by vtl createCert are accepted by OpenSSL 3: `openssl x509 -noout -text`
# parses them and `openssl verify -CAfile cert cert` accepts each as its own trust anchor
# (self-signed), for every key type, for host names and IP addresses.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail

VTL="$PWD/examples/vtl/vtl"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/openssl.XXXXXX")"
cd "$WORK"

i=1
for kt in ed25519 p256 p384 rsa2048 rsa3072 rsa4096; do
  for name in "web$i.example.com" "10.1.2.$i" "2001:db8::$i"; do
    root="$WORK/root$i"
    "$VTL" --root "$root" createCert -n "$name" -k "$kt" >/dev/null
    cert="$root/cert/client/$name.pem"
    key="$root/cert/client/${name}Key.pem"
    text=$(openssl x509 -in "$cert" -noout -text)
    for want in "TLS Web Client Authentication" "Digital Signature" "Certificate Sign" \
                "CA:TRUE, pathlen:0" "Subject: CN = $name" "X509v3 Subject Key Identifier"; do
      grep -qF "$want" <<<"$text" || { echo "$text"; fail "$kt $name: no '$want'"; }
    done
    if [[ "$name" == *example.com ]]; then
      grep -qF "DNS:$name" <<<"$text" || fail "$kt $name: no DNS SAN"
    elif [[ "$name" == 2001:* ]]; then
      # OpenSSL prints IPv6 SANs fully expanded.
      grep -qiF "IP Address:2001:DB8:0:0:0:0:0:${name##*:}" <<<"$text" ||
        { echo "$text" | grep -A1 Alternative; fail "$kt $name: no IPv6 SAN"; }
    else
      grep -qiF "IP Address:$name" <<<"$text" || { echo "$text" | grep -A1 Alternative; fail "$kt $name: no IP SAN"; }
    fi
    openssl verify -CAfile "$cert" "$cert" >/dev/null || fail "$kt $name: openssl verify"
    openssl verify -x509_strict -purpose sslclient -CAfile "$cert" "$cert" >/dev/null ||
      fail "$kt $name: openssl verify -x509_strict -purpose sslclient"
    # The key is the certificate's key, and OpenSSL reads it.
    [[ "$(openssl pkey -in "$key" -pubout)" == "$(openssl x509 -in "$cert" -noout -pubkey)" ]] ||
      fail "$kt $name: key does not match certificate"
    # The fingerprint vtl reports is openssl's.
    fp=$(openssl x509 -in "$cert" -noout -fingerprint -sha256 | cut -d= -f2)
    "$VTL" --root "$root" show >show.txt; grep -qF "$fp" show.txt || fail "$kt $name: fingerprint differs"
    i=$((i + 1))
  done
done

# Serial numbers are random and positive; validity defaults to two years.
root="$WORK/root1"
serial=$(openssl x509 -in "$root/cert/client/web1.example.com.pem" -noout -serial | cut -d= -f2)
[[ ${#serial} -ge 30 ]] || fail "serial $serial is not 128-bit random"
end=$(openssl x509 -in "$root/cert/client/web1.example.com.pem" -noout -enddate | cut -d= -f2)
days=$(( ($(date -d "$end" +%s) - $(date +%s)) / 86400 ))
[[ $days -ge 729 && $days -le 730 ]] || fail "validity is $days days, want 730"
echo PASS
