# Shared set-up for the PKCS#11 end-to-end tests over the real link: an appliance (ntlsd on
# a loopback port the kernel picks, its registry and tokens made with ntlsh), an enrolled
# client (vtl) whose p11-kit module configs (vtl p11 setup) run `vtl p11 bridge`, and the
# client tools (pkcs11-tool, p11tool) through p11-kit-proxy.so.
# Arguments: ntlsd ntlsh vtl (their runfile paths).
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/p11_client.sh"

NTLSD="$(abspath "$1")"; NTLSH="$(abspath "$2")"; VTL="$(abspath "$3")"
for b in "$NTLSD" "$NTLSH" "$VTL"; do [[ -x "$b" ]] || fail "missing binary $b"; done
SERVER=127.0.0.1

# A fresh folder per run: Bazel reuses TEST_TMPDIR across runs.
W="$(mktemp -d "${TEST_TMPDIR}/p11link.XXXXXX")"
APP="$W/appliance"
export TRUSTLINK_CLIENT_ROOT="$W/client"
export HOME="$W/home"
MODULES="$HOME/.config/pkcs11/modules"
SOCKDIR="$(mktemp -d /tmp/p11link.XXXXXX)"  # unix socket paths are short
mkdir -p "$MODULES"
umask 077
printf '%s\n' "$SO_PIN" > "$W/so.pin"
printf '%s\n' "$USER_PIN" > "$W/user.pin"

only_our_modules "$MODULES"

ntlsh() { "$NTLSH" --root "$APP" "$@"; }

NTLSD_PID=""
cleanup() {
  if [[ -n "$NTLSD_PID" ]]; then
    kill -TERM "$NTLSD_PID" 2>/dev/null || true
    wait "$NTLSD_PID" 2>/dev/null || true
  fi
  rm -rf "$SOCKDIR"
}
trap cleanup EXIT

# start_appliance: ntlsd on 127.0.0.1:<kernel's choice>; enrol client web1 for it.
start_appliance() {
  "$NTLSD" --root "$APP" --name "$SERVER" --listen "$SERVER:0" --threads 2 \
    --log "$W/ntlsd.log" --status-socket "$SOCKDIR/s" &
  NTLSD_PID=$!
  local deadline=$((SECONDS + 20))
  until grep -q ready "$W/ntlsd.log" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "ntlsd not ready: $(cat "$W/ntlsd.log")"
    kill -0 "$NTLSD_PID" 2>/dev/null || fail "ntlsd exited: $(cat "$W/ntlsd.log")"
    sleep 0.05
  done
  PORT="$(python3 tests/lib/ntlsd_status.py "$SOCKDIR/s" --port)"
  [[ -n "$PORT" ]] || fail "no port from ntlsd's status socket"
  ntlsh sysconf exportCert -file "$W/server.pem" >/dev/null
  "$VTL" createCert -n "$SERVER" >/dev/null
  "$VTL" addServer -n "$SERVER" -c "$W/server.pem" -p "$PORT" >/dev/null
  ntlsh client register -client web1 -ip 127.0.0.1 \
    -certificate "$TRUSTLINK_CLIENT_ROOT/cert/client/$SERVER.pem" >/dev/null
}

# create_partition NAME: a registry partition with its SoftHSM2 token (PINs from files).
create_partition() {
  ntlsh partition create -partition "$1" -sopinfile "$W/so.pin" -userpinfile "$W/user.pin" \
    > "$W/create.out" 2>&1 || fail "partition create $1: $(cat "$W/create.out")"
}

# slots_are P...: wait (20 s) until vtl listSlots shows exactly these partitions; ntlsd
# applies registry changes asynchronously.
slots_are() {
  local want="$*" got="" deadline=$((SECONDS + 20))
  while :; do
    got="$({ "$VTL" listSlots 2>/dev/null || true; } | awk 'NR > 1 && $NF == "ready" {print $3}' | tr '\n' ' ')"
    [[ "${got% }" == "$want" ]] && return 0
    ((SECONDS < deadline)) || fail "slots: want '$want', got '${got% }'"
    sleep 0.05
  done
}
assign() { ntlsh client assignPartition -client web1 -partition "$1" >/dev/null; }
revoke() { ntlsh client revokePartition -client web1 -partition "$1" >/dev/null; }

# setup: vtl p11 setup into this HOME's module directory.
setup() {
  "$VTL" p11 setup -dir "$MODULES" > "$W/setup.out" 2>&1 || fail "vtl p11 setup: $(cat "$W/setup.out")"
}

# start_inflight PARTITION: pkcs11-tool logs in to PARTITION, opens its session and then
# blocks reading the data to sign (key id 02, RSA) from a fifo; returns once it is blocked
# there, with its session open through the link.
start_inflight() {
  INFLIGHT_PART="$1"
  rm -f "$W/in.fifo" "$W/inflight.sig"
  mkfifo "$W/in.fifo"
  exec 7<>"$W/in.fifo"   # read-write: never blocks, and keeps a writer until closed
  as_user timeout 60 pkcs11-tool --module "$PROXY" --token-label "$1" --login --pin "$USER_PIN" \
    --sign --mechanism SHA256-RSA-PKCS --id 02 -i "$W/in.fifo" -o "$W/inflight.sig" \
    > "$W/inflight.out" 2>&1 &
  INFLIGHT_PID=$!
  # pkcs11-tool reads its input last. /proc/PID/syscall shows "0 <fd in hex> ..." while it
  # sits in read(2) on the fifo.
  local deadline=$((SECONDS + 30))
  until waiting_on_fifo; do
    ((SECONDS < deadline)) || fail "pkcs11-tool never waited on its input: $(cat "$W/inflight.out")"
    kill -0 "$INFLIGHT_PID" 2>/dev/null || fail "pkcs11-tool ended early: $(cat "$W/inflight.out")"
    sleep 0.02
  done
  pgrep -P "$NTLSD_PID" -f "token=$1" >/dev/null || fail "no p11-kit serving $1 on ntlsd while in flight"
}
waiting_on_fifo() { pkcs11_tool_reading "$W/in.fifo"; }

# finish_inflight REASON: once the bridge has said REASON (its stream ended), feed the waiting
# pkcs11-tool its data; its next call must fail with a PKCS#11 error, not hang or succeed.
finish_inflight() {
  # Each of ntlsd's loops applies a registry change on its own: the stream is closed when the
  # bridge says so, which may be after another connection (vtl listSlots) saw the change.
  local deadline=$((SECONDS + 20))
  until grep -q -- "$1" "$W/inflight.out"; do
    ((SECONDS < deadline)) || fail "the bridge never reported '$1': $(cat "$W/inflight.out")"
    sleep 0.02
  done
  echo data >&7
  exec 7>&-
  local rc=0
  wait "$INFLIGHT_PID" || rc=$?
  ((rc != 0 && rc != 124)) || fail "in-flight call on $INFLIGHT_PART: want a clean failure, rc=$rc: $(cat "$W/inflight.out")"
  grep -q "CKR_" "$W/inflight.out" || fail "in-flight failure not a PKCS#11 error (rc=$rc): $(cat "$W/inflight.out")"
  grep -q -- "$1" "$W/inflight.out" || fail "no '$1' from the bridge: $(cat "$W/inflight.out")"
  [[ ! -s "$W/inflight.sig" ]] || fail "a signature was made on $INFLIGHT_PART after it went away"
  cp "$W/inflight.out" "$W/inflight-$INFLIGHT_PART.out"
}
