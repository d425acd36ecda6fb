#!/bin/bash
# An HA group through p11-kit-proxy: with HAOnly, pkcs11-tool -L and p11tool --list-tokens
# show exactly one slot, the group's, and none of its members; without HAOnly the members
# show beside it. Then the group's slot works: login, key import on the members, sign.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/ha/p11_ha_lib.sh"

appliances
setup
[[ "$(slot_labels | sort | tr '\n' ' ')" == "$GROUP haA haB " ]] \
  || fail "without HAOnly: want the group and both members: $(slot_labels) $(cat "$W/list.err")"

setup -haonly
grep -q "enable-in: vtl" "$MODULES/trustlink-127.0.0.1.module" || fail "member module not hidden: $(cat "$MODULES/trustlink-127.0.0.1.module")"
[[ "$(slot_labels | tr '\n' ' ')" == "$GROUP " ]] \
  || fail "with HAOnly: want exactly the group's slot: '$(slot_labels)' $(cat "$W/list.err")"
as_user p11tool --list-tokens > "$W/tokens" 2>&1 || fail "p11tool: $(cat "$W/tokens")"
[[ "$(grep -c '^Token' "$W/tokens")" == 1 ]] || fail "p11tool: want one token: $(cat "$W/tokens")"
grep -q "Label: $GROUP\$" "$W/tokens" || fail "p11tool: no group token: $(cat "$W/tokens")"
if grep -q 'Label: ha[AB]$' "$W/tokens"; then fail "p11tool shows a member: $(cat "$W/tokens")"; fi

# The same group from trustlink.conf (vtl hagroup): setup with no -group writes a module whose
# bridge reads the members there, and HAOnly comes from the file.
rm -f "$MODULES"/trustlink-*.module
"$VTL" hagroup createGroup -label "$GROUP" -server "${ADDR[0]}" -partition "${PART[0]}" >/dev/null
"$VTL" hagroup addMember -group "$GROUP" -server "${ADDR[1]}" -partition "${PART[1]}" >/dev/null
"$VTL" hagroup haonly -enable >/dev/null
"$VTL" p11 setup -dir "$MODULES" > "$W/setup.out" 2>&1 || fail "setup from trustlink.conf: $(cat "$W/setup.out")"
chmod -R a+rX "$HOME"
grep -q "p11 habridge -group $GROUP\$" "$MODULES/trustlink-group-$GROUP.module" \
  || fail "group module from trustlink.conf: $(cat "$MODULES/trustlink-group-$GROUP.module")"
[[ "$(slot_labels | tr '\n' ' ')" == "$GROUP " ]] \
  || fail "from trustlink.conf with HAOnly: want exactly the group's slot: '$(slot_labels)' $(cat "$W/list.err")"
p11 --token-label "$GROUP" --login --pin "$USER_PIN" --generate-random 16 > "$W/rand" 2>&1 \
  || fail "a call through the group read from trustlink.conf: $(cat "$W/rand")"

# Refusals: exit code and a message saying what to do; the bridge never writes to stdout.
expect_vtl 2 "give -group LABEL" habridge
expect_vtl 2 "give SERVER/PARTITION" habridge -group x -member nopartition
expect_vtl 2 "-member needs -group" setup -dir "$MODULES" -member a/b
expect_vtl 4 "'nosuch' is not in trustlink.conf (groups there: $GROUP)" habridge -group nosuch
HOME="$W/empty" expect_vtl 4 "has no p11-kit module trustlink-${ADDR[0]}.module" habridge -group "$GROUP"
[[ ! -s "$W/vtl.out" ]] || fail "the bridge wrote to stdout: $(cat "$W/vtl.out")"
expect_vtl 1 "must be on different appliances" setup -dir "$W/other" -group two \
  -member "${ADDR[0]}/${PART[0]}" -member "${ADDR[0]}/x"
echo PASS
