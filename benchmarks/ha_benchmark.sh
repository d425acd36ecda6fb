#!/bin/bash
# ha_benchmark: the HA group figures of docs/benchmarks.md ("HA groups"), with real
# programs: two ntlsd on loopback (127.0.0.1, 127.0.0.2), one client root with a group over
# par1 on each (tests/ha/ha_lib.sh), and benchmarks/ha_bench calling echo from THREADS
# threads through one tl_client.
# 1. The rate of pure calls on one member's own slot, then on the group's slot (two
#    members), in the same run: their ratio.
# 2. KILLS kill -9s, of ntlsd 1 and ntlsd 2 in turn, each restarted on its port and its
#    member back (the library's member-up event) before the next: per kill, the longest
#    pause a call in flight saw from the kill to its answer; median and max, against the
#    heartbeat timeout (ReceiveTimeout) plus one round trip.
#
#   ha_benchmark.sh NTLSD NTLSH VTL HA_BENCH STATUS_PY HA_LIB [--kills K] [--threads T]
#                   [--seconds S]
set -Eeuo pipefail
NTLSD="$(realpath "$1")"; NTLSH="$(realpath "$2")"; VTL="$(realpath "$3")"
BENCH="$(realpath "$4")"; STATUS_PY="$(realpath "$5")"; HA_LIB="$(realpath "$6")"; shift 6
KILLS=6; THREADS=4; SECS=5
while (($#)); do
  case "$1" in
    --kills) KILLS="$2" ;;
    --threads) THREADS="$2" ;;
    --seconds) SECS="$2" ;;
    *) echo "ha_benchmark: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
W="$(mktemp -d /tmp/tl-ha-bench.XXXXXX)"; SOCKDIR="$W"
declare -a PORT NTLSD_PID
BENCH_PID=""
LOGS="bench.out bench.err"
# shellcheck source=tests/ha/ha_lib.sh
source "$HA_LIB"
trap 'fail "line $LINENO: \"$BASH_COMMAND\" exited $?"' ERR
cleanup() {
  exec 2>/dev/null
  [[ -n "$BENCH_PID" ]] && kill -9 "$BENCH_PID" 2>/dev/null || true
  stop_all_ntlsd
  rm -rf "$W"
}
trap cleanup EXIT

ha_setup
# A lost member is probed after 1 s (the default is 60 s), so each kill finds both up.
"$VTL" --root "$CLIENT" hagroup recovery -interval 1 >/dev/null
MEMBER_SLOT="$(python3 -c '
import json, sys
slots = json.load(open(sys.argv[1]))["slots"]
print([s["slot"] for s in slots if s["server"] == "127.0.0.1" and s["partition"] == "par1"][0])' "$W/slots.json")"
HEARTBEAT_MS="$(sed -n 's/^ *ReceiveTimeout = \([0-9]*\);/\1/p' "$CLIENT/trustlink.conf")"
HEARTBEAT_MS="${HEARTBEAT_MS:-30000}"

# One round trip, unloaded: one member, one caller.
"$VTL" --root "$CLIENT" call -slot "$MEMBER_SLOT" -op echo -count 2000 >"$W/rtt" 2>&1 ||
  fail "rtt: $(cat "$W/rtt")"
RTT_US="$(sed -n 's/.*, \([0-9.]*\) us per round trip/\1/p' "$W/rtt")"

rate_of() { sed -n 's/^RATE .* rate=\([0-9]*\)$/\1/p' "$1"; }
# The machine is shared and noisy: the two rates alternate, three times each, and the
# medians are compared.
ONES=(); TWOS=()
for round in 1 2 3; do
  "$BENCH" "$CLIENT" "$MEMBER_SLOT" "$THREADS" "$SECS" >"$W/one.out" 2>&1 || fail "one member: $(cat "$W/one.out")"
  "$BENCH" "$CLIENT" "$GROUP_SLOT" "$THREADS" "$SECS" >"$W/two.out" 2>&1 || fail "two members: $(cat "$W/two.out")"
  ONES+=("$(rate_of "$W/one.out")"); TWOS+=("$(rate_of "$W/two.out")")
done
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
ONE="$(median3 "${ONES[@]}")"; TWO="$(median3 "${TWOS[@]}")"
echo "rates, one member: ${ONES[*]}; group of two: ${TWOS[*]}"

# The kills.
: >"$W/bench.out"
"$BENCH" "$CLIENT" "$GROUP_SLOT" "$THREADS" $((KILLS * 5 + 5)) >>"$W/bench.out" 2>"$W/bench.err" &
BENCH_PID=$!
deadline=$(( $(now_ms) + 10000 ))
until grep -q READY "$W/bench.out"; do
  (( $(now_ms) < deadline )) || fail "ha_bench not ready within 10 s"
  sleep 0.02  # polling its output, bounded by the deadline
done
for ((k = 0; k < KILLS; k++)); do
  n=$(( 1 + k % 2 ))
  ups=$(grep -c "EVENT member-up server=$((n - 1))" "$W/bench.out" || true)
  sleep "$(printf '0.%03d' $((500 + RANDOM % 500)))"  # calls flow on both: the kill's timing
  kill -USR1 "$BENCH_PID"
  kill_ntlsd "$n"
  start_ntlsd "$n"
  deadline=$(( $(now_ms) + 20000 ))
  until (( $(grep -c "EVENT member-up server=$((n - 1))" "$W/bench.out" || true) > ups )); do
    (( $(now_ms) < deadline )) || fail "member $n not back within 20 s of its restart"
    sleep 0.02  # polling the member-up event, bounded by the deadline
  done
done
rc=0; wait "$BENCH_PID" || rc=$?; BENCH_PID=""
[[ $rc == 0 ]] || fail "ha_bench exited $rc (failed calls?): $(grep RATE "$W/bench.out")"
python3 - "$W/bench.out" "$ONE" "$TWO" "$HEARTBEAT_MS" "$RTT_US" "$THREADS" <<'PY'
import re, statistics, sys
out, one, two, hb_ms, rtt_us, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
text = open(out).read()
rate = re.search(r"^RATE calls=(\d+) failed=(\d+)", text, re.M)
kills = [(int(p), int(c)) for p, c in re.findall(r"^KILL \d+ pause_us=(\d+) caught=(\d+)", text, re.M)]
# A kill that found no call of the killed member in flight (all of them answered within
# ha_bench's 0.3 ms) shows no pause: it is counted, not averaged in.
pauses = [p / 1000 for p, c in kills if c > 0] or [0.0]
bound = hb_ms + rtt_us / 1000
print(f"FIGURE rate of echo, {threads} threads, one tl_client, medians of 3 alternating runs: one member {one}/s, group of two {two}/s, ratio {two / one:.2f}")
print(f"FIGURE round trip (one member, one caller): {rtt_us} us; heartbeat timeout {hb_ms} ms")
print(f"FIGURE {len(kills)} kills: calls held up by each kill {[c for _, c in kills]}; "
      f"pause from kill to answer: median {statistics.median(pauses):.2f} ms, max {max(pauses):.2f} ms "
      f"(bound: heartbeat timeout + one round trip = {bound:.1f} ms); "
      f"{rate.group(1)} calls, {rate.group(2)} failed")
if max(pauses) > bound:
    sys.exit("FAIL: a failover pause exceeded the heartbeat timeout plus one round trip")
PY
