#!/bin/bash
# ntlsd kill -9 and restart with live library clients (issue 14): a real appliance root
# (one registered client, one partition) and a real client root (vtl createCert,
# addServer); CHAOS_PROBES reconnect_probe processes, each ONE tl_client from that root
# calling echo in a loop from CHAOS_THREADS threads, and never re-opened. ntlsd is killed with SIGKILL CHAOS_KILLS
# times at random moments and restarted on the same port each time. Checked after each
# restart: every client's calls resume by themselves within a deadline; at the end: no
# client crashed, every echo came back as sent, the registry still shows the client and
# its partition. Prints per client the longest pause from a kill to its next successful
# call, the calls that failed, and how many reconnects were resumed TLS sessions.
set -Eeuo pipefail  # -E: the ERR trap below also fires inside functions
NTLSD="$1"; NTLSH="$2"; VTL="$3"; PROBE="$4"
KILLS="${CHAOS_KILLS:-5}"; PROBES="${CHAOS_PROBES:-3}"
THREADS="${CHAOS_THREADS:-2}"  # calling threads per client: calls in flight together
# The bound on one pause: the library's reconnect backoff starts at 100 ms and doubles,
# so a restart that takes a second is followed by a link within a few seconds.
RESUME_DEADLINE_S=20
W="$(mktemp -d "$TEST_TMPDIR/ntlsd-kill.XXXXXX")"
SOCKDIR="$(mktemp -d /tmp/ntlsd-kill.XXXXXX)"  # unix socket paths are short
APP="$W/appliance"; CLIENT="$W/client"
NTLSD_PID=""; PROBE_PIDS=(); LOG=""; RUN=0

