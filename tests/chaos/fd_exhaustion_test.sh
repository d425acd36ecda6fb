#!/bin/bash
# Descriptor exhaustion (issue 14): ntlsd under `ulimit -n 128` and 150 idle connections
# from 20 addresses. Before the fix it spun at 100 % of a core on failing accept4 calls and
# every new link failed. Now: its caps stay below the limit, its CPU over the idle flood
# stays under 10 % of one core, registered links succeed during the flood and after it.
# Also: with only the soft limit low, ntlsd raises it to the hard limit at start.
set -Eeuo pipefail
NTLSD="$1"; NTLSH="$2"; FLOOD="$3"
source "$(dirname "$0")/flood_lib.sh"  # the ERR trap, fail, W, SOCKDIR, ntlsd stopped at exit
make_appliance

# 1. The soft limit is raised to the hard one.
hard="$(ulimit -Hn)"
if [[ "$hard" != unlimited && "$hard" -gt 256 ]]; then
  start_ntlsd -S -n 256
  grep -q "descriptors=$hard " "$W/ntlsd.log" ||
    fail "ntlsd did not raise its soft limit 256 to the hard limit $hard: $(grep listening "$W/ntlsd.log")"
  echo "soft limit 256 raised to $hard"
  stop_ntlsd
fi

# 2. ulimit -n 128 (hard too) and an idle flood of 150 that does not reconnect.
start_ntlsd -n 128
grep listening "$W/ntlsd.log"
timeout 60 "$FLOOD" --port "$PORT" --idle 150 --sources 20 --no-reconnect --hold-ms 3000 \
  --pid "$NTLSD_PID" >"$W/idle.out" 2>&1 || fail "flood: $(cat "$W/idle.out")"
cat "$W/idle.out"
cpu="$(result cpu_percent "$W/idle.out")"; fds="$(result max_fds "$W/idle.out")"
echo "FIGURE fd-exhaustion: ulimit -n 128, 150 idle connections from 20 addresses:" \
  "ntlsd CPU ${cpu}% of one core over 3 s; descriptors at most $fds"
below "$cpu" 10 || fail "ntlsd used ${cpu}% of a core while idle-flooded"
below "$fds" 128 || fail "ntlsd reached its descriptor limit ($fds)"

# 3. Registered links while the flood holds (it evicts strangers), then after it.
timeout 60 "$FLOOD" --port "$PORT" --idle 150 --sources 20 --no-reconnect --links 50 \
  --cert "$W/client.pem" --key "$W/clientKey.pem" >"$W/during.out" 2>&1 ||
  fail "flood: $(cat "$W/during.out")"
cat "$W/during.out"
[[ "$(result failed "$W/during.out")" == 0 ]] || fail "links failed during the flood"
timeout 60 "$FLOOD" --port "$PORT" --links 50 --cert "$W/client.pem" \
  --key "$W/clientKey.pem" >"$W/after.out" 2>&1 || fail "flood: $(cat "$W/after.out")"
cat "$W/after.out"
[[ "$(result failed "$W/after.out")" == 0 ]] || fail "links failed after the flood"
echo "FIGURE fd-exhaustion: registered links during the flood $(result p99_ms "$W/during.out") ms p99," \
  "after it $(result p99_ms "$W/after.out") ms p99, none failed"
echo "PASS"
