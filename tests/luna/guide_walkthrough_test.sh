#!/bin/bash
# The reference admin guide's steps 1-11, typed as printed, with its mixed-case example
# names (appliance myLunaSA, client myClient1, label myLunaClient), against the real ntlsd,
# ntlsh, vtl and htlclient on loopback. Then what "slots are stable" and "no silent
# changes" promise (docs/client.md, docs/client-enrolment.md).
#
# The guide's host names must resolve to loopback, so the test runs in its own user and
# mount namespace with a private /etc/hosts (unshare -rm): nothing outside is touched.
set -Eeuo pipefail
source "$(dirname "$0")/../lib/shell_test.sh"  # the ERR trap, expect; fail is below
source "$(dirname "$0")/../lib/ntlsd_start.sh"
NTLSD="$1"; NTLSH="$2"; VTL="$3"; HTLCLIENT="$4"
fail() {
  echo "FAIL: $*" >&2
  [[ -f "${W:-}/ntlsd.log" ]] && { echo "--- ntlsd.log" >&2; tail -40 "$W/ntlsd.log" >&2; }
  [[ -f "${W:-}/agent.log" ]] && { echo "--- agent.log" >&2; cat "$W/agent.log" >&2; }
  exit 1
}
if [[ "${LUNA_IN_NAMESPACE:-}" != 1 ]]; then
  HOSTS="$(mktemp "$TEST_TMPDIR/hosts.XXXXXX")"
  printf '127.0.0.1 localhost myLunaSA myClient1\n' >"$HOSTS"
  # Resolve the binaries first: the namespace keeps the working directory.
  export LUNA_IN_NAMESPACE=1 LUNA_HOSTS="$HOSTS"
  exec unshare -rm /bin/bash -c 'mount --bind "$LUNA_HOSTS" /etc/hosts && exec "$0" "$@"' \
    "$0" "$(realpath "$NTLSD")" "$(realpath "$NTLSH")" "$(realpath "$VTL")" \
    "$(realpath "$HTLCLIENT")" || fail "cannot make a private /etc/hosts (unshare -rm)"
fi
getent hosts myLunaSA | grep -q 127.0.0.1 || fail "myLunaSA does not resolve to 127.0.0.1"

W="$(mktemp -d "$TEST_TMPDIR/guide.XXXXXX")"
APP="$W/appliance"          # the appliance's root; its admin account's home is $APP/incoming
CLIENT="$W/client"          # the client's root, where the guide's commands run
export TRUSTLINK_CLIENT_ROOT="$CLIENT"
export XDG_RUNTIME_DIR="$(mktemp -d /dev/shm/guide.XXXXXX)"
SOCKDIR="$(mktemp -d /tmp/guide.XXXXXX)"
NTLSD_PID=""; AGENT_PID=""
cleanup() {
  for p in $AGENT_PID $NTLSD_PID; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $AGENT_PID $NTLSD_PID; do wait "$p" 2>/dev/null || true; done
  rm -rf "$XDG_RUNTIME_DIR" "$SOCKDIR"
}
trap cleanup EXIT
# wait_for SECONDS TEXT CMD...: run CMD every 0.1 s until its output has TEXT.
wait_for() {
  local limit="$1" text="$2"; shift 2
  local end=$((SECONDS + limit))
  while :; do
    set +e; "$@" >"$W/poll" 2>&1; set -e
    grep -q -- "$text" "$W/poll" && return 0
    ((SECONDS < end)) || fail "no '$text' from '$*' within $limit s: $(cat "$W/poll")"
    sleep 0.1  # polling under a deadline
  done
}
lunash() { "$NTLSH" --root "$APP" "$@"; }   # what the admin types at lunash:>

# The appliance: its certificate (made at set-up), NTLS on a port the kernel found free. An
# explicit port, not :0, because the guide's `service restart ntls` below must bring the
# daemon back on the port the client was given.
lunash sysconf regenCert -name myLunaSA >/dev/null
lunash partition create -partition par1 >/dev/null
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
start_ntlsd_at "$W/ntlsd.log" "$NTLSD" --root "$APP" --name myLunaSA \
  --listen "127.0.0.1:$PORT" --threads 1 --log "$W/ntlsd.log" --status-socket "$SOCKDIR/s"
