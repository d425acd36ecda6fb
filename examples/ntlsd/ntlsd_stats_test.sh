#!/bin/bash
# ntlsd's counters with a real daemon and real peers: N calls from vtl, a
# stranger's certificate (openssl s_client), a registered certificate from the
# wrong source address (127.0.0.2), each counted exactly, as the status socket
# serves them (`stat NAME VALUE`), as `ntlsh ntls information show` prints
# them, for people and in JSON, and as --metrics serves them to Prometheus.
set -uo pipefail
NTLSD="$1"; NTLSH="$2"; VTL="$3"
W="$(mktemp -d "$TEST_TMPDIR/stats.XXXXXX")"  # TEST_TMPDIR is kept between runs
APP="$W/appliance"
export TRUSTLINK_CLIENT_ROOT="$W/client"
SOCKDIR="$(mktemp -d /tmp/ntlsd-stats.XXXXXX)"  # unix socket paths are short
SOCK="$SOCKDIR/s"
PID=""
trap '[[ -n "$PID" ]] && kill "$PID" 2>/dev/null; rm -rf "$SOCKDIR"' EXIT
fail() {
  echo "FAIL: $*"
  echo "--- status:"; python3 tests/lib/ntlsd_status.py "$SOCK" 2>&1
  echo "--- ntlsd log:"; cat "$W/ntlsd.log" 2>/dev/null
  exit 1
}
# snap asks the status socket once; stat NAME reads a counter from that answer.
snap() { python3 tests/lib/ntlsd_status.py "$SOCK" >"$W/status" || fail "no status"; }
stat() { sed -n "s/^stat $1 \([0-9]*\)$/\1/p" "$W/status"; }
# want NAME VALUE: the last snapshot's counter NAME is VALUE.
want() {
  local got
  got="$(stat "$1")"
  [[ -n "$got" ]] || fail "no counter $1"
  [[ "$got" == "$2" ]] || fail "counter $1 is $got, want $2"
}
# wait_for NAME VALUE: a refusal is counted when the server has judged the
# peer, which may be just after the peer gave up; wait for it (bounded).
wait_for() {
  for _ in $(seq 1 100); do snap; [[ "$(stat "$1")" == "$2" ]] && return; sleep 0.05; done
  want "$1" "$2"
}

"$NTLSD" --root "$APP" --name 127.0.0.1 --listen 127.0.0.1:0 --threads 2 \
  --log "$W/ntlsd.log" --status-socket "$SOCK" --metrics 127.0.0.1:0 &
PID=$!
for _ in $(seq 1 200); do grep -q ready "$W/ntlsd.log" 2>/dev/null && break; sleep 0.05; done  # bounded
grep -q ready "$W/ntlsd.log" || fail "ntlsd not ready"
PORT="$(python3 tests/lib/ntlsd_status.py "$SOCK" --port)" || fail "no port"

# Nothing happened yet: every counter is there, at 0.
snap
for name in handshakes_full handshakes_resumed calls calls_failed calls_in_flight \
    bytes_in bytes_out refused_unknown_certificate refused_ip_mismatch refused_alpn \
    refused_htl htl_up htl_down call_latency_p50_ns call_latency_p99_ns; do
  want "$name" 0
done

"$NTLSH" --root "$APP" sysconf exportCert -file "$W/server.pem" >/dev/null
"$VTL" createCert -n 127.0.0.1 >/dev/null || fail "vtl createCert"
"$VTL" addServer -n 127.0.0.1 -c "$W/server.pem" -p "$PORT" >/dev/null || fail "vtl addServer"
CERT="$W/client/cert/client/127.0.0.1.pem"
KEY="$W/client/cert/client/127.0.0.1Key.pem"
"$NTLSH" --root "$APP" client register -client web1 -ip 127.0.0.1 -certificate "$CERT" >/dev/null ||
  fail "client register"
"$NTLSH" --root "$APP" partition create -partition par1 >/dev/null || fail "partition create"
"$NTLSH" --root "$APP" client assignPartition -client web1 -partition par1 >/dev/null ||
  fail "assignPartition"

N=20
"$VTL" call -slot 0 -op echo -data hello -count "$N" >"$W/vtl.out" 2>&1 ||
  fail "vtl call: $(cat "$W/vtl.out")"
snap
want calls "$N"
want calls_failed 0
want calls_in_flight 0
want handshakes_full 1
want handshakes_resumed 0
[[ "$(stat bytes_in)" -gt 0 && "$(stat bytes_out)" -gt 0 ]] || fail "no bytes counted"
[[ "$(stat call_latency_p50_ns)" -gt 0 ]] || fail "no call latency"
[[ "$(stat call_latency_p50_ns)" -le "$(stat call_latency_p99_ns)" ]] || fail "p50 above p99"