# fail: why, then the last lines of the current ntlsd log and of each probe.
fail() {
  echo "FAIL: $*" >&2
  if [[ -n "$LOG" && -f "$LOG" ]]; then
    echo "--- $LOG (last 30 lines)" >&2; tail -30 "$LOG" >&2
  fi
  local i
  for ((i = 0; i < PROBES; i++)); do
    [[ -f "$W/probe$i.out" ]] || continue
    echo "--- client $i (last 5 lines)" >&2
    tail -n 5 "$W/probe$i.out" >&2 || true
    [[ -s "$W/probe$i.err" ]] && tail -n 5 "$W/probe$i.err" >&2
  done
  exit 1
}
# A command that fails under set -e says which, instead of ending the test silently.
trap 'fail "line $LINENO: \"$BASH_COMMAND\" exited $?"' ERR
cleanup() {
  local p
  exec 2>/dev/null  # no "Killed" notices from bash for what a failed run leaves behind
  for p in "${PROBE_PIDS[@]}" $NTLSD_PID; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$SOCKDIR"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# free_port: a port nobody listens on now (bind port 0, read it, close it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_ntlsd: ntlsd on 127.0.0.1:$PORT with a fresh log ($LOG); sets NTLSD_PID once it
# logs that it is ready. A bind refused because the port is briefly busy (a port the
# kernel has handed to someone's connect) is retried on the same port until the deadline;
# returns 1 if the port stays busy, fails on any other exit.
start_ntlsd() {
  local deadline=$(( $(now_ms) + 10000 ))
  while :; do
    RUN=$((RUN + 1)); LOG="$W/ntlsd.$RUN.log"; : >"$LOG"
    # Its stderr goes to the same log (appended), so a start failure shows in one place.
    # shellcheck disable=SC2094
    "$NTLSD" --root "$APP" --name 127.0.0.1 --listen "127.0.0.1:$PORT" --threads 2 \
      --log "$LOG" --status-socket "$SOCKDIR/s" 2>>"$LOG" &
    NTLSD_PID=$!
    while kill -0 "$NTLSD_PID" 2>/dev/null && ! grep -q "ntlsd: ready" "$LOG"; do
      (( $(now_ms) < deadline )) || fail "ntlsd not ready within 10 s"
      sleep 0.02  # polling the log for readiness, bounded by the deadline
    done
    grep -q "ntlsd: ready" "$LOG" && return 0
    local rc=0; wait "$NTLSD_PID" || rc=$?; NTLSD_PID=""
    grep -qi "in use" "$LOG" || fail "ntlsd exited $rc at start"
    (( $(now_ms) < deadline )) || return 1
    sleep 0.1  # the port is busy: try the same port again, bounded by the deadline
  done
}

# last_ms PROBE: the time of the probe's latest successful call (0 if none yet).
# (printf %.0f, not print: awk prints a 13-digit number in exponent form, which bash cannot compare.)
last_ms() { awk '$1 == "UP" || $1 == "OK" { t = $2 } END { printf "%.0f\n", t }' "$W/probe$1.out"; }

# wait_all_since T: every probe has a successful call after time T (ms), within the deadline;
# checks on the way that every probe is still alive.
wait_all_since() {
  local since=$1 deadline=$(( $(now_ms) + RESUME_DEADLINE_S * 1000 )) i
  for ((i = 0; i < PROBES; i++)); do
    local last
    while last="$(last_ms "$i")"; [[ "$last" =~ ^[0-9]+$ ]] || fail "bad probe time '$last'"
      (( last <= since )); do
      kill -0 "${PROBE_PIDS[$i]}" 2>/dev/null || fail "client $i died (crashed?)"
      (( $(now_ms) < deadline )) ||
        fail "client $i made no successful call within ${RESUME_DEADLINE_S} s of ntlsd's restart"
      sleep 0.02  # polling the probe's output, bounded by the deadline
    done
  done
}

# --- The appliance: its certificate, one partition, one client registered and assigned.
"$NTLSH" --root "$APP" sysconf regenCert -name 127.0.0.1 >"$W/out" 2>&1 ||
  fail "sysconf regenCert: $(cat "$W/out")"
"$NTLSH" --root "$APP" partition create -partition par1 -label "chaos" >/dev/null
"$NTLSH" --root "$APP" sysconf exportCert -file "$W/server.pem" >/dev/null

# --- ntlsd on a port picked now and kept for every restart.
for _ in 1 2 3; do
  PORT="$(free_port)"
  start_ntlsd && break
done
[[ -n "$NTLSD_PID" ]] || fail "no free port could be bound after three tries"
first_run=$RUN  # the logs after this one are the restarted daemons'

# --- The client root, registered with the appliance.
"$VTL" --root "$CLIENT" createCert -n 127.0.0.1 >/dev/null
"$VTL" --root "$CLIENT" addServer -n 127.0.0.1 -c "$W/server.pem" -p "$PORT" >/dev/null
"$NTLSH" --root "$APP" client register -client web1 -ip 127.0.0.1 \
  -certificate "$CLIENT/cert/client/127.0.0.1.pem" >/dev/null
"$NTLSH" --root "$APP" client assignPartition -client web1 -partition par1 >/dev/null

# --- The live clients: each runs at most long enough for every kill to take its full
# deadline; they are stopped with SIGTERM once the kills are done.
probe_seconds=$(( 30 + KILLS * (RESUME_DEADLINE_S + 15) ))
for ((i = 0; i < PROBES; i++)); do
  # Made here: the background job's own redirection may come after the first read of it.
  : >"$W/probe$i.out"
  "$PROBE" "$CLIENT" "$probe_seconds" "$THREADS" >>"$W/probe$i.out" 2>"$W/probe$i.err" &
  PROBE_PIDS+=($!)
done
wait_all_since 0

# --- The kills. Most come at a random moment within 1 s of every client calling again; about
# one in three comes instead within 150 ms of the restart, mostly while the clients are
# still reconnecting (mid-handshake, or before their hello is answered).
KILL_TIMES=(); early=0; settled_kills=0; early_kills=0
for ((k = 1; k <= KILLS; k++)); do
  if (( early )); then
    early_kills=$((early_kills + 1))
    sleep "$(printf '0.%03d' $((RANDOM % 150)))"  # the attack's timing, not a synchronisation
  else
    settled_kills=$((settled_kills + 1))
    sleep "$(printf '0.%03d' $((RANDOM % 1000)))"  # the attack's timing, not a synchronisation
  fi
  KILL_TIMES+=("$(now_ms)")
  kill -9 "$NTLSD_PID"
  wait "$NTLSD_PID" 2>/dev/null || true
  NTLSD_PID=""
  start_ntlsd || fail "port $PORT stayed busy for 10 s after kill $k: ntlsd cannot listen again"
  ready=$(now_ms)
  early=0
  (( k < KILLS && RANDOM % 3 == 0 )) && early=1
  (( early )) || wait_all_since "$ready"
done

# --- Stop the clients; each must end by itself (no crash, no stuck call).
for ((i = 0; i < PROBES; i++)); do kill -TERM "${PROBE_PIDS[$i]}"; done
for ((i = 0; i < PROBES; i++)); do
  rc=0
  timeout 15 tail --pid="${PROBE_PIDS[$i]}" -f /dev/null || fail "client $i did not stop within 15 s of SIGTERM (stuck call?)"
  wait "${PROBE_PIDS[$i]}" || rc=$?
  [[ $rc == 0 ]] || fail "client $i exited $rc: $(cat "$W/probe$i.err")"
  grep -q '^SUMMARY ' "$W/probe$i.out" || fail "client $i printed no summary"
done
PROBE_PIDS=()

# --- The registry after the kills: the client, its partition.
"$NTLSH" --root "$APP" client list >"$W/out" 2>&1 || fail "client list: $(cat "$W/out")"
grep -q "registered client 1: web1" "$W/out" || fail "client list lost web1: $(cat "$W/out")"
"$NTLSH" --root "$APP" client show -client web1 >"$W/out" 2>&1 || fail "client show: $(cat "$W/out")"
grep -q "par1" "$W/out" || fail "web1 lost its partition: $(cat "$W/out")"

# --- The figures. A pause: from a kill to the client's first successful call after it.
kill_times="${KILL_TIMES[*]}"
total_failed=0; total_other=0; worst=0; report=""
# field NAME: the value of NAME=... on the probe's SUMMARY line ($summary).
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$summary"; }
for ((i = 0; i < PROBES; i++)); do
  summary="$(grep '^SUMMARY ' "$W/probe$i.out")"
  ok=$(field ok); failed=$(field failed); outages=$(field outages)
  gap=$(field longest_gap_ms); wrong=$(field wrong)
  lost=$(field lost); unavailable=$(field unavailable); other=$(field other)
  [[ -n "$ok" && -n "$other" ]] || fail "client $i: unreadable summary: $summary"
  [[ "$wrong" == 0 ]] || fail "client $i got $wrong echo answers that were not what it sent"
  pause="$(awk -v kills="$kill_times" '
    BEGIN { n = split(kills, k, " ") }
    $1 == "UP" || $1 == "OK" { for (j = 1; j <= n; j++) if (!(j in first) && $2 > k[j]) first[j] = $2 }
    END { for (j = 1; j <= n; j++) { p = first[j] - k[j]; if (p > m) m = p } printf "%.0f\n", m }' \
    "$W/probe$i.out")"
  # Every kill that found the client calling (all but the early ones) is an outage it saw.
  (( outages >= settled_kills )) || fail "client $i saw $outages outages for $settled_kills kills"
  (( pause > worst )) && worst=$pause
  total_failed=$((total_failed + failed)); total_other=$((total_other + other))
  report+="  client $i: $ok calls ok, $failed failed ($lost lost in flight, $unavailable"
  report+=" unavailable, $other other), $outages outages, longest pause after a kill ${pause} ms"
  report+=" (first failure to next success at most ${gap} ms)"$'\n'
done
# Reconnects: the authenticated links of the restarted daemons.
resumed_yes=0; resumed_no=0
for ((r = first_run + 1; r <= RUN; r++)); do
  f="$W/ntlsd.$r.log"
  resumed_yes=$((resumed_yes + $(grep -c "authenticated .*resumed=yes" "$f" || true)))
  resumed_no=$((resumed_no + $(grep -c "authenticated .*resumed=no" "$f" || true)))
done
echo "FIGURE ntlsd kill -9: $KILLS kills and restarts on port $PORT ($early_kills within 150 ms" \
  "of a restart), $PROBES library clients of $THREADS threads" \
  "never re-opened: all resumed; longest pause from a kill to a client's next call ${worst} ms;" \
  "$total_failed calls failed ($total_other neither lost in flight nor unavailable); reconnects $((resumed_yes + resumed_no))," \
  "$resumed_yes of them resumed TLS sessions"
printf '%s' "$report"
# The last daemon stops cleanly (under ASan, this is where it reports what it found).
kill -TERM "$NTLSD_PID"
rc=0; wait "$NTLSD_PID" || rc=$?; NTLSD_PID=""
[[ $rc == 0 ]] || fail "the last ntlsd exited $rc on SIGTERM"
echo "PASS"
