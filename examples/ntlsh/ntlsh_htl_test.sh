#!/bin/bash
# ntlsh's htl commands (docs/appliance.md "HTL"): token files (0600 in a 0700 outgoing/),
# client register -requirehtl -generateott, htl show in tables and --json, the settings and
# their refusals, htl clear, client delete clearing HTL state, and a failed token step that
# leaves the admin told what to run next.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
NTLSH="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
T="$(mktemp -d "${TEST_TMPDIR:-/tmp}/ntlsh-htl.XXXXXX")"
APP="$T/appliance"
expect() {  # expect WORDS FILE: the file must contain WORDS
  grep -qF -- "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "expected '$1'"; }
}
expect_not() {
  grep -qF -- "$1" "$2" && { echo "--- $2:"; cat "$2"; fail "did not expect '$1'"; }
  return 0
}
run() {
  "$NTLSH" --root "$APP" "$@" >"$T/out" 2>"$T/err" ||
    { cat "$T/out" "$T/err"; fail "ntlsh $* failed"; }
}
run_fails() {  # run_fails EXIT_CODE STATUS_NAME ARGS...
  local want_rc="$1" want="$2"; shift 2
  set +e; "$NTLSH" --root "$APP" "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [[ $rc == "$want_rc" ]] || { cat "$T/out" "$T/err"; fail "$* exited $rc, want $want_rc"; }
  expect "($want)" "$T/out"
}
client_cert() {  # client_cert NAME SAN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -keyout "$T/$1Key.pem" -out "$T/$1.pem" -subj "/CN=$1" -addext "subjectAltName=$2" \
    2>/dev/null
}
token_of() { sed -n 's/^token //p' "$1"; }
json() {  # json PYTHON_EXPR: evaluate with d = the JSON object in $T/out
  python3 - "$T/out" "$1" <<'PY' || { cat "$T/out"; fail "json check: $1"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert eval(sys.argv[2]), d
PY
}
client_cert web1.example.com DNS:web1.example.com
client_cert 127.0.0.5 IP:127.0.0.5
client_cert 127.0.0.6 IP:127.0.0.6
run sysconf regenCert -name hsm1.example.com

# -generateott without -requirehtl is a usage error, and nothing is registered.
run_fails 2 TL_E_INVALID_ARGUMENT client register -client web1 -hostname web1.example.com \
  -certificate "$T/web1.example.com.pem" -generateott
expect "-requirehtl" "$T/err"
expect "nothing was registered" "$T/err"
run client list
expect_not web1 "$T/out"

# register -requirehtl -generateott: the client, then its token file for the admin to copy.
run client register -client web1 -hostname web1.example.com \
  -certificate "$T/web1.example.com.pem" -requirehtl -generateott
expect "'client register' successful for client web1." "$T/out"
expect "Token file     : $APP/outgoing/web1.example.com.ott" "$T/out"
expect "OTT expiry (s) : 300 (default)" "$T/out"
expect "<client root>/htl/<appliance>.ott" "$T/out"
expect "Command Result : 0 (Success)" "$T/out"
F="$APP/outgoing/web1.example.com.ott"
[[ "$(stat -c %a "$F")" == 600 ]] || fail "token file mode $(stat -c %a "$F"), want 600"
[[ "$(stat -c %a "$APP/outgoing")" == 700 ]] || fail "outgoing/ mode, want 700"
[[ "$(sed -n 1p "$F")" == "trustlink-htl-ott v1" ]] || fail "token file header: $(cat "$F")"
[[ "$(sed -n 2p "$F")" == "client web1.example.com" ]] || fail "token file client line"
token_of "$F" | grep -Eqx '[0-9a-f]{64}' || fail "token is not 256 bits of hex: $(cat "$F")"
first="$(token_of "$F")"
# The appliance keeps only the token's hash: the token itself is in no file under htl/.
! grep -rqF "$first" "$APP/htl" || fail "the raw token is stored in the HTL state"

# htl show: settings, then the client with Unknown HTL and a Ready token.
run htl show
expect "HTL grace period (s)       : 60" "$T/out"
expect "HTL default OTT expiry (s) : 300" "$T/out"
expect "Client  HTL Status  OTT Status  OTT Expiry (s)  Detail" "$T/out"
expect "web1    Unknown     Ready       300 (default)" "$T/out"
run --json htl show -client web1
json 'd["result"] == 0 and d["htl_grace_period"] == 60 and d["htl_default_ott_expiry"] == 300'
json 'd["clients"] == [{"label": "web1", "htl_status": "Unknown", "ott_status": "Ready",
      "ott_expiry": 300, "ott_expiry_is_default": True, "detail": ""}]'