# A stranger's certificate: refused for an unknown certificate.
openssl req -x509 -newkey ed25519 -keyout "$W/k.pem" -out "$W/c.pem" \
  -days 1 -nodes -subj /CN=stranger 2>/dev/null
if timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -alpn ntl/1 \
    -cert "$W/c.pem" -key "$W/k.pem" -ign_eof </dev/null >"$W/sc.out" 2>&1; then
  cat "$W/sc.out"; fail "s_client unexpectedly succeeded"
fi
wait_for refused_unknown_certificate 1

# web1's own certificate from 127.0.0.2, while it is registered for 127.0.0.1.
python3 - "$PORT" "$CERT" "$KEY" >"$W/py.out" 2>&1 <<'PY' || fail "wrong-address client: $(cat "$W/py.out")"
import socket, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["ntl/1"])
raw = socket.create_connection(("127.0.0.1", port), timeout=10,
                               source_address=("127.0.0.2", 0))
try:
    with ctx.wrap_socket(raw) as s:
        # TLS 1.3: the refusal arrives after the client's side of the handshake.
        if s.recv(1):
            sys.exit("the server admitted a client from the wrong address")
except (ssl.SSLError, ConnectionError) as e:
    print("refused:", e)
PY
wait_for refused_ip_mismatch 1
want refused_unknown_certificate 1
want refused_alpn 0
want handshakes_full 1
want calls "$N"

# ntlsh prints the same numbers, for people and for scripts.
"$NTLSH" --root "$APP" ntls information show -socket "$SOCK" >"$W/info" 2>&1 ||
  fail "ntls information show: $(cat "$W/info")"
cat "$W/info"
grep -q "Operational Status *: 1 (UP)" "$W/info" || fail "not UP"
grep -q "^Calls *: $N$" "$W/info" || fail "ntlsh shows no 'Calls : $N'"
grep -q "^Failed calls *: 0$" "$W/info" || fail "ntlsh: failed calls"
grep -q "^Full handshakes *: 1$" "$W/info" || fail "ntlsh: full handshakes"
grep -q "^Refused: unknown certificate *: 1$" "$W/info" || fail "ntlsh: unknown certificate"
grep -q "^Refused: source IP mismatch *: 1$" "$W/info" || fail "ntlsh: IP mismatch"
grep -q "^Call latency p99 (ns) *: [1-9]" "$W/info" || fail "ntlsh: latency"
"$NTLSH" --root "$APP" --json ntls information show -socket "$SOCK" >"$W/info.json" 2>&1 ||
  fail "ntls information show --json: $(cat "$W/info.json")"
python3 - "$W/info.json" "$N" <<'PY' || fail "JSON: $(cat "$W/info.json")"
import json, sys
d = json.load(open(sys.argv[1]))
d = d.get("data", d)
want = {"calls": int(sys.argv[2]), "refused_unknown_certificate": 1,
        "refused_ip_mismatch": 1, "handshakes_full": 1, "calls_in_flight": 0}
for k, v in want.items():
    if d.get(k) != v:
        sys.exit(f"{k} is {d.get(k)!r}, want {v}")
PY
# Prometheus: GET /metrics on the address ntlsd logged; anything else is 404.
METRICS="$(sed -n 's|.*metrics: http://\(.*\)/metrics$|\1|p' "$W/ntlsd.log")"
[[ -n "$METRICS" ]] || fail "ntlsd logged no metrics address"
python3 - "$METRICS" "$N" >"$W/metrics.out" 2>&1 <<'PY' || fail "metrics: $(cat "$W/metrics.out")"
import sys, urllib.error, urllib.request
base, n = "http://" + sys.argv[1], sys.argv[2]
text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
print(text)
for line in ("# TYPE trustlink_ntls_calls_total counter",
             f"trustlink_ntls_calls_total {n}",
             "trustlink_ntls_refused_unknown_certificate_total 1",
             "trustlink_ntls_refused_ip_mismatch_total 1",
             "# TYPE trustlink_ntls_calls_in_flight gauge",
             "trustlink_ntls_calls_in_flight 0",
             "# TYPE trustlink_ntls_call_latency_seconds summary"):
    if line not in text.splitlines():
        sys.exit(f"no line {line!r}")
if 'trustlink_ntls_call_latency_seconds{quantile="0.99"} ' not in text:
    sys.exit("no p99 latency")
try:
    urllib.request.urlopen(base + "/", timeout=10)
    sys.exit("GET / was answered")
except urllib.error.HTTPError as e:
    if e.code != 404:
        sys.exit(f"GET / answered {e.code}, want 404")
PY
echo "1 passed, 0 failed"
