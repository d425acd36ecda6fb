#!/bin/bash
# htlclient on the C ABI: argument checks; the HTL servers read from the client
# configuration (ServerHtlNN = 1, written by vtl addServer -htl); the runtime
# directory defaulting to $XDG_RUNTIME_DIR/trustlink (a clear error without
# it); a real htl/1 exchange with an appliance's HTL state behind the fake NTLS
# peer; and the daemon mode's proof socket (0600 in a 0700 directory) that
# disappears on SIGTERM.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
bin="$1"
vtl="$2"
fake_server="$3"
notify_listener="$4"
tls=testdata/tls
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/htlc.XXXXXX")"
root="$work/client"
# Short paths: sun_path holds 108 bytes. The secrets directory must be tmpfs.
sockdir="$(mktemp -d /tmp/htlc-sock.XXXXXX)"
xdg="$(mktemp -d /dev/shm/htlc-xdg.XXXXXX)"
chmod 700 "$xdg"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  rm -rf "$work" "$sockdir" "$xdg"
}
trap cleanup EXIT
# wait_for CMD...: polls (50 ms) under a 10 s deadline.
wait_for() { for _ in $(seq 200); do "$@" && return 0; sleep 0.05; done; return 1; }

mkdir -p -m 700 "$root/htl"

# --- Arguments and defaults, without a configuration.
if "$bin" -root "$root" -runtime "$xdg/x" -memory 2>/dev/null; then fail "-runtime with -memory accepted"; fi
if out="$("$bin" -root "$root" -memory -once 2>&1)"; then fail "no servers accepted: $out"; fi
grep -q "no server in $root/trustlink.conf is marked for HTL" <<<"$out" || fail "$out"
grep -q -- "-htl" <<<"$out" || fail "the fix is not named: $out"

out="$("$bin" -root "$root" -server hsm1 -memory -once || true)"
grep -q "hsm1: HTL waiting for a token" <<<"$out" || fail "$out"

if out="$(env -u XDG_RUNTIME_DIR "$bin" -root "$root" -server hsm1 -once 2>&1)"; then
  fail "started without a runtime directory: $out"
fi
grep -q "XDG_RUNTIME_DIR is not set" <<<"$out" || fail "$out"
grep -q -- "-runtime DIR" <<<"$out" || fail "$out"

# A token, but no client identity yet: the link cannot be made, and says why.
printf 'trustlink-htl-ott v1\ntoken %s\n' "$(printf 'a%.0s' $(seq 64))" > "$root/htl/hsm1.ott"
out="$("$bin" -root "$root" -server hsm1 -memory -once || true)"
grep -q "TL_E_CONFIG_INVALID" <<<"$out" || fail "expected no identity: $out"
grep -q "vtl createCert" <<<"$out" || fail "$out"

# --- The appliance: the fake NTLS peer with real HTL state; it wrote a token
# for its client.
mkdir -p "$work/appliance"
mkfifo "$work/server.in"
exec 3<>"$work/server.in"
"$fake_server" "$tls/server_ed25519.cert.pem" "$tls/server_ed25519.key.pem" \
  -htl "$work/appliance" part1 >"$work/server.out" 2>&1 <"$work/server.in" 3>&- &
server_pid=$!
wait_for grep -q '^PORT ' "$work/server.out" || fail "fake server: $(cat "$work/server.out")"
port="$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$work/server.out")"

# --- The client root as vtl makes it: one HTL server, one without HTL.
"$vtl" --root "$root" createCert -n client.test >/dev/null
"$vtl" --root "$root" addServer -n 127.0.0.1 -c "$tls/server_ed25519.cert.pem" -p "$port" -htl >/dev/null
"$vtl" --root "$root" addServer -n 127.0.0.2 -c "$tls/server_p256.cert.pem" -p "$port" >/dev/null

# A token for a server that is not configured: the connector says so.
out="$("$bin" -root "$root" -server hsm1 -memory -once || true)"
grep -q "TL_E_NOT_FOUND" <<<"$out" || fail "expected the unconfigured server: $out"
grep -q "vtl addServer -n hsm1" <<<"$out" || fail "$out"
rm "$root/htl/hsm1.ott"

export XDG_RUNTIME_DIR="$xdg"
if out="$("$bin" -root "$root" -once)"; then fail "up without a token: $out"; fi
grep -q "^127.0.0.1: HTL waiting for a token" <<<"$out" || fail "$out"
if grep -q "127.0.0.2" <<<"$out"; then fail "served a server not marked -htl: $out"; fi