NTLSD_PID=$STARTED_PID

mkdir -p "$CLIENT" "$APP/incoming"
cd "$CLIENT"
# Step 1: fetch the appliance's certificate (scp admin@myLunaSA:server.pem .).
lunash sysconf exportCert -file "$CLIENT/server.pem" >/dev/null
expect 0 "Certificate fingerprint" lunash sysconf fingerprint ntls
APPLIANCE_FP="$(sed -n 's/^Certificate fingerprint : //p' "$W/out")"
# Step 2: register it, as the guide writes it (-p only because the port is not 1792 here).
expect 0 "New server myLunaSA" "$VTL" addserver -n myLunaSA -c server.pem -htl -p "$PORT"
grep -qF "$APPLIANCE_FP" "$W/out" || fail "addserver's fingerprint is not sysconf fingerprint's"
[[ -f cert/server/myLunaSACert.pem ]] || fail "the certificate file lost its case: $(ls cert/server)"
# Step 3: the client's certificate.
expect 0 "cert/client/myClient1.pem" "$VTL" createcert -n myClient1
# Step 4: copy it to the appliance (scp cert/client/myClient1.pem admin@myLunaSA:).
cp cert/client/myClient1.pem "$APP/incoming/"
# Step 5: register the client, by host name, requiring HTL.
expect 0 "successful for client myLunaClient" \
  lunash client register -client myLunaClient -hostname myClient1 -requirehtl
# Step 6: map its host name to the address it connects from.
lunash client hostip map -client myLunaClient -ip 127.0.0.1 >/dev/null
expect 0 "myLunaClient  myclient1  127.0.0.1" lunash client hostip show
# Step 7: its fingerprint matches the client's certificate.
expect 0 "Certificate fingerprint" lunash client fingerprint -client myLunaClient
grep -qF "$(openssl x509 -in cert/client/myClient1.pem -noout -fingerprint -sha256 | cut -d= -f2)" \
  "$W/out" || fail "client fingerprint differs from the certificate's: $(cat "$W/out")"
expect 0 "registered client 1: myLunaClient" lunash client list
# Step 8: assign a partition (LunaSH words ignore case).
expect 0 "successful" lunash client assignpartition -client myLunaClient -partition par1
# The guide restarts NTLS here. Nothing needs it (changes apply live), but it must restart
# the real daemon, which comes back on its port. (-socket only because this test's root is
# too deep a path for a unix socket name.)
expect 0 "Restarts *: 1" lunash service restart ntls -socket "$SOCKDIR/s"
grep -q "Listening on *: 127.0.0.1:$PORT" "$W/out" || fail "ntls came back elsewhere: $(cat "$W/out")"
expect 0 "running" lunash service status ntls -socket "$SOCKDIR/s"
# Step 9: the one-time token, made on the appliance and copied to the client.
expect 0 "Token file" lunash htl generateOTT -client myLunaClient
TOKEN="$(sed -n 's/^Token file *: //p' "$W/out")"
[[ -f "$TOKEN" ]] || fail "no token file $TOKEN"
cp "$TOKEN" ./myLunaClient.ott
mkdir -p htl && chmod 700 htl
# Step 10: the guide's rename, in its letter case, while the agent runs.
"$HTLCLIENT" -root "$CLIENT" -interval 300 >>"$W/agent.log" 2>&1 &
AGENT_PID=$!
mv myLunaClient.ott ./htl/myLunaSA.ott
wait_for 20 "HTL up" cat "$W/agent.log"
[[ ! -e htl/myLunaSA.ott ]] || fail "the agent left the token file"
# Step 11: the client sees the partition as a slot and uses it.
wait_for 20 "\[ OK \] link mylunasa" "$VTL" verify
expect 0 "par1" "$VTL" listslots
expect 0 "hello" "$VTL" call -slot 0 -op echo -data hello

