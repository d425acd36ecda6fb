#!/bin/bash
# End to end over the real link with OpenSC's pkcs11-tool through p11-kit-proxy.so, vtl p11
# bridge, ntlsd's pkcs11 stream service, p11-kit remote and SoftHSM2: one module and one
# stream for the server, whose slots are exactly the assigned partitions; one more appears
# after assignPartition alone (no vtl p11 setup, nothing restarted); log in; EC P-256 and
# RSA-2048 key pairs; sign on the partition and verify with openssl outside it; find
# objects; a wrong PIN; a revoked assignment (slot gone, in-flight call fails cleanly);
# partition delete removes the token.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/pkcs11/link_lib.sh"

start_appliance
create_partition partA
create_partition partB
create_partition partC
[[ -f "$APP/pkcs11/partitions/partA/token.object" ]] || fail "no token directory for partA"
assign partA
assign partB
slots_are partA partB
setup
grep -q "1 module config written (one per server" "$W/setup.out" || fail "setup output: $(cat "$W/setup.out")"
[[ "$(ls "$MODULES" | grep -c '^trustlink-')" == 1 && -f "$MODULES/trustlink-$SERVER.module" ]] \
  || fail "want one module for the server: $(ls "$MODULES")"

# Slots: exactly the assigned partitions (pkcs11-tool --list-slots), served by one p11-kit
# process on the appliance. Their order is SoftHSM2's: select a slot by its token label.
labels="$(slot_labels | sort)"
[[ "$labels" == $'partA\npartB' ]] || fail "slots: want partA, partB; got: $labels ($(cat "$W/list.err"))"
p11 --list-slots > "$W/slots" 2>&1 || fail "pkcs11-tool --list-slots: $(cat "$W/slots")"
[[ "$(grep -c 'token label' "$W/slots")" == 2 ]] || fail "--list-slots: want 2 tokens: $(cat "$W/slots")"

# Keys, signatures, objects and PINs on partA (tests/lib/p11_token_checks.sh).
pkcs11_tool_key_checks partA partB

# Assign partC on the appliance: the next process sees it, without vtl p11 setup. Nothing
# restarts.
ntlsd_pid_before="$NTLSD_PID"
modules_before="$(cat "$MODULES"/trustlink-*.module)"
assign partC
slots_are partA partB partC
labels="$(slot_labels | sort)"
[[ "$labels" == $'partA\npartB\npartC' ]] || fail "after assign: want partA..C; got: $labels"
[[ "$(cat "$MODULES"/trustlink-*.module)" == "$modules_before" ]] || fail "the module configs changed"
kill -0 "$ntlsd_pid_before" || fail "ntlsd restarted"

# An in-flight session on partB: pkcs11-tool logs in, opens its session, then blocks reading
# its input from a fifo. Revoke partB while it waits; its next call must fail, not hang.
p11 --token-label partB --login --pin "$USER_PIN" --keypairgen --key-type rsa:2048 --id 02 \
  --label rsaB > /dev/null 2>&1 || fail "RSA keygen on partB"
start_inflight partB
revoke partB
slots_are partA partC
finish_inflight "partB' was unassigned"

# The revoked partition's slot is gone for the next process, without vtl p11 setup; the
# others stay.
labels="$(slot_labels | sort)"
[[ "$labels" == $'partA\npartC' ]] || fail "after revoke: want partA, partC; got: $labels"
# A module of the older per-partition form is replaced by the server's at the next setup.
printf 'remote: |/bin/false\n' > "$MODULES/trustlink-$SERVER-partB.module"
setup
grep -q "1 stale removed" "$W/setup.out" || fail "setup did not remove partB's module: $(cat "$W/setup.out")"
[[ ! -e "$MODULES/trustlink-$SERVER-partB.module" ]] || fail "partB's module is still there"

# partition delete (assigned, so -force) while a session on it is in flight: the stream
# ends, the call fails cleanly, the token and its keys are gone.
p11 --token-label partC --login --pin "$USER_PIN" --keypairgen --key-type rsa:2048 --id 02 \
  --label rsaC > /dev/null 2>&1 || fail "RSA keygen on partC"
