#!/bin/bash
# Drives vtl through the seed's enrolment steps (MISSION.md, "Enrolment"), with its example
# names: appliances by host name and by IPv6 address, a client host, and HTL on one link.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail

VTL="$PWD/examples/vtl/vtl"
CHRYSTOKI="$PWD/testdata/client/Chrystoki.conf"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/enrol.XXXXXX")"
ROOT="$WORK/client"
cd "$WORK"

expect_rc() {  # expect_rc WANT command...
  local want=$1; shift
  set +e; "$@" >out.txt 2>err.txt; local rc=$?; set -e
  [[ $rc == "$want" ]] || { cat out.txt err.txt >&2; fail "'$*' exited $rc, want $want"; }
}
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }

# Step 1: each appliance has its own server.pem (here made with openssl, as an appliance would).
make_server_pem() {  # make_server_pem CN SAN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$1" -addext "subjectAltName=$2" -keyout "$WORK/server.key" \
    -out "$WORK/server.pem" 2>/dev/null
}

# Step 2: register the first appliance's server.pem before the next one arrives.
make_server_pem hsm1.example.com DNS:hsm1.example.com
want_fp=$(openssl x509 -in server.pem -noout -fingerprint -sha256 | cut -d= -f2)
expect_rc 0 "$VTL" --root "$ROOT" addServer -n hsm1.example.com -c server.pem
contains out.txt "New server hsm1.example.com successfully added"
contains out.txt "$want_fp"
[[ -f "$ROOT/cert/server/hsm1.example.comCert.pem" ]] || fail "named file missing"
grep -qF "$(sed -n 2p server.pem)" "$ROOT/cert/server/CAFile.pem" || fail "not in CAFile.pem"

# The second appliance's certificate also arrives as server.pem; it is registered by an IPv6
# address typed in a non-canonical form, with HTL. trustlink stores the canonical form and warns.
make_server_pem "2018:1::29ff:fe2e:b07f" "IP:2018:1::29ff:fe2e:b07f"
expect_rc 0 "$VTL" --root "$ROOT" addServer -n 2018:1:0:0:0:29ff:fe2e:b07f -c server.pem -htl
contains err.txt "warning"
contains err.txt "2018:1::29ff:fe2e:b07f"
[[ -f "$ROOT/cert/server/2018:1::29ff:fe2e:b07fCert.pem" ]] || fail "IPv6 named file missing"

# Step 3: the client makes its own key pair and certificate; vtl prints both paths.
expect_rc 0 "$VTL" --root "$ROOT" createCert -n web1
contains out.txt "$ROOT/cert/client/web1Key.pem"
contains out.txt "$ROOT/cert/client/web1.pem"
[[ $(stat -c %a "$ROOT/cert/client/web1Key.pem") == 600 ]] || fail "key is not 0600"
# Never overwritten without -force.
before=$(sha256sum "$ROOT/cert/client/web1Key.pem")
expect_rc 3 "$VTL" --root "$ROOT" createCert -n web1
contains err.txt "-force"
[[ $(sha256sum "$ROOT/cert/client/web1Key.pem") == "$before" ]] || fail "key overwritten"
expect_rc 0 "$VTL" --root "$ROOT" createCert -n web1 -k p256 -days 365 -force
contains out.txt "ECDSA P-256"

# Step 4 happens on the appliance: the client certificate is a file an admin can copy.
openssl x509 -in "$ROOT/cert/client/web1.pem" -noout >/dev/null

# The list, the overview and the local verification.
expect_rc 0 "$VTL" --root "$ROOT" listServers
contains out.txt "hsm1.example.com"
contains out.txt "$want_fp"
grep -E '^2018:1::29ff:fe2e:b07f +1792 yes ' out.txt >/dev/null || { cat out.txt; fail "HTL row"; }
expect_rc 0 "$VTL" --root "$ROOT" show
contains out.txt "Client identity: web1 (ECDSA P-256)"
contains out.txt "Config file: $ROOT/trustlink.conf"
expect_rc 0 "$VTL" --root "$ROOT" verify -local
contains out.txt "in order"

# The environment variable chooses the root too.
TRUSTLINK_CLIENT_ROOT="$ROOT" expect_rc 0 "$VTL" listServers
contains out.txt "hsm1.example.com"

