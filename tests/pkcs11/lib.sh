# Shared set-up for the PKCS#11 end-to-end tests: an "appliance" (p11_local_appliance serving
# SoftHSM2 partitions over a unix socket, the stand-in for the link) and a "client" HOME
# whose p11-kit module configs point at the bridge.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/p11_client.sh"

runfile() {
  local p="${TEST_SRCDIR}/${TEST_WORKSPACE}/$1"
  [[ -x "$p" ]] || fail "missing $1"
  # p11-kit runs the bridge by absolute path.
  (cd "$(dirname "$p")" && echo "$(pwd -P)/$(basename "$p")")
}

APPLIANCE="$(runfile ntl/pkcs11/p11_local_appliance)"
BRIDGE="$(runfile ntl/pkcs11/p11_bridge_local)"
SETUP="$(runfile ntl/pkcs11/p11_setup_local)"

W="$(mktemp -d "${TEST_TMPDIR}/p11.XXXXXX")"
ROOT="$W/appliance"
export HOME="$W/home"
MODULES="$HOME/.config/pkcs11/modules"
SOCK="$W/ntl.sock"
mkdir -p "$MODULES"

only_our_modules "$MODULES"

SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

create_partition() {
  TL_SO_PIN="$SO_PIN" TL_USER_PIN="$USER_PIN" "$APPLIANCE" create -root "$ROOT" -partition "$1" \
    >/dev/null || fail "cannot create partition $1"
}

# wait_for_line FILE TEXT: wait (up to 20 s) until FILE has a line equal to TEXT.
wait_for_line() {
  local deadline=$((SECONDS + 20))
  until grep -qx -- "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "timed out waiting for '$2' in $1: $(cat "$1")"
    sleep 0.02
  done
}

# start_appliance PARTITION...: serve with these partitions assigned.
start_appliance() {
  printf '%s\n' "$@" > "$W/assignments"
  "$APPLIANCE" serve -root "$ROOT" -socket "$SOCK" -assignments "$W/assignments" \
    > "$W/appliance.out" 2> "$W/appliance.err" &
  SERVER_PID=$!
  wait_for_line "$W/appliance.out" ready
}

# assign PARTITION...: replace the assignment list, as `client assignPartition` /
# `client revokePartition` would, and wait until the appliance has applied it.
assign() {
  printf '%s\n' "$@" > "$W/assignments"
  local n=$#
  local count_before
  count_before=$(grep -c "^assignments" "$W/appliance.out")
  kill -HUP "$SERVER_PID"
  local deadline=$((SECONDS + 20))
  until (( $(grep -c "^assignments" "$W/appliance.out") > count_before )); do
    ((SECONDS < deadline)) || fail "appliance did not reload assignments: $(cat "$W/appliance.out" "$W/appliance.err"; kill -0 "$SERVER_PID" && echo alive)"
    sleep 0.02
  done
  tail -1 "$W/appliance.out" | grep -qx "assignments $n" || fail "appliance has wrong assignment count"
}

# setup PARTITION...: `vtl p11 setup` for server hsm1.
setup() {
  local IFS=,
  "$SETUP" -dir "$MODULES" -bridge "$BRIDGE" -socket "$SOCK" -server hsm1 -partitions "$*" \
    > "$W/setup.out" || fail "p11 setup failed"
}