# A used token copied back is not taken silently: the agent and the appliance both log it.
cp "$TOKEN" htl/myLunaSA.ott
wait_for 20 "TL_E_OTT_USED" cat "$W/agent.log"
grep -q "already used" "$W/agent.log" || fail "the agent did not say the token was used"
wait_for 10 "htl-establish-refused .*client='myLunaClient'" cat "$W/ntlsd.log"
[[ ! -e htl/myLunaSA.ott ]] || fail "the agent left the used token file"
expect 0 "every link is up" "$VTL" verify -timeout 20000  # an HTL proof is fsynced on the appliance

# A second client with the same host name: its token file cannot overwrite the first's.
"$VTL" --root "$W/twin" createCert -n myClient1 >/dev/null
# Its certificate arrives as MYCLIENT1.pem beside myClient1.pem: which one is meant?
cp "$W/twin/cert/client/myClient1.pem" "$APP/incoming/MYCLIENT1.pem"
expect 1 "differ only by letter case" lunash client register -client twin -hostname myclient1
rm "$APP/incoming/myClient1.pem"
expect 0 "successful for client twin" lunash client register -client twin -hostname myclient1 \
  -requirehtl
lunash htl generateott -client myLunaClient >/dev/null
FIRST="$(cat "$TOKEN")"
expect 0 "myclient1-twin.ott" lunash htl generateott -client twin
grep -q "shares its host name with myLunaClient" "$W/out" || fail "no warning: $(cat "$W/out")"
[[ "$(cat "$TOKEN")" == "$FIRST" ]] || fail "the twin's token overwrote myLunaClient's"
lunash client delete -client twin >/dev/null

# Slots are stable: a new partition that sorts first does not take slot 0.
lunash partition create -partition aaa >/dev/null
lunash client assignPartition -client myLunaClient -partition aaa >/dev/null
expect 0 "aaa" "$VTL" listSlots --json
python3 - "$W/out" <<'PY' || fail "slot numbers moved: $(cat "$W/out")"
import json, sys
slots = {s["partition"]: s["slot"] for s in json.load(open(sys.argv[1]))["slots"]}
assert slots == {"par1": 0, "aaa": 1}, slots
PY
expect 0 "^hello" "$VTL" call -slot 0 -op echo -data hello   # still par1, in a new process

# No silent changes: re-running addServer keeps the port and HTL ...
expect 0 "kept" "$VTL" addServer -n MYLUNASA -c server.pem
"$VTL" listServers --json >"$W/servers.json"
python3 - "$W/servers.json" "$PORT" <<'PY' || fail "addServer changed the port or HTL"
import json, sys
s = json.load(open(sys.argv[1]))["servers"]
assert len(s) == 1 and s[0]["port"] == int(sys.argv[2]) and s[0]["htl"], s
PY
# ... and a certificate for another name needs -force and names the appliance.
expect 3 "-force" "$VTL" createCert -n otherHost
grep -q "mylunasa" "$W/out" || fail "createCert did not name the appliance: $(cat "$W/out")"
[[ -f cert/client/myClient1.pem && ! -e cert/client/otherHost.pem ]] || fail "identity changed"
# One-sided HTL: the client asks for HTL, the appliance registration does not. With no
# agent running, the appliance's documented answer (which names the fix) is what the user
# sees, not "no HTL agent".
lunash client modify -client myLunaClient -requirehtl no >/dev/null
kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
expect 6 "HTL_REQUIRED_BY_CLIENT" "$VTL" verify
grep -q -- "-requirehtl" "$W/out" || fail "verify did not name the fix: $(cat "$W/out")"
# And when the appliance does require HTL, the missing agent is what it says.
lunash client modify -client myLunaClient -requirehtl yes >/dev/null
expect 6 "HTL_AGENT_UNAVAILABLE" "$VTL" verify
grep -q "requires HTL" "$W/out" || fail "verify did not say the appliance requires HTL: $(cat "$W/out")"
echo PASS