# Registering the same certificate again is fine; a different one needs -replace.
make_server_pem hsm1.example.com DNS:hsm1.example.com
expect_rc 3 "$VTL" --root "$ROOT" addServer -n HSM1.example.com -c server.pem
contains err.txt "-replace"
expect_rc 0 "$VTL" --root "$ROOT" addServer -n hsm1.example.com -c server.pem -replace -p 1793
contains out.txt "replaced"
expect_rc 0 "$VTL" --root "$ROOT" listServers
grep -E '^hsm1.example.com +1793 no ' out.txt >/dev/null || { cat out.txt; fail "port update"; }

# De-registering one appliance.
expect_rc 0 "$VTL" --root "$ROOT" deleteServer -n 2018:1::29ff:fe2e:b07f
expect_rc 0 "$VTL" --root "$ROOT" listServers
grep -q "2018" out.txt && fail "deleted server still listed"
expect_rc 4 "$VTL" --root "$ROOT" deleteServer -n 2018:1::29ff:fe2e:b07f
contains err.txt "not registered"

# Importing an existing Chrystoki.conf carries its servers over; verify then says which
# certificates are still to be registered, and how.
expect_rc 0 "$VTL" --root "$ROOT" importConfig -c "$CHRYSTOKI"
contains out.txt "imported server 192.168.10.21 port 1792 with HTL"
contains out.txt "kept server hsm1.example.com"
expect_rc 6 "$VTL" --root "$ROOT" verify -local
contains out.txt "[FAIL] server 192.168.10.21"
contains out.txt "vtl addServer -n 192.168.10.21"
make_server_pem 192.168.10.21 IP:192.168.10.21
expect_rc 0 "$VTL" --root "$ROOT" addServer -n 192.168.10.21 -c server.pem -htl
make_server_pem x IP:2018:1::29ff:fe2e:b07f
expect_rc 0 "$VTL" --root "$ROOT" addServer -n 2018:1::29ff:fe2e:b07f -c server.pem -p 1793
# Running it again (a renewed certificate, say) keeps the port and HTL unless given, whatever
# form the name is typed in, and says what changed.
expect_rc 0 "$VTL" --root "$ROOT" addServer -n 2018:1::29ff:fe2e:b07f -c server.pem -p 1800 -htl
contains out.txt "Port of server 2018:1::29ff:fe2e:b07f changed from 1793 to 1800."
contains out.txt "HTL for server 2018:1::29ff:fe2e:b07f turned on."
expect_rc 0 "$VTL" --root "$ROOT" addServer -n 2018:1:0:0:0:29ff:fe2e:b07f -c server.pem
contains out.txt "Port 1800 and HTL on kept"
expect_rc 0 "$VTL" --root "$ROOT" addServer -n 2018:1::29ff:fe2e:b07f -c server.pem -nohtl
contains out.txt "HTL for server 2018:1::29ff:fe2e:b07f turned off."
expect_rc 0 "$VTL" --root "$ROOT" verify -local
# The admin's comments and unknown keys in trustlink.conf survive vtl's writes.
sed -i 's|^Trustlink Client = {|# site note: keep\nTrustlink Client = {\n   SiteKey = 42;|' "$ROOT/trustlink.conf"
expect_rc 0 "$VTL" --root "$ROOT" deleteServer -n 192.168.10.21
contains "$ROOT/trustlink.conf" "# site note: keep"
contains "$ROOT/trustlink.conf" "SiteKey = 42;"

# A host name that differs from this host's name only by case gets a warning.
host=$(hostname)
upper=$(echo "$host" | tr '[:lower:]' '[:upper:]')
if [[ "$upper" != "$host" ]] && [[ "$host" =~ ^[A-Za-z0-9.-]+$ ]]; then
  expect_rc 0 "$VTL" --root "$WORK/other" createCert -n "$upper"
  contains err.txt "only by case"
fi

# Usage errors.
expect_rc 2 "$VTL" --root "$ROOT" frobnicate
expect_rc 2 "$VTL" --root "$ROOT" addServer -n x
expect_rc 1 "$VTL" --root "$ROOT" addServer -n x -c server.pem -p 70000
expect_rc 4 "$VTL" --root "$WORK/nonexistent" listServers
contains err.txt "does not exist"
contains err.txt "give --root"
echo PASS
