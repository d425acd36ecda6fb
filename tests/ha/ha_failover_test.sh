#!/bin/bash
# HA groups with real programs (docs/ha.md): two ntlsd on loopback (127.0.0.1
# and 127.0.0.2), one client root with both servers and a group over par1 on
# each. Checks:
# 1. vtl listSlots shows the group's virtual slot with its label; vtl hagroup
#    show shows both members up.
# 2. A `vtl call -count N` run of echo (pure) on the group's slot while ntlsd 1
#    is killed with SIGKILL and restarted ends with 0 failed calls (the counts
#    are printed).
# 3. With ntlsd 1 down, vtl hagroup show reports its member down and why, and
#    calls still work.
# 4. HAOnly: listSlots shows exactly the group's slot; a member's slot is
#    refused with the reason.
set -Eeuo pipefail
NTLSD="$1"; NTLSH="$2"; VTL="$3"; STATUS_PY="$4"
W="$(mktemp -d "$TEST_TMPDIR/ha.XXXXXX")"
SOCKDIR="$(mktemp -d /tmp/ha-test.XXXXXX)"
declare -a PORT NTLSD_PID
VTL_PIDS=()

LOGS="call*.out call*.err"
# shellcheck source=tests/ha/ha_lib.sh
source "$(dirname "$0")/ha_lib.sh"
trap 'fail "line $LINENO: \"$BASH_COMMAND\" exited $?"' ERR
cleanup() {
  exec 2>/dev/null
  local p
  for p in "${VTL_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  stop_all_ntlsd
  rm -rf "$SOCKDIR"
}
trap cleanup EXIT

ha_setup

# --- 1. The virtual slot and the members.
"$VTL" --root "$CLIENT" listSlots >"$W/out" 2>&1 || fail "listSlots: $(cat "$W/out")"
grep -Eq "^$GROUP_SLOT +\(HA group\) +- +grp " "$W/out" || fail "no group line in: $(cat "$W/out")"
"$VTL" --root "$CLIENT" hagroup show -group grp >"$W/out" 2>&1 || fail "hagroup show: $(cat "$W/out")"
grep -q "HA group grp: slot $GROUP_SLOT, up, 2 members" "$W/out" || fail "hagroup show: $(cat "$W/out")"
[[ $(grep -Ec "127\.0\.0\.[12] +par1 +active +up" "$W/out") == 2 ]] ||
  fail "both members should be up: $(cat "$W/out")"

# --- 2. Pure calls across a kill -9 and restart, from RUNS vtl processes at once, so
# that calls are in flight on the killed member when it dies. The count is sized from
# a short measured run so that the kill lands inside the long runs (bounded to
# 5,000..30,000 calls each). A stall in a short warm-up makes the rate look low: 1,000
# calls, and a floor that alone keeps each run going for seconds in the plain build.
RUNS=3
"$VTL" --root "$CLIENT" call -slot "$GROUP_SLOT" -op echo -data ha -count 1000 >"$W/out" 2>&1 ||
  fail "warm-up calls: $(cat "$W/out")"
rate="$(sed -n 's/.* \([0-9]*\) calls\/s.*/\1/p' "$W/out")"
[[ "$rate" =~ ^[0-9]+$ ]] || fail "no rate in: $(cat "$W/out")"
count=$(( rate * 4 )); (( count < 5000 )) && count=5000; (( count > 30000 )) && count=30000
before2=$(grep -c "admitted" "$W/ntlsd2.log" || true)
VTL_PIDS=()
for ((r = 0; r < RUNS; r++)); do
  "$VTL" --root "$CLIENT" call -slot "$GROUP_SLOT" -op echo -data "ha$r" -count "$count" \
    >"$W/call$r.out" 2>"$W/call$r.err" &
  VTL_PIDS+=($!)
done
# The runs have begun once ntlsd 2 has admitted each of them.
deadline=$(( $(now_ms) + 10000 ))
until (( $(grep -c "admitted" "$W/ntlsd2.log" || true) >= before2 + RUNS )); do
  (( $(now_ms) < deadline )) || fail "the vtl runs were not admitted within 10 s"
  sleep 0.02  # polling the log, bounded by the deadline
done
sleep 0.5  # let calls flow on both members before the kill: the attack's timing
for pid in "${VTL_PIDS[@]}"; do
  kill -0 "$pid" 2>/dev/null || fail "a run of $count calls ended before the kill; it proves nothing"
done
kill_ntlsd 1
killed_at=$(now_ms)
start_ntlsd 1
restarted_at=$(now_ms)
echo "ntlsd 1 killed at +0 ms, listening again at +$((restarted_at - killed_at)) ms"
bad=0
for ((r = 0; r < RUNS; r++)); do
  rc=0
  timeout 120 tail --pid="${VTL_PIDS[$r]}" -f /dev/null || fail "vtl run $r did not finish within 120 s"
  wait "${VTL_PIDS[$r]}" || rc=$?
  counts="$(grep -E "^$count calls: " "$W/call$r.out" || true)"
  echo "run $r, calls across the kill: ${counts:-no counts} (exit $rc)"
  [[ "$counts" == "$count calls: $count ok, 0 failed" && $rc == 0 ]] || bad=$((bad + 1))
done
VTL_PIDS=()
(( bad == 0 )) || fail "$bad of $RUNS runs had failed calls: $(cat "$W"/call*.err)"

# --- 3. A member down, seen by show; calls go to the other.
kill_ntlsd 1
"$VTL" --root "$CLIENT" hagroup show >"$W/out" 2>&1 || fail "hagroup show with one member down: $(cat "$W/out")"
echo "vtl hagroup show with ntlsd 1 down:"; cat "$W/out"
grep -Eq "127\.0\.0\.1 +par1 +active +down" "$W/out" || fail "member 1 should be down: $(cat "$W/out")"
grep -Eq "127\.0\.0\.2 +par1 +active +up" "$W/out" || fail "member 2 should be up: $(cat "$W/out")"
grep -Eqi "refused|not connected|connect" "$W/out" || fail "no reason for member 1: $(cat "$W/out")"
"$VTL" --root "$CLIENT" call -slot "$GROUP_SLOT" -op sha256 -data abc >"$W/out" 2>&1 ||
  fail "a call with one member down: $(cat "$W/out")"
grep -q "^ba7816bf" "$W/out" || fail "sha256 answer: $(cat "$W/out")"
start_ntlsd 1

# --- 4. HAOnly: only the virtual slot, member slots refused.
"$VTL" --root "$CLIENT" hagroup haonly -enable >/dev/null
"$VTL" --root "$CLIENT" listSlots --json >"$W/slots.json" 2>&1 || fail "listSlots: $(cat "$W/slots.json")"
python3 - "$W/slots.json" "$GROUP_SLOT" <<'PY' || fail "HAOnly slot list: $(cat "$W/slots.json")"
import json, sys
slots = json.load(open(sys.argv[1]))["slots"]
assert len(slots) == 1 and slots[0]["ha_group"] == "grp" and slots[0]["slot"] == int(sys.argv[2]), slots
PY
member_slot=$(( GROUP_SLOT == 0 ? 1 : 0 ))
rc=0; "$VTL" --root "$CLIENT" call -slot "$member_slot" -op echo >"$W/out" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "a member slot was callable under HAOnly: $(cat "$W/out")"
grep -q "HAOnly is on" "$W/out" || fail "no HAOnly reason: $(cat "$W/out")"
echo "PASS"
