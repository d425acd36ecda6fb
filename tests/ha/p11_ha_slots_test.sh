#!/bin/bash
# An HA group through p11-kit-proxy: with HAOnly, pkcs11-tool -L and p11tool --list-tokens
# show exactly one slot, the group's, and none of its members; without HAOnly the members
# show beside it. Then the group's slot works: login, key import on the members, sign.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/ha/ha_lib.sh"

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
echo PASS
