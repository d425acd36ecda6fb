#!/bin/bash
# Replays the reference product's enrolment steps on the appliance side with ntlsh and checks
# what `client list` and `client show` report, in tables and in --json, plus the refusals.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
NTLSH="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
T="${TEST_TMPDIR:-$(mktemp -d)}/registration"
rm -rf "$T"; mkdir -p "$T/client"
export TRUSTLINK_APPLIANCE_ROOT="$T/appliance"   # the documented variable instead of --root
expect() {  # expect WORDS FILE: the output must contain WORDS
  grep -qF -- "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "expected '$1'"; }
}
run() { "$NTLSH" "$@" >"$T/out" 2>"$T/err"; }
run_fails() {  # run_fails EXIT_CODE STATUS_NAME ARGS...
  local want_rc="$1" want="$2"; shift 2
  set +e; "$NTLSH" "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [[ $rc == "$want_rc" ]] || { cat "$T/out" "$T/err"; fail "$* exited $rc, want $want_rc"; }
  expect "($want)" "$T/out"
}
client_cert() {  # client_cert NAME SAN: what `vtl createCert -n NAME` leaves on the client
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -keyout "$T/client/$1Key.pem" -out "$T/client/$1.pem" -subj "/CN=$1" \
    -addext "subjectAltName=$2" 2>/dev/null
}

# 1. Appliance set-up: the server certificate, exported for the client's `vtl addServer`.
run sysconf regenCert -name hsm1.example.com
expect "Command Result : 0 (Success)" "$T/out"
run sysconf exportCert -file "$T/client/server.pem"
expect "SHA-256 Fingerprint" "$T/out"
openssl x509 -in "$T/client/server.pem" -noout -subject | grep -q hsm1.example.com ||
  fail "server.pem is not for hsm1.example.com"
want_fp=$(openssl x509 -in "$T/client/server.pem" -noout -fingerprint -sha256 | cut -d= -f2)
expect "$want_fp" "$T/out"

# 3-4. The client makes its certificate and the admin copies it to the appliance (scp).
client_cert client1.example.com DNS:client1.example.com
cp "$T/client/client1.example.com.pem" "$TRUSTLINK_APPLIANCE_ROOT/incoming/"

# 5. Register it (the certificate comes from incoming/), map its IP, give it a partition.
run client register -client client1 -hostname client1.example.com
expect "Command Result : 0 (Success)" "$T/out"
run client hostip map -client client1 -ip 127.0.0.2
run partition create -partition par1 -label "first partition"
run client assignPartition -client client1 -partition par1
run client assignPartition -client client1 -partition par1   # idempotent, says so
expect "already assigned" "$T/err"
expect "Command Result : 0 (Success)" "$T/out"

# An IP-named client, with HTL required and its own OTT expiry.
client_cert 127.0.0.3 IP:127.0.0.3
run client register -client "db server" -ip 127.0.0.3 -certificate "$T/client/127.0.0.3.pem" \
  -requirehtl -ottexpiry 600

# client list: LunaSH's lines, which admins' scripts parse; -table (any case) the table.
run client list
expect "registered client 1: client1" "$T/out"
expect "registered client 2: db server" "$T/out"
run CLIENT List -TABLE
expect "client1    client1.example.com  hostname  127.0.0.2   no   par1" "$T/out"
expect "db server  127.0.0.3            IPv4                  yes" "$T/out"
expect "Command Result : 0 (Success)" "$T/out"

# client show: the fields, the fingerprint as openssl computes it.
fp=$(openssl x509 -in "$T/client/client1.example.com.pem" -noout -fingerprint -sha256 | cut -d= -f2)
run client show -client client1
expect "Hostname       : client1.example.com" "$T/out"
expect "IP Address     : 127.0.0.2" "$T/out"
expect "Partitions     : par1" "$T/out"
expect "Fingerprint    : $fp" "$T/out"
expect "OTT Expiry (s) : 300 (default)" "$T/out"
run client show -c "db server"          # flags may be abbreviated
expect "HTL Required   : yes" "$T/out"
expect "OTT Expiry (s) : 600" "$T/out"

# client fingerprint and client hostip show, as LunaSH has them.
run client fingerprint -client client1
expect "Certificate fingerprint : $fp" "$T/out"
run client hostip show
expect "client1  client1.example.com  127.0.0.2" "$T/out"

# --json for scripts.
run --json client list
python3 - "$T/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["result"] == 0, d
labels = [c["label"] for c in d["clients"]]
assert labels == ["client1", "db server"], labels
assert d["clients"][0]["partitions"] == "par1", d
PY
run --json client show -client client1
python3 -c "import json,sys; d=json.load(open('$T/out')); assert d['fingerprint']=='$fp', d"

# The refusals, each with its Command Result line and exit status 1.
run_fails 1 TL_E_ALREADY_EXISTS client register -client copy -hostname client1.example.com \
  -certificate "$T/client/client1.example.com.pem"
