#!/bin/bash
# vtl hagroup with the real vtl: groups made, changed, listed and removed in trustlink.conf
# with the Luna keys; every bad input gets a clear error, vtl's hint and the documented exit
# code, and leaves trustlink.conf byte for byte as it was.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail

VTL="$PWD/examples/vtl/vtl"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/hagroup.XXXXXX")"
ROOT="$WORK/client"
CONF="$ROOT/trustlink.conf"
cd "$WORK"
vtl() { "$VTL" --root "$ROOT" "$@"; }
ok() {  # ok command...: succeeds; its output is in out.txt
  set +e; "$@" >out.txt 2>err.txt; local rc=$?; set -e
  [[ $rc == 0 ]] || { cat out.txt err.txt >&2; fail "'$*' exited $rc"; }
}
expect_bad() {  # expect_bad RC WORD command...: fails with RC, says WORD, changes nothing
  local want=$1 word=$2; shift 2
  local before; before=$(sha256sum "$CONF")
  set +e; "$@" >out.txt 2>err.txt; local rc=$?; set -e
  [[ $rc == "$want" ]] || { cat out.txt err.txt >&2; fail "'$*' exited $rc, want $want"; }
  grep -qF -- "$word" err.txt || { cat err.txt >&2; fail "'$*': message lacks '$word'"; }
  [[ "$(sha256sum "$CONF")" == "$before" ]] || fail "'$*' changed trustlink.conf"
}
has() { grep -qF -- "$1" "$CONF" || { cat "$CONF" >&2; fail "trustlink.conf lacks '$1'"; }; }
lacks() { ! grep -qF -- "$1" "$CONF" || { cat "$CONF" >&2; fail "trustlink.conf still has '$1'"; }; }

for s in hsm1 hsm2 hsm3; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=$s" \
    -keyout "$s.key" -out "$s.pem" 2>/dev/null
done
vtl createCert -n web1 >/dev/null
for s in hsm1 hsm2 hsm3; do vtl addServer -n "$s" -c "$s.pem" >/dev/null; done
printf '# the admin keeps notes here\n' >>"$CONF"

# The commands, in any letter case, as a Luna admin types them.
ok vtl hagroup createGroup -label payments -server hsm1 -partition pA
grep -qF "HA group payments created with active member hsm1/pA" out.txt || fail "createGroup: $(cat out.txt)"
ok vtl HAGROUP addmember -group payments -server HSM2 -partition pA
ok vtl hagroup addStandby -group Payments -server hsm3 -partition pA
ok vtl hagroup addStandby -group payments -serial 150518006
ok vtl hagroup createGroup -label batch -server hsm2 -partition pB
ok vtl hagroup haonly -enable
grep -qF "HA only: enabled" out.txt || fail "haonly -enable: $(cat out.txt)"
has "VirtualToken00Label = payments;"
has "VirtualToken00Members = hsm1/pA,hsm2/pA;"
has "VirtualToken00Standby = hsm3/pA,150518006;"
has "VirtualToken01Label = batch;"
has "HAOnly = 1;"
has "# the admin keeps notes here"
grep -qE "VirtualToken00SN = [0-9]{12};" "$CONF" || fail "no VirtualToken00SN"

ok vtl hagroup listGroups
for want in "HA only: enabled" "HA group payments" "active   hsm2/pA" "standby  hsm3/pA" \
  "standby  serial 150518006" "HA group batch"; do
  grep -qF -- "$want" out.txt || { cat out.txt >&2; fail "listGroups lacks '$want'"; }
done
ok vtl hagroup listGroups --json
python3 -c '
import json, sys
d = json.load(open("out.txt"))
assert d["ha_only"] is True and d["reconnect_attempts"] == -1, d
g = d["groups"][0]
assert g["label"] == "payments" and len(g["members"]) == 4, g
assert g["members"][2] == {"server": "hsm3", "partition": "pA", "serial": "", "standby": True}, g
' || fail "listGroups --json: $(cat out.txt)"
ok vtl hagroup haonly -show
grep -qF "HA only: enabled" out.txt || fail "haonly -show: $(cat out.txt)"
ok vtl hagroup recovery -interval 20 -attempts 5
grep -qF "AutoReconnectInterval: 20 s   reconnAtt: 5" out.txt || fail "recovery: $(cat out.txt)"
has "AutoReconnectInterval = 20;"
has "reconnAtt = 5;"
ok vtl hagroup recovery -attempts -1
has "reconnAtt = -1;"