start_inflight partC
ntlsh partition delete -partition partC -force > "$W/delete.out" 2>&1 || fail "delete: $(cat "$W/delete.out")"
grep -q "with its PKCS#11 token" "$W/delete.out" || fail "delete output: $(cat "$W/delete.out")"
[[ ! -e "$APP/pkcs11/partitions/partC" ]] || fail "partC's token directory is still there"
finish_inflight "partC' was unassigned"
slots_are partA
labels="$(slot_labels)"
[[ "$labels" == "partA" ]] || fail "after delete: want partA; got: $labels"

# A partition made without PIN files has no token: setup skips it, pkcs11-tool never sees it.
ntlsh partition create -partition plain > "$W/plain.out" 2>&1 || fail "plain: $(cat "$W/plain.out")"
grep -q "PKCS#11 token : none" "$W/plain.out" || fail "plain create output: $(cat "$W/plain.out")"
assign plain
slots_are partA plain
setup
grep -q "partition plain has no PKCS#11 token; skipped" "$W/setup.out" || fail "setup: $(cat "$W/setup.out")"
[[ "$(slot_labels)" == "partA" ]] || fail "a partition without a token became a slot"

# PIN input refusals leave nothing behind: one PIN file alone, an empty file, a short PIN.
expect_refused() {  # WORDS-IN-MESSAGE ARGS...
  local words="$1"; shift
  if ntlsh partition create -partition bad "$@" > "$W/bad.out" 2>&1; then fail "accepted: $*"; fi
  grep -q -- "$words" "$W/bad.out" || fail "no '$words' in: $(cat "$W/bad.out")"
  if ntlsh partition show -partition bad >/dev/null 2>&1; then fail "partition 'bad' left behind by: $*"; fi
  [[ ! -e "$APP/pkcs11/partitions/bad" ]] || fail "token 'bad' left behind by: $*"
}
: > "$W/empty.pin"; echo 12 > "$W/short.pin"
expect_refused "missing -userpinfile" -sopinfile "$W/so.pin"
expect_refused "is empty" -sopinfile "$W/empty.pin" -userpinfile "$W/user.pin"
expect_refused "user PIN" -sopinfile "$W/so.pin" -userpinfile "$W/short.pin"
chmod 644 "$W/so.pin"
ntlsh partition create -partition loose -sopinfile "$W/so.pin" -userpinfile "$W/user.pin" \
  > "$W/loose.out" 2>&1 || fail "loose: $(cat "$W/loose.out")"
grep -q "can be read by other users" "$W/loose.out" || fail "no warning for a readable PIN file: $(cat "$W/loose.out")"
if grep -q "$SO_PIN\|$USER_PIN" "$W/loose.out" "$W/create.out" "$W/ntlsd.log"; then fail "a PIN was printed"; fi

# HTL required on the appliance, this client without HTL: the link is refused, so no slots,
# and vtl verify says why.
ntlsh client modify -client web1 -requirehtl yes > /dev/null
slots_are
rc=0; "$VTL" verify > "$W/verify.out" 2>&1 || rc=$?
[[ $rc == 6 ]] || fail "vtl verify with HTL required: exit $rc: $(cat "$W/verify.out")"
grep -q "HTL is required" "$W/verify.out" || fail "vtl verify does not mention HTL: $(cat "$W/verify.out")"
labels="$(slot_labels)"
[[ -z "$labels" ]] || fail "slots without the required HTL: $labels"
grep -q "HTL is required" "$W/list.err" || fail "the application is not told about HTL: $(cat "$W/list.err")"
grep -q "link is down" "$W/list.err" || fail "the bridge blames the assignment: $(cat "$W/list.err")"
echo "vtl verify with HTL required: $(grep -F '[FAIL] link' "$W/verify.out")"
echo "pkcs11-tool -L with HTL required: $(tr '\n' ' ' < "$W/list.err")"
ntlsh client modify -client web1 -requirehtl no > /dev/null
slots_are partA plain

# Every p11-kit child of ntlsd was reaped once the clients are gone.
deadline=$((SECONDS + 20))
while pgrep -P "$NTLSD_PID" >/dev/null; do
  ((SECONDS < deadline)) || fail "p11-kit children left behind: $(pgrep -a -P "$NTLSD_PID")"
  sleep 0.02
done
kill -TERM "$NTLSD_PID"; wait "$NTLSD_PID" || fail "ntlsd did not stop cleanly"; NTLSD_PID=""
echo "in-flight call after revoke: $(tr "\n" " " < "$W/inflight-partB.out")"
echo "in-flight call after delete: $(tr "\n" " " < "$W/inflight-partC.out")"
echo PASS
