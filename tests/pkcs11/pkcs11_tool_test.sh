#!/bin/bash
# End to end with OpenSC's pkcs11-tool through p11-kit-proxy.so: slots are exactly the
# assigned partitions; log in; EC P-256 and RSA-2048 key pairs; sign on the partition and
# verify with openssl outside it; find objects; a wrong PIN; assign and revoke live.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/pkcs11/lib.sh"

create_partition partA
create_partition partB
create_partition partC
start_appliance partA partB
setup partA partB

# Slots: exactly the assigned partitions, in module (file name) order.
labels="$(slot_labels)"
[[ "$labels" == $'partA\npartB' ]] || fail "slots: want partA, partB; got: $labels"

# Keys, signatures, objects and PINs on partA (tests/lib/p11_token_checks.sh).
pkcs11_tool_key_checks partA partB

# Assign partC on the appliance; setup adds its module; a new process sees it. Nothing restarts.
assign partA partB partC
setup partA partB partC
labels="$(slot_labels)"
[[ "$labels" == $'partA\npartB\npartC' ]] || fail "after assign: want partA..C; got: $labels"

# An in-flight session on partB: pkcs11-tool logs in, opens its session, then blocks reading
# its input from a fifo. Revoke partB while it waits; its next call must fail, not hang.
p11 --token-label partB --login --pin "$USER_PIN" --keypairgen --key-type rsa:2048 --id 02 \
  --label rsaB > /dev/null 2>&1 || fail "RSA keygen on partB"
mkfifo "$W/in.fifo"
exec 7<>"$W/in.fifo"   # read-write: never blocks, and keeps a writer until we close it
as_user timeout 60 pkcs11-tool --module "$PROXY" --token-label partB --login --pin "$USER_PIN" \
  --sign --mechanism SHA256-RSA-PKCS --id 02 -i "$W/in.fifo" -o "$W/revoked.sig" \
  > "$W/inflight.out" 2>&1 &
inflight=$!
# Wait until pkcs11-tool is blocked reading the fifo: it has initialised, logged in and
# opened its session by then (it reads the data to sign last). /proc/PID/syscall shows
# "0 <fd in hex> ..." while it sits in read(2) on that descriptor.
waiting_on_fifo() { pkcs11_tool_reading "$W/in.fifo"; }
deadline=$((SECONDS + 30))
until waiting_on_fifo; do
  ((SECONDS < deadline)) || fail "pkcs11-tool never waited on its input: $(cat "$W/inflight.out")"
  kill -0 "$inflight" 2>/dev/null || fail "pkcs11-tool ended early: $(cat "$W/inflight.out")"
  sleep 0.02
done
pgrep -P "$SERVER_PID" -f 'token=partB' >/dev/null || fail "no p11-kit serving partB while in flight"
assign partA partC
echo data >&7
exec 7>&-
rc=0; wait "$inflight" || rc=$?
((rc != 0 && rc != 124)) || fail "in-flight call after revoke: want a clean failure, rc=$rc: $(cat "$W/inflight.out")"
grep -q "CKR_" "$W/inflight.out" || fail "in-flight failure not reported as a PKCS#11 error (rc=$rc): $(cat "$W/inflight.out")"

# The revoked partition's slot is gone without re-running setup, with a clear message.
labels="$(slot_labels)"
[[ "$labels" == $'partA\npartC' ]] || fail "after revoke: want partA, partC; got: $labels"
grep -q "partition 'partB' is not assigned" "$W/list.err" || fail "no message for revoked partB: $(cat "$W/list.err")"

# Every p11-kit child on the appliance was reaped: none left once the clients are gone.
sleep_until_no_children() {
  local deadline=$((SECONDS + 20))
  while pgrep -P "$SERVER_PID" >/dev/null; do
    ((SECONDS < deadline)) || fail "p11-kit children left behind: $(pgrep -a -P "$SERVER_PID")"
    sleep 0.02
  done
}
sleep_until_no_children
echo "in-flight call after revoke: $(tr "\n" " " < "$W/inflight.out")"
echo PASS