# Bad input: each refused with the fix, nothing written.
expect_bad 4 "not configured" vtl hagroup addMember -group payments -server hsm9 -partition pA
grep -qF "vtl: hint: vtl hagroup listGroups" err.txt || fail "no hint for an unknown server"
expect_bad 4 "no HA group 'nosuch'" vtl hagroup addMember -group nosuch -server hsm1 -partition pA
expect_bad 3 "exists already" vtl hagroup createGroup -label PAYMENTS -server hsm1 -partition pC
grep -qF "vtl hagroup addMember -group PAYMENTS" err.txt || fail "no hint for a taken label"
expect_bad 3 "already an active member" vtl hagroup addMember -group payments -server hsm1 -partition pA
expect_bad 1 "HA group label '../x'" vtl hagroup createGroup -label ../x -server hsm1 -partition pA
expect_bad 1 "partition name" vtl hagroup addMember -group payments -server hsm1 -partition .hidden
expect_bad 1 "may not hold '/'" vtl hagroup addMember -group payments -server hsm1 -partition a/b
expect_bad 1 "serial" vtl hagroup addStandby -group payments -serial 12ab
expect_bad 1 "last active member" vtl hagroup removeMember -group batch -server hsm2 -partition pB
grep -qF "deleteGroup -group batch" err.txt || fail "no hint for the last active member"
expect_bad 4 "is not a member" vtl hagroup removeMember -group batch -server hsm1 -partition pB
expect_bad 1 "HA groups 'payments', 'batch'" vtl deleteServer -n hsm2
grep -qF "vtl hagroup removeMember" err.txt || fail "no hint for deleteServer of a member's server"
expect_bad 2 "needs -server S and -partition P" vtl hagroup addMember -group payments -server hsm1
expect_bad 2 "not both" vtl hagroup addMember -group payments -server hsm1 -partition pA -serial 1
expect_bad 2 "needs -label NAME" vtl hagroup createGroup -server hsm1 -partition pA
expect_bad 2 "give the group once" vtl hagroup deleteGroup -label a -group b
expect_bad 2 "one of -enable, -disable or -show" vtl hagroup haonly -enable -disable
expect_bad 1 "give 1 to 86400 seconds" vtl hagroup recovery -interval 0
expect_bad 1 "-1 (for ever)" vtl hagroup recovery -interval 5 -attempts -7
expect_bad 2 "needs -interval S or -attempts N" vtl hagroup recovery
expect_bad 2 "unknown hagroup subcommand" vtl hagroup frobnicate
expect_bad 2 "hagroup needs a subcommand" vtl hagroup
expect_bad 2 "--json is for" vtl hagroup addMember -group payments -server hsm1 -partition pB --json
[[ ! -e "$ROOT/trustlink.conf.tmp" ]] && ! ls "$ROOT" | grep -q '\.tmp' || fail "a temp file was left"

# A hand-broken file is refused with its line, and vtl says so before changing anything.
cp "$CONF" good.conf
sed -i 's/^   VirtualToken01Members = hsm2\/pB;/   VirtualToken01Members = hsm2:pB;/' "$CONF"
line=$(grep -n "VirtualToken01Members" "$CONF" | cut -d: -f1)
expect_bad 1 "trustlink.conf:$line:" vtl hagroup listGroups
grep -qF "<server>/<partition>" err.txt || fail "the syntax error does not show the syntax"
expect_bad 1 "trustlink.conf:$line:" vtl hagroup haonly -disable
cp good.conf "$CONF"

# Role changes, removal and renumbering.
ok vtl hagroup addStandby -group payments -server hsm2 -partition pA
has "VirtualToken00Members = hsm1/pA;"
has "VirtualToken00Standby = hsm2/pA,hsm3/pA,150518006;"
ok vtl hagroup removeMember -group payments -serial 150518006
has "VirtualToken00Standby = hsm2/pA,hsm3/pA;"
ok vtl hagroup deleteGroup -label payments
grep -qF "HA group payments deleted." out.txt || fail "deleteGroup: $(cat out.txt)"
has "VirtualToken00Label = batch;"
has "VirtualToken00Members = hsm2/pB;"
lacks "VirtualToken01"
ok vtl hagroup haonly -disable
has "HAOnly = 0;"
ok vtl hagroup deleteGroup -group batch
ok vtl deleteServer -n hsm2
ok vtl hagroup listGroups
grep -qF "No HA groups" out.txt || fail "listGroups on none: $(cat out.txt)"
# importConfig carries a Luna client's groups over, members as partition serials.
cat >Chrystoki.conf <<'CONF'
LunaSA Client = {
   ServerName00 = hsm1;
}
VirtualToken = {
   VirtualToken00Label = lunaha;
   VirtualToken00SN = 1154438865287;
   VirtualToken00Members = 154438865287,150518006;
   VirtualToken00Standby = 150518006;
   VirtualTokenActiveRecovery = activeEnhanced;
}
HAConfiguration = {
   reconnAtt = 10;
   AutoReconnectInterval = 90;
   HAOnly = 1;
   haLogStatus = enabled;
}
CONF
ok vtl importConfig -c Chrystoki.conf
grep -qF "imported HA group lunaha" out.txt || fail "importConfig: $(cat out.txt)"
has "VirtualToken00Members = 154438865287;"
has "VirtualToken00Standby = 150518006;"
ok vtl hagroup listGroups
grep -qF "HA only: enabled   AutoReconnectInterval: 90 s   reconnAtt: 10" out.txt ||
  fail "imported HAConfiguration: $(cat out.txt)"
ok vtl importConfig -c Chrystoki.conf
grep -qF "kept HA group lunaha" out.txt || fail "a second import: $(cat out.txt)"
sed -i -e 's/VirtualToken00Members = 154438865287,150518006;/VirtualToken00Members = 1544x;/' -e 's/= lunaha;/= other;/' Chrystoki.conf
expect_bad 1 "Chrystoki.conf:7:" vtl importConfig -c Chrystoki.conf

ok vtl hagroup --help
grep -qF "createGroup -label NAME" out.txt || fail "hagroup --help"
echo PASS
