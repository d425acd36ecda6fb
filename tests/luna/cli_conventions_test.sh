#!/bin/bash
# The command-line conventions the four programs share (examples/cli/cli_args.h):
# --version and --help (stdout, exit 0), --root DIR / --root=DIR / -root DIR, one exit
# status (2) for usage errors, and command words in any letter case.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
NTLSD="$1"; NTLSH="$2"; VTL="$3"; HTLCLIENT="$4"
W="$(mktemp -d "$TEST_TMPDIR/cli.XXXXXX")"
# run RC CMD...: run CMD, want exit RC; its stdout in $W/out, stderr in $W/err.
run() {
  local want="$1"; shift
  set +e; "$@" >"$W/out" 2>"$W/err"; local rc=$?; set -e
  [[ $rc == "$want" ]] || fail "$* exited $rc, want $want: $(cat "$W/out" "$W/err")"
}
for p in "$NTLSD" "$NTLSH" "$VTL" "$HTLCLIENT"; do
  n="$(basename "$p")"
  run 0 "$p" --version
  grep -qx "$n (trustlink) [0-9]*\.[0-9]*\.[0-9]*" "$W/out" || fail "$n --version: $(cat "$W/out")"
  run 0 "$p" --help
  grep -qi "usage\|client register" "$W/out" || fail "$n --help printed nothing on stdout"
  [[ ! -s "$W/err" ]] || fail "$n --help wrote to stderr: $(cat "$W/err")"
  run 2 "$p" --no-such-option
done

# --root DIR, --root=DIR and -root DIR are one option.
"$VTL" --root "$W/c1" createCert -n host1 >/dev/null
run 0 "$VTL" --root="$W/c1" show
grep -q "Client root: $W/c1" "$W/out" || fail "vtl --root=DIR: $(cat "$W/out")"
run 0 "$VTL" -root "$W/c1" SHOW
grep -q "Client root: $W/c1" "$W/out" || fail "vtl -root DIR: $(cat "$W/out")"
run 2 "$VTL" --root
# --json on verify, listSlots and listServers: one JSON object on stdout.
run 0 "$VTL" --root "$W/c1" verify -local --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is True and d["checks"], d' \
  "$W/out" || fail "verify --json: $(cat "$W/out")"
run 0 "$VTL" --root "$W/c1" listServers --JSON
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["servers"] == []' "$W/out" ||
  fail "listServers --json: $(cat "$W/out")"
# (listSlots --json with slots: tests/luna/guide_walkthrough_test.sh.) An error is on
# stderr with the exit code, and stdout stays empty for the script's JSON parser.
run 1 "$VTL" --root "$W/c1" listSlots --json
[[ ! -s "$W/out" ]] || fail "listSlots --json printed on an error: $(cat "$W/out")"
run 2 "$VTL" --root "$W/c1" show --json
run 2 "$VTL" frobnicate
run 1 "$VTL" --root "$W/c1" addServer -n x -c "$W/c1/cert/client/host1.pem" -p 70000
"$NTLSH" --root "$W/app" sysconf regenCert -name app1 >/dev/null
run 0 "$NTLSH" --root="$W/app" SYSCONF FINGERPRINT
run 0 "$NTLSH" -root "$W/app" sysconf showcert
run 2 "$NTLSH" --root "$W/app" no such command
# htlclient: the root is read (a root without HTL servers is a failure, not a usage error).
run 1 "$HTLCLIENT" --root="$W/c1" -once
grep -q "$W/c1/trustlink.conf" "$W/err" || fail "htlclient --root=DIR: $(cat "$W/err")"
run 1 "$HTLCLIENT" -ROOT "$W/c1" -once
# ntlsd accepts --name=VALUE forms and starts.
SOCKDIR="$(mktemp -d /tmp/cli.XXXXXX)"
"$NTLSD" --root="$W/app" --listen=127.0.0.1:0 --log="$W/ntlsd.log" \
  --status-socket="$SOCKDIR/s" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$SOCKDIR"' EXIT
end=$((SECONDS + 10))
until grep -q ready "$W/ntlsd.log" 2>/dev/null; do
  ((SECONDS < end)) || fail "ntlsd --root=DIR did not start: $(cat "$W/ntlsd.log")"
  sleep 0.05  # polling under a deadline
done
echo PASS