expect "client1" "$T/err"
# ntlsh adds its own commands as a hint.
expect "Hint: client list shows the registered clients" "$T/err"
client_cert other.example.com DNS:other.example.com
run_fails 1 TL_E_CERT_NAME_MISMATCH client register -client x -hostname client9.example.com \
  -certificate "$T/client/other.example.com.pem"
run_fails 1 TL_E_CERT_INVALID client register -client x -hostname other.example.com \
  -certificate "$T/client/other.example.comKey.pem"
run_fails 1 TL_E_NAME_INVALID client register -client ../etc -hostname other.example.com \
  -certificate "$T/client/other.example.com.pem"
run_fails 1 TL_E_NOT_FOUND client assignPartition -client client1 -partition nope
expect "Hint: partition list shows the partitions" "$T/err"
grep "^Error:" "$T/err" | grep -q "partition list" && fail "the library's message gives ntlsh advice"
run_fails 1 TL_E_NOT_FOUND client register -client y -hostname nothere.example.com
expect "incoming/nothere.example.com.pem" "$T/err"
run_fails 2 TL_E_INVALID_ARGUMENT client register -client z -hostname other.example.com \
  -certificate "$T/client/other.example.com.pem" -generateott
expect "-generateott needs -requirehtl" "$T/err"
run_fails 1 TL_E_FAILED_PRECONDITION partition delete -partition par1
expect "client1" "$T/err"
expect "Hint: client revokePartition first" "$T/err"
run_fails 2 TL_E_INVALID_ARGUMENT client register -client z
run_fails 2 TL_E_INVALID_ARGUMENT client frobnicate

# Settings and their shows.
run ntls ipcheck disable
expect "Disable" "$T/out"
run ntls tcp_keepalive set -idle 30 -interval 5 -probes 3
expect "TCP keep-alive idle (s)     : 30" "$T/out"
run htl set gracePeriod -seconds 90
run htl show
expect "HTL grace period (s)       : 90" "$T/out"
expect "HTL default OTT expiry (s) : 300" "$T/out"
expect "db server" "$T/out"
run_fails 1 TL_E_OUT_OF_RANGE ntls bind -port 99999
run ntls limits show
expect "NTLS max links per client        : 256" "$T/out"
run ntls limits set -maxlinksperclient 3
expect "NTLS max links per client        : 3" "$T/out"
run ntls show
expect "NTLS max links per client" "$T/out"
run_fails 1 TL_E_OUT_OF_RANGE ntls limits set -maxlinksperclient 0
expect "max links per client 0 is out of range; use 1 to 1000000" "$T/err"
# No ntlsd serves this root: a restart has nothing to restart, and says so.
run_fails 1 TL_E_UNAVAILABLE service restart ntls
expect "ntls is not running" "$T/err"

# Replacing a certificate is one command.
client_cert client1.example.com DNS:client1.example.com
run client replaceCertificate -client client1 -certificate "$T/client/client1.example.com.pem"
fp2=$(openssl x509 -in "$T/client/client1.example.com.pem" -noout -fingerprint -sha256 | cut -d= -f2)
run client show -client client1
expect "$fp2" "$T/out"

# regenCert keeps the old certificate until dropped.
run sysconf regenCert
run sysconf showCert
expect "previous" "$T/out"
expect "$want_fp" "$T/out"
run sysconf dropOldCert
expect "Old certificates dropped : 1" "$T/out"

# Interactive: commands from stdin, no prompt when not a tty; exit status of the worst.
set +e
printf 'client list\n# a comment\npartition list\nclient show -client nobody\n' |
  "$NTLSH" >"$T/out" 2>"$T/err"
rc=$?
set -e
[[ $rc == 1 ]] || fail "interactive run exited $rc, want 1"
[[ $(grep -c "Command Result : 0 (Success)" "$T/out") == 2 ]] || fail "want two successes"
expect "Command Result : 2 (TL_E_NOT_FOUND)" "$T/out"
grep -q "ntlsh:>" "$T/out" && fail "prompt printed without a tty"

# Delete, and a damaged registry file is reported with file and line.
run client delete -client "db server"
run client list
grep -q "db server" "$T/out" && fail "deleted client still listed"
f=$(grep -l "label = client1" "$TRUSTLINK_APPLIANCE_ROOT"/clients/*)
sed -i 's/^requirehtl = no/requirehtl = perhaps/' "$f"
run_fails 1 TL_E_DATA_LOSS client list
expect "clients/$(basename "$f") line" "$T/err"
sed -i 's/^requirehtl = perhaps/requirehtl = no/' "$f"

# A root others can write is refused as ntlsd refuses it, naming the fix; then it works again.
chmod 0777 "$TRUSTLINK_APPLIANCE_ROOT"
run_fails 1 TL_E_PERMISSION_DENIED client list
expect "$TRUSTLINK_APPLIANCE_ROOT has mode 0777: it is writable by group or others" "$T/err"
expect "run chmod go-w $TRUSTLINK_APPLIANCE_ROOT" "$T/err"
chmod 0700 "$TRUSTLINK_APPLIANCE_ROOT"
run client list
expect "Command Result : 0 (Success)" "$T/out"
echo PASS
