#!/bin/bash
# storm_benchmark: the reconnect storm of issue 16 against a real ntlsd. It makes an
# appliance root with one registered client (links capped high, receive timeout 1 h),
# starts ntlsd (--daemon, 2 loops), and runs benchmarks/storm: N links up, then ntlsd
# restarted, then the time until all N are back and the resumed fraction. Each restart
# kind runs once: kill -9 and a new ntlsd on the same port, then ntlsh service restart ntls.
#
#   storm_benchmark.sh NTLSD NTLSH VTL STORM STORM_RESTART [--links N] [--sources K]
#                      [--deadline-s S] [--min-resumed PERCENT] [--max-back-ms MS]
#                      [--profile DIR]
#
# --profile DIR records where the storm's time goes (perf record into
# DIR/{storm,ntlsd}-KIND.data; perf report -i FILE) and prints the CPU time ntlsd and
# the storm driver spent from the restart until all links were back (STORM_PERF
# replaces the recorder, e.g. "perf record -q -F 499 --call-graph dwarf").
# --min-resumed and --max-back-ms make it a test: it fails when fewer links resumed, or
# when they took longer (from the restart's start) than that. Defaults: 500 links from
# one source address (a fleet behind one NAT address), no bounds.
# bazel run -c opt //benchmarks:storm_benchmark -- --links 5000 gives docs/benchmarks.md's
# figure. Loopback only; the storm driver holds one descriptor per link (ulimit -n must
# exceed N; ntlsd raises its own limit to the hard limit).
set -Eeuo pipefail
NTLSD="$(realpath "$1")"; NTLSH="$(realpath "$2")"; VTL="$(realpath "$3")"
STORM="$(realpath "$4")"; STORM_RESTART="$(realpath "$5")"; shift 5
LINKS=500; SOURCES=1; DEADLINE=60; MIN_RESUMED=""; MAX_BACK_MS=""; PROFILE=""
while (($#)); do
  case "$1" in
    --links) LINKS="$2" ;;
    --sources) SOURCES="$2" ;;
    --deadline-s) DEADLINE="$2" ;;
    --min-resumed) MIN_RESUMED="$2" ;;
    --max-back-ms) MAX_BACK_MS="$2" ;;
    --profile) PROFILE="$(mkdir -p "$2" && realpath "$2")" ;;
    *) echo "storm_benchmark: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
(( $(ulimit -n) > LINKS + 64 )) || ulimit -n $((LINKS + 256)) 2>/dev/null ||
  { echo "storm_benchmark: ulimit -n $(ulimit -n) is too low for $LINKS links; raise the hard limit" >&2; exit 2; }

# The status socket lives in the appliance root, and unix socket paths are short.
APP="$(mktemp -d /tmp/tl-storm.XXXXXX)"
W="${TEST_TMPDIR:-$APP}"
CLIENT="$W/storm-client"
LOG="$W/storm-ntlsd.log"
fail() {
  echo "FAIL: $*" >&2
  echo "--- ntlsd log (last 20 lines)" >&2; tail -20 "$LOG" >&2 2>/dev/null || true
  exit 1
}
trap 'fail "line $LINENO: \"$BASH_COMMAND\" exited $?"' ERR
cleanup() {
  local pid
  pid="$(cat "$APP/ntlsd.pid" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null
  rm -rf "$APP"
}
trap cleanup EXIT

"$NTLSH" --root "$APP" sysconf regenCert -name 127.0.0.1 >/dev/null
"$NTLSH" --root "$APP" partition create -partition par1 -label storm >/dev/null
"$NTLSH" --root "$APP" ntls limits set -maxlinksperclient $((LINKS * 2)) >/dev/null
"$NTLSH" --root "$APP" ntls timeout set -receive 3600000 >/dev/null
if (( SOURCES > 1 )); then "$NTLSH" --root "$APP" ntls ipcheck disable >/dev/null; fi
"$VTL" --root "$CLIENT" createCert -n 127.0.0.1 >/dev/null
"$NTLSH" --root "$APP" client register -client fleet -ip 127.0.0.1 \
  -certificate "$CLIENT/cert/client/127.0.0.1.pem" >/dev/null
"$NTLSH" --root "$APP" client assignPartition -client fleet -partition par1 >/dev/null

