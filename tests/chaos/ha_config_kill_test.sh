#!/bin/bash
# kill -9 during `vtl hagroup` writes (issue 17) leaves trustlink.conf as it was before the
# command or as the command makes it, never half-written and never invalid.
# 1. A sweep kills addMember, removeMember, createGroup and deleteGroup (of the last group,
#    and of the first, which renumbers the others) at each of their file-changing system
#    calls in turn (strace).
# 2. A loop kills addStandby/removeMember at random moments.
# After every kill: trustlink.conf is byte for byte the old or the new file, vtl reads it,
# and once vtl has opened the root no temp file is left.
# Usage: ha_config_kill_test.sh VTL   (CHAOS_KILLS=N sets the random kills; default 20)
set -Eeuo pipefail
source "$(dirname "$0")/chaos_lib.sh"  # the ERR trap, T, fail, abspath, tally
VTL="$(abspath "$1")"
KILLS="${CHAOS_KILLS:-20}"
R="$T/client"
CONF="$R/trustlink.conf"

for s in hsm1 hsm2; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$s" -keyout "$T/$s.key" -out "$T/$s.pem" 2>/dev/null
done
"$VTL" --root "$R" createCert -n web1 >/dev/null
"$VTL" --root "$R" addServer -n hsm1 -c "$T/hsm1.pem" >/dev/null
"$VTL" --root "$R" addServer -n hsm2 -c "$T/hsm2.pem" >/dev/null
"$VTL" --root "$R" hagroup createGroup -label keep -server hsm1 -partition p0 >/dev/null
"$VTL" --root "$R" hagroup createGroup -label g -server hsm1 -partition pA >/dev/null

# The two states each pair of commands moves between, recorded by running them unkilled.
STATES=()
record_states() {  # record_states: the file in the "absent" and "present" states
  to_state absent; STATES=("$(sha256sum <"$CONF")")
  to_state present; STATES+=("$(sha256sum <"$CONF")")
}
no_litter() {
  local left
  left=$(find "$R" -maxdepth 1 -name '*.tmp*' -o -maxdepth 1 -name '.trustlink.conf.*')
  [[ -z $left ]] || { echo "left behind: $left" >&2; return 1; }
}
check() {  # check WHAT: after a kill
  local ok=1 now
  now=$(sha256sum <"$CONF")
  [[ $now == "${STATES[0]}" || $now == "${STATES[1]}" ]] ||
    { ok=0; echo "trustlink.conf is neither the old nor the new file:" >&2; cat "$CONF" >&2; }
  "$VTL" --root "$R" hagroup listGroups >"$T/list" 2>&1 || { ok=0; cat "$T/list" >&2; }
  no_litter || ok=0
  tally "$ok" "inconsistent after $1"
}
need_strace

ADD=("$VTL" --root "$R" hagroup addMember -group g -server hsm2 -partition pA)
DEL=("$VTL" --root "$R" hagroup removeMember -group g -server hsm2 -partition pA)
record_states
sweep_add_remove check >"$T/kills"  # not $(...): check counts in this shell
member_kills=$(cat "$T/kills")

# createGroup appends a group and deleteGroup of the last one takes it away.
ADD=("$VTL" --root "$R" hagroup createGroup -label extra -server hsm2 -partition pB)
DEL=("$VTL" --root "$R" hagroup deleteGroup -group extra)
record_states
sweep_add_remove check >"$T/kills"
group_kills=$(cat "$T/kills")

# deleteGroup of the first group renumbers the others: every kill starts from the same file.
cp "$CONF" "$T/before.conf"
"$VTL" --root "$R" hagroup deleteGroup -group keep >/dev/null
STATES=("$(sha256sum <"$T/before.conf")" "$(sha256sum <"$CONF")")
sweep check "cp $T/before.conf $CONF" "$VTL" --root "$R" hagroup deleteGroup -group keep >"$T/kills"
renumber_kills=$(cat "$T/kills")
cp "$T/before.conf" "$CONF"

ADD=("$VTL" --root "$R" hagroup addStandby -group g -server hsm2 -partition pA)
DEL=("$VTL" --root "$R" hagroup removeMember -group g -server hsm2 -partition pA)
record_states
random_add_remove check "$KILLS"
landed=$LANDED

echo "vtl hagroup kill -9: tried $tried (sweep $member_kills member + $group_kills group +" \
  "$renumber_kills renumbering,"\
  "random $KILLS, of which $landed landed mid-run), survived $survived, lost $lost"
[[ $lost == 0 ]] || fail "$lost of $tried kills left trustlink.conf half-written or invalid"
[[ $member_kills -gt 0 && $group_kills -gt 0 && $renumber_kills -gt 0 ]] ||
  fail "a sweep killed nothing"
echo PASS