# A new token replaces the file (a new value; the old one is void at the appliance).
run htl generateott -client web1
[[ "$(token_of "$F")" != "$first" ]] || fail "a new token has the old value"
[[ "$(stat -c %a "$F")" == 600 ]] || fail "replaced token file mode"
run --json htl generateott -client web1 -expiry 2
json 'd["token_file"].endswith("/outgoing/web1.example.com.ott") and d["ott_expiry"] == 2'
run client show -client web1
expect "OTT Expiry (s) : 2" "$T/out"      # the registry agrees with the HTL state
# A 2 s token expires: poll htl show under a deadline (10 s).
for _ in $(seq 1 100); do
  run htl show -client web1
  grep -q Expired "$T/out" && break
  sleep 0.1
done
expect "web1    Unknown     Expired     2" "$T/out"

# An IP-named client with its own expiry and a label with a space.
run client register -client "db server" -ip 127.0.0.5 -certificate "$T/127.0.0.5.pem" \
  -requirehtl -ottexpiry 600 -generateott
expect "Token file     : $APP/outgoing/127.0.0.5.ott" "$T/out"
expect "OTT expiry (s) : 600" "$T/out"
expect_not "(default)" "$T/out"
run htl show
expect "db server  Unknown     Ready       600" "$T/out"
# client modify -ottexpiry 0 returns it to the default, in the HTL state too.
run client modify -client "db server" -ottexpiry 0
run htl show -client "db server"
expect "db server  Unknown     Ready       300 (default)" "$T/out"

# A client that does not require HTL is not listed, and a token for it comes with a warning.
run client register -client plain -ip 127.0.0.6 -certificate "$T/127.0.0.6.pem"
run htl show
expect_not plain "$T/out"
run htl generateott -client plain
expect "does not require HTL" "$T/err"
expect "client modify -client plain -requirehtl yes" "$T/err"

# Refusals, each naming the fix.
run_fails 1 TL_E_NOT_FOUND htl generateott -client nobody
expect "client list" "$T/err"
run_fails 1 TL_E_NOT_FOUND htl show -client nobody
run_fails 1 TL_E_NOT_FOUND htl clear -client nobody
run_fails 2 TL_E_INVALID_ARGUMENT htl generateott
expect "missing -client" "$T/err"
run_fails 1 TL_E_OUT_OF_RANGE htl generateott -client web1 -expiry 0
expect "give 1 to 2592000 seconds" "$T/err"
run_fails 1 TL_E_OUT_OF_RANGE htl generateott -client web1 -expiry 2592001
run_fails 1 TL_E_OUT_OF_RANGE htl generateott -client web1 -expiry -3
expect "cannot be negative" "$T/err"
run_fails 2 TL_E_INVALID_ARGUMENT htl generateott -client web1 -expiry 5m
expect "whole number of seconds" "$T/err"
run_fails 1 TL_E_OUT_OF_RANGE htl set gracePeriod -seconds 0
expect "agent restart would need a new token" "$T/err"
expect "give 1 to 86400 seconds" "$T/err"
run_fails 1 TL_E_OUT_OF_RANGE htl set gracePeriod -seconds 99999999999999999999999
expect "too long" "$T/err"
run_fails 1 TL_E_OUT_OF_RANGE htl set gracePeriod -seconds -1
run_fails 1 TL_E_OUT_OF_RANGE htl set defaultOTTExpiry -seconds 0
run_fails 1 TL_E_OUT_OF_RANGE htl set defaultOTTExpiry -seconds 2592001
run_fails 2 TL_E_INVALID_ARGUMENT htl set gracePeriod -seconds ""
run_fails 2 TL_E_INVALID_ARGUMENT htl set gracePeriod
run_fails 2 TL_E_INVALID_ARGUMENT htl frobnicate
expect "htl generateott -client LABEL" "$T/err"   # the usage lines of the group
run htl show
expect "HTL grace period (s)       : 60" "$T/out"  # nothing changed by the refusals

# Settings: the HTL state and the registry's copy agree.
run htl set gracePeriod -seconds 90
expect "HTL grace period (s)       : 90" "$T/out"
run htl set defaultOTTExpiry -seconds 1200
expect "HTL default OTT expiry (s) : 1200" "$T/out"
run --json htl show
json 'd["htl_grace_period"] == 90 and d["htl_default_ott_expiry"] == 1200'
json '[(c["label"], c["ott_expiry"]) for c in d["clients"]] == [("db server", 1200), ("plain", 1200), ("web1", 2)]'
run client show -client "db server"
expect "OTT Expiry (s) : 1200 (default)" "$T/out"

# htl clear: the token is gone (No file); a new one is needed.
run htl clear -client "db server"
expect "cleared" "$T/out"
expect 'htl generateott -client "db server"' "$T/out"
run htl show -client "db server"
expect "db server  Unknown     No file" "$T/out"