# The restarts need a fixed port, so it is picked here; another process can take it before
# ntlsd binds it (tests run in parallel), so a start refused for that picks again.
for attempt in 1 2 3 4 5; do
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  START_NTLSD=("$NTLSD" --root "$APP" --name 127.0.0.1 --listen "127.0.0.1:$PORT" --threads 2
    --daemon --pidfile "$APP/ntlsd.pid" --log "$LOG")
  if "${START_NTLSD[@]}" 2>"$W/start.err"; then break; fi
  grep -qi "already in use" "$W/start.err" "$LOG" 2>/dev/null && ((attempt < 5)) \
    || fail "ntlsd did not start: $(cat "$W/start.err")"
done
# kill -9, and a new ntlsd as soon as the old process has exited (storm_restart.sh says
# why that, not its pid vanishing); --daemon returns once it serves.
KILL_RESTART="$(printf '%q ' "$STORM_RESTART" "$APP/ntlsd.pid" "${START_NTLSD[@]}")"
SERVICE_RESTART="'$NTLSH' --root '$APP' service restart ntls >/dev/null"

# cpu_ms PID: the user and system CPU time the process has used, in ms.
cpu_ms() {
  local f
  read -ra f <"/proc/$1/stat" || { echo "0 0"; return; }
  # Fields 14 and 15 (utime, stime) in clock ticks, counted after the "(comm)" field.
  local tick; tick="$(getconf CLK_TCK)"
  echo "$(( f[13] * 1000 / tick )) $(( f[14] * 1000 / tick ))"
}

status=0
for kind in kill service; do
  cmd="$KILL_RESTART"; [[ $kind == service ]] && cmd="$SERVICE_RESTART"
  if [[ -n "$PROFILE" ]]; then
    # Both recorders attach once ntlsd serves again (attached before a service restart,
    # ntlsd's recorded nothing here): the storm's parent is the driver.
    rec="${STORM_PERF:-perf record -q -F 1999}"
    cmd+="; $rec -p \$(cat '$APP/ntlsd.pid') -o '$PROFILE/ntlsd-$kind.data' >'$PROFILE/ntlsd-$kind.log' 2>&1 & echo \$! >'$PROFILE/ntlsd.perf.pid'"
    cmd+="; $rec -p \$PPID -o '$PROFILE/storm-$kind.data' >'$PROFILE/storm-$kind.log' 2>&1 &"
  fi
  before=(0 0)
  [[ $kind == service ]] && read -ra before <<<"$(cpu_ms "$(cat "$APP/ntlsd.pid")")"
  echo "== $LINKS links from $SOURCES source address(es); restart: $kind"
  out="$("$STORM" --port "$PORT" --cert "$CLIENT/cert/client/127.0.0.1.pem" \
    --key "$CLIENT/cert/client/127.0.0.1Key.pem" --links "$LINKS" --sources "$SOURCES" \
    --deadline-s "$DEADLINE" --restart "$cmd")" || { echo "$out"; fail "storm ($kind) failed"; }
  echo "$out"
  read -ra after <<<"$(cpu_ms "$(cat "$APP/ntlsd.pid")")"
  echo "ntlsd: $(( after[0] - before[0] )) ms user, $(( after[1] - before[1] )) ms system CPU" \
    "$([[ $kind == kill ]] && echo "since it started" || echo "from the restart until all were back")"
  if [[ -n "$PROFILE" ]]; then
    kill -INT "$(cat "$PROFILE/ntlsd.perf.pid")" 2>/dev/null || true
    echo "profiles: perf report -i $PROFILE/ntlsd-$kind.data (and storm-$kind.data)"
  fi
  line="$(grep '^storm: .* links up in' <<<"$out")"
  back_ms="$(sed -n 's/.* links up in \([0-9]*\) ms.*/\1/p' <<<"$line")"
  pct="$(sed -n 's/.*(\([0-9.]*\)%).*/\1/p' <<<"$line")"
  if [[ -n "$MIN_RESUMED" ]] && ! awk -v p="$pct" -v m="$MIN_RESUMED" 'BEGIN { exit !(p >= m) }'; then
    echo "FAIL: after the $kind restart only $pct% of the links resumed (at least $MIN_RESUMED% expected)" >&2
    status=1
  fi
  if [[ -n "$MAX_BACK_MS" ]] && (( back_ms > MAX_BACK_MS )); then
    echo "FAIL: after the $kind restart the links took $back_ms ms to come back (at most $MAX_BACK_MS ms expected)" >&2
    status=1
  fi
  # The storm driver starts afresh for the next kind; its old links' tickets are gone
  # with it, and the ramp-up makes new ones.
done
exit $status