# The admin copies the token, renamed for the appliance.
cp "$work/appliance/client.test.ott" "$root/htl/127.0.0.1.ott"
out="$("$bin" -root "$root" -once)" || fail "not up: $out"
grep -q "^127.0.0.1: HTL up (generation [0-9]*)" <<<"$out" || fail "$out"
[[ ! -e "$root/htl/127.0.0.1.ott" ]] || fail "the consumed token file is still there"
[[ "$(stat -c %a "$xdg/trustlink")" == 700 ]] || fail "runtime dir mode"
[[ -n "$(ls -A "$xdg/trustlink")" ]] || fail "no secret kept in $xdg/trustlink"

# A restarted agent carries on from the runtime directory, without a new token.
out="$("$bin" -root "$root" -once)" || fail "restart lost HTL: $out"
grep -q "^127.0.0.1: HTL up" <<<"$out" || fail "$out"
# show_htl N: asks the appliance for the N-th time and prints its answer.
answers_at_least() { [[ "$(grep -c '^HTL ' "$work/server.out")" -ge "$1" ]]; }
show_htl() {
  echo show >&3
  wait_for answers_at_least "$1" || fail "no show answer"
  grep '^HTL ' "$work/server.out" | sed -n "${1}p"
}
# No agent runs now: once the server has seen the last link close, the
# appliance gives the chain its grace period.
asked=0
for _ in $(seq 100); do
  asked=$((asked + 1))
  got="$(show_htl "$asked")"
  [[ "$got" == "HTL Grace Period OTT In use"* ]] && break
  sleep 0.05
done
[[ "$got" == "HTL Grace Period OTT In use"* ]] || fail "appliance: $got"

# --- The daemon: proofs on the default socket, in the runtime directory.
"$bin" -root "$root" -interval 50 > "$work/log" &
pid=$!
sock="$xdg/trustlink/htl-agent.sock"
wait_for test -S "$sock" || { kill "$pid"; fail "no socket at $sock"; }
[[ "$(stat -c %a "$sock")" == 600 ]] || { kill "$pid"; fail "socket mode"; }
wait_for grep -q "^127.0.0.1: HTL up" "$work/log" || { kill "$pid"; fail "daemon: $(cat "$work/log")"; }
grep -q "HTL servers: 127.0.0.1; secrets in $xdg/trustlink" "$work/log" || { kill "$pid"; fail "$(cat "$work/log")"; }
got="$(show_htl $((asked + 1)))"
[[ "$got" == "HTL Up OTT In use"* ]] || { kill "$pid"; fail "appliance: $got"; }
kill -TERM "$pid"
wait "$pid"
[[ ! -e "$sock" ]] || fail "socket left behind"

# -socket still chooses the socket (its directory is made 0700).
unset XDG_RUNTIME_DIR
sock="$sockdir/run/htl-agent.sock"
"$bin" -root "$root" -server hsm1 -memory -interval 50 -socket "$sock" > "$work/log2" &
pid=$!
wait_for test -S "$sock" || { kill "$pid"; fail "no socket"; }
[[ "$(stat -c %a "$sock")" == 600 ]] || { kill "$pid"; fail "socket mode"; }
[[ "$(stat -c %a "$sockdir/run")" == 700 ]] || { kill "$pid"; fail "dir mode"; }
kill -TERM "$pid"
wait "$pid"
[[ ! -e "$sock" ]] || fail "socket left behind"
grep -q "stopped" "$work/log2"

# --- As a systemd service: readiness on $NOTIFY_SOCKET once the proof socket
# serves (a datagram listener stands in for systemd), journal priority
# prefixes (-journal), and SIGHUP reopening the -log file after a rotation.
notify="$sockdir/notify"
python3 "$notify_listener" "$notify" "$work/notify.txt" &
listener=$!
wait_for test -S "$notify" || fail "no notify listener"
sock="$sockdir/svc.sock"
NOTIFY_SOCKET="$notify" "$bin" -root "$root" -server hsm1 -memory -interval 50 \
  -socket "$sock" -journal -log "$work/svc.log" &
pid=$!
wait "$listener" || { kill "$pid"; fail "no READY=1 on NOTIFY_SOCKET"; }
test -S "$sock" || { kill "$pid"; fail "READY=1 before the proof socket"; }
grep -q "^<6>htlclient: watching $root/htl/" "$work/svc.log" || { kill "$pid"; fail "no <6> line: $(cat "$work/svc.log")"; }
wait_for grep -q "^<6>htlclient: hsm1: HTL waiting for a token" "$work/svc.log" || { kill "$pid"; fail "state line: $(cat "$work/svc.log")"; }
mv "$work/svc.log" "$work/svc.log.1"
kill -HUP "$pid"
wait_for grep -qs "reopened log file $work/svc.log" "$work/svc.log" || { kill "$pid"; fail "SIGHUP did not reopen the log"; }
kill -TERM "$pid"
wait "$pid"
grep -q "^<6>htlclient: stopped" "$work/svc.log" || fail "no stopped line"
echo PASS