# A corrupt HTL state file: htl show names it and says to run htl clear, which then works,
# and the client keeps its own OTT expiry (the registry's copy).
WEB1_STATE="$(grep -l "^client $(printf web1 | od -An -tx1 | tr -d ' \n')\$" "$APP"/htl/client-*)"
[[ -f "$WEB1_STATE" ]] || fail "no HTL state file for web1"
echo "not an HTL state file" >"$WEB1_STATE"
run_fails 1 TL_E_DATA_LOSS htl show -client web1
expect "is corrupt" "$T/err"
expect "htl clear" "$T/err"
run htl clear -client web1
expect "cleared" "$T/out"
run htl show -client web1
expect "web1    Unknown     No file     2" "$T/out"
expect_not "(default)" "$T/out"

# client delete clears the HTL state: the same label registered again has no token.
run htl generateott -client "db server"
run client delete -client "db server"
expect "HTL state (chain and token) was cleared" "$T/out"
run htl show
expect_not "db server" "$T/out"
run client register -client "db server" -ip 127.0.0.5 -certificate "$T/127.0.0.5.pem" -requirehtl
run htl show -client "db server"
expect "db server  Unknown     No file     1200 (default)" "$T/out"

# A failed token step: the client IS registered, and the admin is told what to run next.
run client delete -client "db server"
rm -rf "$APP/outgoing"; echo "not a directory" >"$APP/outgoing"
run_fails 1 TL_E_PERMISSION_DENIED client register -client "db server" -ip 127.0.0.5 \
  -certificate "$T/127.0.0.5.pem" -requirehtl -ottexpiry 900 -generateott
expect "client db server IS registered, but its HTL token was not made" "$T/err"
expect 'run htl generateott -client "db server" -expiry 900 next' "$T/err"
expect "'client register' successful for client db server." "$T/out"
run client list
expect "db server" "$T/out"
rm "$APP/outgoing"
run htl generateott -client "db server" -expiry 900
expect "OTT expiry (s) : 900" "$T/out"
[[ -f "$APP/outgoing/127.0.0.5.ott" ]] || fail "no token after the suggested command"

# A group- or world-writable token directory is refused, not written into.
chmod 777 "$APP/outgoing"
set +e; "$NTLSH" --root "$APP" htl generateott -client web1 >"$T/out" 2>"$T/err"; rc=$?; set -e
[[ $rc == 1 ]] || fail "a world-writable outgoing/ was accepted"
expect "outgoing" "$T/err"
chmod 700 "$APP/outgoing"

# Long host names (up to DNS's 253 characters): the token file name must fit a file name.
# Before: 249 characters failed in the atomic write's temp file (its name grew past 255),
# 250 and more were refused as a file name, each after the client was registered.
long_name() {  # long_name N: a valid DNS name of N characters (labels of at most 63)
  python3 -c 'import sys; n = int(sys.argv[1]); print(".".join(["a" * 63] * 3) + "." + "b" * (n - 192))' "$1"
}
for n in 249 253; do
  host=$(long_name "$n")
  [[ ${#host} == "$n" ]] || fail "long_name made ${#host} characters, want $n"
  client_cert "long$n" "DNS:$host"
  run client register -client "long$n" -hostname "$host" -certificate "$T/long$n.pem" \
    -requirehtl -generateott
  expect "'client register' successful for client long$n." "$T/out"
  file=$(sed -n 's/^Token file *: //p' "$T/out")
  [[ -f $file ]] || { cat "$T/out"; fail "no token file for a $n-character host name"; }
  [[ $(basename "$file" | wc -c) -le 254 ]] || fail "token file name longer than 253: $file"
  token_of "$file" | grep -qE '^[0-9a-f]{64}$' || fail "token file $file holds no token"
done
expect "shortened" "$T/err"  # the 253-character name's file is named so the admin knows why
# The default incoming/<name>.pem cannot exist for such a name: say so, and what to give.
set +e; "$NTLSH" --root "$APP" client register -client longdefault \
  -hostname "$(long_name 253)" >"$T/out" 2>"$T/err"; rc=$?; set -e
[[ $rc != 0 ]] || fail "a default certificate file for a 253-character host name was read"
expect "-certificate" "$T/err"
expect_not "File name too long" "$T/err"

# Interactive mode: the htl commands in one session; exit status of the worst.
set +e
printf 'htl show\nhtl set gracePeriod -seconds 30\nhtl clear -client nobody\n' |
  "$NTLSH" --root "$APP" >"$T/out" 2>"$T/err"
rc=$?
set -e
[[ $rc == 1 ]] || fail "interactive run exited $rc, want 1"
[[ $(grep -c "Command Result : 0 (Success)" "$T/out") == 2 ]] || fail "want two successes"
expect "HTL grace period (s)       : 30" "$T/out"
echo PASS
