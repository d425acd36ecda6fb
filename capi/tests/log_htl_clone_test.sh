#!/bin/bash
# A clone alert through tl_set_log_callback, with real htlclient processes: log_probe (an
# appliance server whose log goes through the C callback) + ntlsh + vtl + two htlclient
# agents, the second started from a copy of the first one's secrets (the clone scenario of
# tools/main_job). The callback must see an event of level TL_LOG_ALERT (4), kind
# htl-alert, client web1, naming both agents' source addresses.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
PROBE="$1"; NTLSH="$2"; VTL="$3"; HTLCLIENT="$4"
W="$(mktemp -d "$TEST_TMPDIR/log-clone.XXXXXX")"
APP="$W/appliance"
CLIENT="$W/client"
export TRUSTLINK_CLIENT_ROOT="$CLIENT"
export XDG_RUNTIME_DIR="$(mktemp -d /dev/shm/log-clone.XXXXXX)"
CLONE_RUNTIME="$(mktemp -d /dev/shm/log-clone-copy.XXXXXX)"
# Unix socket names are short: the clone's proof socket cannot live under TEST_TMPDIR.
SOCKDIR="$(mktemp -d /tmp/log-clone.XXXXXX)"
POLL_MS=1000
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$XDG_RUNTIME_DIR" "$CLONE_RUNTIME" "$SOCKDIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in probe.out probe.err agent.log clone.log; do
    [[ -f "$W/$f" ]] && { echo "--- $f" >&2; tail -40 "$W/$f" >&2; }
  done
  exit 1
}
# wait_for SECONDS TEXT CMD...: run CMD every 0.1 s until its output has TEXT, or fail.
wait_for() {
  local limit="$1" text="$2"; shift 2
  local end=$((SECONDS + limit))
  while ((SECONDS < end)); do
    "$@" 2>&1 | grep -q -- "$text" && return 0
    sleep 0.1  # polling under a deadline
  done
  fail "no '$text' from '$*' within $limit s"
}
ntlsh() { "$NTLSH" --root "$APP" "$@"; }

mkdir -p "$APP"
"$PROBE" "$APP" >"$W/probe.out" 2>"$W/probe.err" &
PIDS+=("$!")
wait_for 10 "^port " cat "$W/probe.out"
PORT="$(sed -n 's/^port \([0-9]*\)$/\1/p' "$W/probe.out")"
grep -q "^event level=1 kind=listening" "$W/probe.out" || fail "no listening event"

ntlsh sysconf exportCert -file "$W/server.pem" >/dev/null
"$VTL" createCert -n 127.0.0.1 >/dev/null
"$VTL" addServer -n 127.0.0.1 -c "$W/server.pem" -p "$PORT" -htl >/dev/null
ntlsh partition create -partition par1 >/dev/null
ntlsh client register -client web1 -ip 127.0.0.1 \
  -certificate "$CLIENT/cert/client/127.0.0.1.pem" -requirehtl -generateott >/dev/null
mkdir -p -m 700 "$CLIENT/htl"
"$HTLCLIENT" -root "$CLIENT" -interval "$POLL_MS" >"$W/agent.log" 2>&1 &
PIDS+=("$!")
wait_for 10 watching cat "$W/agent.log"
cp "$APP/outgoing/127.0.0.1.ott" "$CLIENT/htl/127.0.0.1.ott"
wait_for $((POLL_MS / 1000 + 15)) "web1 *Up" ntlsh htl show -client web1
# The appliance says Up once it saved the grant, before the agent kept its secret: the
# agent's own "HTL up" comes after, and only then is there a secret to clone.
wait_for 15 "HTL up" cat "$W/agent.log"

# The clone: a second agent from a copy of the first one's secrets.
cp -a "$XDG_RUNTIME_DIR/trustlink/." "$CLONE_RUNTIME/"
rm -f "$CLONE_RUNTIME"/*.sock
"$HTLCLIENT" -root "$CLIENT" -interval "$POLL_MS" -runtime "$CLONE_RUNTIME" \
  -socket "$SOCKDIR/clone.sock" >"$W/clone.log" 2>&1 &
PIDS+=("$!")
wait_for $((2 * POLL_MS / 1000 + 15)) "^event level=4 kind=htl-alert client=web1 " cat "$W/probe.out"
alert="$(grep -m1 "^event level=4 kind=htl-alert" "$W/probe.out")"
echo "callback saw: $alert"
addresses="${alert##*addresses=}"
[[ "$addresses" =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]] ||
  fail "the alert does not name both agents' addresses: $alert"
[[ "${addresses%%,*}" != "${addresses##*,}" ]] || fail "both addresses are the same: $alert"
# The appliance queues the alert, then the down event: the callback sees them one by one.
wait_for 5 "^event level=2 kind=htl-down client=web1" cat "$W/probe.out"
# Nothing of the server went to stderr: the callback took every line.
if grep -q "ntls:" "$W/probe.err"; then fail "log lines reached stderr: $(cat "$W/probe.err")"; fi
echo "PASS"
