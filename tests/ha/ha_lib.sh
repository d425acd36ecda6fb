# Two appliances and one client root with an HA group over a partition on each
# (docs/ha.md), for tests/ha and benchmarks/ha: ntlsd on 127.0.0.1 and on
# 127.0.0.2, each on a port the kernel picks at its first start and keeps for
# its restarts. Set NTLSD, NTLSH, VTL, STATUS_PY, W (a work directory under
# $TEST_TMPDIR or a temp dir), SOCKDIR (short, for unix sockets) and LOGS (the
# names under $W that fail shows besides the daemons' logs) before calling its
# functions. ha_setup sets CLIENT (the client root), PORT[1], PORT[2],
# NTLSD_PID[1], NTLSD_PID[2] and GROUP_SLOT.

# fail: why, then the last lines of both daemons' logs and of $LOGS.
fail() {
  local pattern f
  echo "FAIL: $*" >&2
  for pattern in ntlsd1.log ntlsd2.log ${LOGS:-}; do
    for f in "$W"/$pattern; do  # unquoted: LOGS may hold globs (call*.out)
      [[ -s "$f" ]] && { echo "--- $f (last 10 lines)" >&2; tail -10 "$f" >&2; }
    done
  done
  exit 1
}

now_ms() { date +%s%3N; }

# wait_log N TEXT: ntlsd N's log says TEXT within 10 s.
wait_log() {
  local deadline=$(( $(now_ms) + 10000 ))
  until grep -q "$2" "$W/ntlsd$1.log" 2>/dev/null; do
    kill -0 "${NTLSD_PID[$1]}" 2>/dev/null || fail "ntlsd $1 exited: $(tail -5 "$W/ntlsd$1.log")"
    (( $(now_ms) < deadline )) || fail "ntlsd $1 did not log '$2' within 10 s"
    sleep 0.02  # polling the log, bounded by the deadline
  done
}

# start_ntlsd N: appliance N on 127.0.0.N, on PORT[N] (0 the first time: the
# kernel picks, read back from the status socket). A restart's bind refused
# because the port is briefly busy is retried until a deadline.
start_ntlsd() {
  local n=$1 deadline=$(( $(now_ms) + 10000 ))
  while :; do
    : >"$W/ntlsd$n.log"
    # shellcheck disable=SC2094
    "$NTLSD" --root "$W/app$n" --name "127.0.0.$n" --listen "127.0.0.$n:${PORT[$n]:-0}" \
      --threads 1 --log "$W/ntlsd$n.log" --status-socket "$SOCKDIR/s$n" 2>>"$W/ntlsd$n.log" &
    NTLSD_PID[$n]=$!
    while kill -0 "${NTLSD_PID[$n]}" 2>/dev/null && ! grep -q "ntlsd: ready" "$W/ntlsd$n.log"; do
      (( $(now_ms) < deadline )) || fail "ntlsd $n not ready within 10 s"
      sleep 0.02  # polling the log for readiness, bounded by the deadline
    done
    if grep -q "ntlsd: ready" "$W/ntlsd$n.log"; then break; fi
    wait "${NTLSD_PID[$n]}" 2>/dev/null || true
    grep -qi "in use" "$W/ntlsd$n.log" || fail "ntlsd $n exited at start: $(tail -5 "$W/ntlsd$n.log")"
    (( $(now_ms) < deadline )) || fail "port ${PORT[$n]} stayed busy for 10 s"
    sleep 0.1  # the port is busy: try the same one again, bounded by the deadline
  done
  if [[ -z "${PORT[$n]:-}" ]]; then
    PORT[$n]="$(python3 "$STATUS_PY" "$SOCKDIR/s$n" --port)"
    [[ -n "${PORT[$n]}" ]] || fail "no listen port from ntlsd $n's status socket"
  fi
}

# kill_ntlsd N: SIGKILL, and reap it.
kill_ntlsd() {
  kill -9 "${NTLSD_PID[$1]}"
  wait "${NTLSD_PID[$1]}" 2>/dev/null || true
  NTLSD_PID[$1]=""
}

stop_all_ntlsd() {
  local n
  for n in 1 2; do
    [[ -n "${NTLSD_PID[$n]:-}" ]] && kill -9 "${NTLSD_PID[$n]}" 2>/dev/null || true
  done
}

# ha_setup: both appliances, the client enrolled with each, and the group "grp"
# over par1 on each (vtl hagroup createGroup / addMember).
ha_setup() {
  local n
  CLIENT="$W/client"
  "$VTL" --root "$CLIENT" createCert -n 127.0.0.1 >/dev/null
  for n in 1 2; do
    start_ntlsd "$n"
    "$NTLSH" --root "$W/app$n" sysconf exportCert -file "$W/server$n.pem" >/dev/null
    "$NTLSH" --root "$W/app$n" partition create -partition par1 -label "ha par $n" >/dev/null
    # Loopback connections to 127.0.0.2 come from 127.0.0.1.
    "$NTLSH" --root "$W/app$n" client register -client web1 -ip 127.0.0.1 \
      -certificate "$CLIENT/cert/client/127.0.0.1.pem" >/dev/null
    "$NTLSH" --root "$W/app$n" client assignPartition -client web1 -partition par1 >/dev/null
    "$VTL" --root "$CLIENT" addServer -n "127.0.0.$n" -c "$W/server$n.pem" -p "${PORT[$n]}" >/dev/null
  done
  "$VTL" --root "$CLIENT" hagroup createGroup -label grp -server 127.0.0.1 -partition par1 >/dev/null
  "$VTL" --root "$CLIENT" hagroup addMember -group grp -server 127.0.0.2 -partition par1 >/dev/null
  "$VTL" --root "$CLIENT" listSlots --json >"$W/slots.json" 2>"$W/slots.err" ||
    fail "listSlots: $(cat "$W/slots.err")"
  GROUP_SLOT="$(python3 -c '
import json, sys
slots = json.load(open(sys.argv[1]))["slots"]
print([s["slot"] for s in slots if s["ha_group"] == "grp"][0])' "$W/slots.json")" ||
    fail "no slot for group grp in: $(cat "$W/slots.json")"
}
