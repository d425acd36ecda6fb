# Shared by the flood chaos tests (slowloris_test.sh, fd_exhaustion_test.sh): an appliance
# root with one registered client, and ntlsd started under a given descriptor limit.
# Expects NTLSD and NTLSH to be set. Sets W (the test's work folder, under $TEST_TMPDIR) and
# SOCKDIR (short, for the status socket); ntlsd is stopped and SOCKDIR removed at exit.

# A command that fails under set -e says which, instead of ending the test silently.
trap 'echo "FAIL: line $LINENO: \"$BASH_COMMAND\" exited $?" >&2' ERR

W="$(mktemp -d "$TEST_TMPDIR/$(basename "$0" .sh).XXXXXX")"
SOCKDIR="$(mktemp -d "/tmp/$(basename "$0" .sh).XXXXXX")"
NTLSD_PID=""
trap 'stop_ntlsd; rm -rf "$SOCKDIR"' EXIT

fail() {
  echo "FAIL: $*" >&2
  [[ -f "$W/ntlsd.log" ]] && { echo "--- ntlsd.log (last 40 lines)" >&2; tail -40 "$W/ntlsd.log" >&2; }
  exit 1
}

# make_appliance: $W/appliance with client web1 registered for 127.0.0.1 (its certificate
# and key in $W/client.pem and $W/clientKey.pem).
make_appliance() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -keyout "$W/clientKey.pem" -out "$W/client.pem" -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null || fail "openssl cannot make a client cert"
  "$NTLSH" --root "$W/appliance" sysconf regenCert -name 127.0.0.1 >"$W/out" 2>&1 ||
    fail "sysconf regenCert: $(cat "$W/out")"
  "$NTLSH" --root "$W/appliance" client register -client web1 -ip 127.0.0.1 \
    -certificate "$W/client.pem" >"$W/out" 2>&1 || fail "client register: $(cat "$W/out")"
}

# start_ntlsd ULIMIT_ARGS...: ntlsd on 127.0.0.1, a free port, under `ulimit ULIMIT_ARGS`;
# sets NTLSD_PID and PORT once it logs that it is ready (bounded wait).
start_ntlsd() {
  : >"$W/ntlsd.log"
  (ulimit "$@" || exit 97; exec "$NTLSD" --root "$W/appliance" --listen 127.0.0.1:0 \
    --threads 2 --log "$W/ntlsd.log" --status-socket "$SOCKDIR/s") &
  NTLSD_PID=$!
  local i
  for i in $(seq 1 200); do
    grep -q "ntlsd: ready" "$W/ntlsd.log" && break
    kill -0 "$NTLSD_PID" 2>/dev/null || fail "ntlsd exited at start (ulimit $*)"
    sleep 0.05  # waiting for the daemon to come up, bounded
  done
  grep -q "ntlsd: ready" "$W/ntlsd.log" || fail "ntlsd not ready within 10 s"
  PORT="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) .*/\1/p' "$W/ntlsd.log" | head -1)"
  [[ -n "$PORT" ]] || fail "no port in the listening line"
}

stop_ntlsd() {
  kill -TERM "$NTLSD_PID" 2>/dev/null || true
  wait "$NTLSD_PID" 2>/dev/null || true
  NTLSD_PID=""
}

# result NAME FILE: the value of NAME=... on flood's RESULT lines.
result() { sed -n "s/.*RESULT.* $1=\([0-9.]*\).*/\1/p; s/^RESULT $1=\([0-9.]*\).*/\1/p" "$2" | head -1; }

# below A B: A < B, as decimals.
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
