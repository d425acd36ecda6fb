# Shared set-up for the HA group PKCS#11 tests: two appliances (ntlsd on 127.0.0.1 and
# 127.0.0.2, ports the kernel picks), a partition with a SoftHSM2 token on each, one client
# (vtl) enrolled with both, and `vtl p11 setup` writing the per-server modules and the
# group's. HOME is under TEST_TMPDIR, so p11-kit reads only this test's module configs.
# Arguments: ntlsd ntlsh vtl (their runfile paths).
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/p11_client.sh"  # p11, slot_labels, as_user
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/ntlsd_start.sh"  # start_ntlsd_at

NTLSD="$(abspath "$1")"; NTLSH="$(abspath "$2")"; VTL="$(abspath "$3")"
for b in "$NTLSD" "$NTLSH" "$VTL"; do [[ -x "$b" ]] || fail "missing binary $b"; done
ADDR=(127.0.0.1 127.0.0.2)
PART=(haA haB)
GROUP=grp

W="$(mktemp -d "${TEST_TMPDIR}/ha.XXXXXX")"
export TRUSTLINK_CLIENT_ROOT="$W/client"
export HOME="$W/home"
MODULES="$HOME/.config/pkcs11/modules"
SOCKDIR="$(mktemp -d /tmp/ha.XXXXXX)"
mkdir -p "$MODULES"
umask 077
printf '%s\n' "$SO_PIN" > "$W/so.pin"
printf '%s\n' "$USER_PIN" > "$W/user.pin"
only_our_modules "$MODULES" p11-kit-trust
chmod 755 "$W" "$HOME" 2>/dev/null || true

PID=("" "")
PORT=("" "")
cleanup() {
  for i in 0 1; do
    if [[ -n "${PID[$i]}" ]]; then
      kill -TERM "${PID[$i]}" 2>/dev/null || true
      wait "${PID[$i]}" 2>/dev/null || true
    fi
  done
  rm -rf "$SOCKDIR"
}
trap cleanup EXIT

# start_ntlsd I [PORT]: appliance I (0 or 1) on ADDR[I], on PORT (a restart: retried while
# the port is busy for a moment) or one the kernel picks.
start_ntlsd() {
  local i="$1" port="${2:-0}" log="$W/ntlsd$1.$RANDOM.log" sock="$SOCKDIR/s$1.$RANDOM"
  start_ntlsd_at "$log" "$NTLSD" --root "$W/app$i" --name "${ADDR[$i]}" \
    --listen "${ADDR[$i]}:$port" --threads 1 --log "$log" --status-socket "$sock"
  PID[$i]=$STARTED_PID
  if [[ "$port" == 0 ]]; then
    PORT[$i]="$(python3 tests/lib/ntlsd_status.py "$sock" --port)"
  fi
}
kill9_ntlsd() { kill -9 "${PID[$1]}"; wait "${PID[$1]}" 2>/dev/null || true; PID[$1]=""; }

# appliances: both ntlsd, a partition with a token on each, the client enrolled with both
# and assigned the partition there.
appliances() {
  "$VTL" createCert -n 127.0.0.1 >/dev/null
  for i in 0 1; do
    start_ntlsd "$i"
    "$NTLSH" --root "$W/app$i" sysconf exportCert -file "$W/server$i.pem" >/dev/null
    "$VTL" addServer -n "${ADDR[$i]}" -c "$W/server$i.pem" -p "${PORT[$i]}" >/dev/null
    "$NTLSH" --root "$W/app$i" client register -client web1 -ip 127.0.0.1 \
      -certificate "$TRUSTLINK_CLIENT_ROOT/cert/client/127.0.0.1.pem" >/dev/null
    "$NTLSH" --root "$W/app$i" partition create -partition "${PART[$i]}" -sopinfile "$W/so.pin" \
      -userpinfile "$W/user.pin" "$@" > "$W/create$i.out" 2>&1 \
      || fail "partition create ${PART[$i]}: $(cat "$W/create$i.out")"
    "$NTLSH" --root "$W/app$i" client assignPartition -client web1 -partition "${PART[$i]}" >/dev/null
  done
  local deadline=$((SECONDS + 20))
  until [[ "$("$VTL" listSlots 2>/dev/null | awk 'NR > 1 && $NF == "ready"' | wc -l)" == 2 ]]; do
    ((SECONDS < deadline)) || fail "two ready slots: $("$VTL" listSlots 2>&1)"
    sleep 0.05
  done
}

# setup [ARGS]: vtl p11 setup with the group over both partitions.
setup() {
  "$VTL" p11 setup -dir "$MODULES" -group "$GROUP" -member "${ADDR[0]}/${PART[0]}" \
    -member "${ADDR[1]}/${PART[1]}" "$@" > "$W/setup.out" 2>&1 \
    || fail "vtl p11 setup: $(cat "$W/setup.out")"
  chmod -R a+rX "$HOME"
}
