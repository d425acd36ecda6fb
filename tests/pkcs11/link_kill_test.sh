#!/bin/bash
# kill -9 on either side of a client-wide pkcs11 stream leaves nothing broken: the bridge's
# death ends ntlsd's p11-kit child; ntlsd's death ends its child and tells the bridge,
# which waits for its application to finish; a new bridge and a restarted ntlsd serve again.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/pkcs11/link_lib.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/ntlsd_start.sh"

start_appliance
create_partition killA
create_partition killB
assign killA
assign killB
slots_are killA killB

# p11-kit rewrites its argv to "remote -p <module> <uris>"; one child serves both tokens.
children() { pgrep -P "$NTLSD_PID" -f "token=killA pkcs11:token=killB" | wc -l; }
wait_children() {  # N WHAT
  local deadline=$((SECONDS + 20))
  until [[ "$(children)" == "$1" ]]; do
    ((SECONDS < deadline)) || fail "$2: $(children) p11-kit children of ntlsd, want $1: $(pgrep -a -P "$NTLSD_PID")"
    sleep 0.05
  done
}
mkfifo "$W/app"
exec 7<>"$W/app"  # the application's side stays open until the test closes it
bridge() { "$VTL" p11 bridge -server "$SERVER" < "$W/app" 7>&- > /dev/null 2> "$W/bridge.err" & BRIDGE=$!; }

bridge
wait_children 1 "bridge started"
kill -9 "$BRIDGE"; wait "$BRIDGE" 2>/dev/null || true
wait_children 0 "after kill -9 of the bridge"
bridge
wait_children 1 "a second bridge"

old_pid="$NTLSD_PID"
kill -9 "$NTLSD_PID"; wait "$NTLSD_PID" 2>/dev/null || true
deadline=$((SECONDS + 20))
while pgrep -f "token=killA pkcs11:token=killB" > /dev/null; do
  ((SECONDS < deadline)) || fail "p11-kit outlived kill -9 of ntlsd: $(pgrep -af 'token=killA')"
  sleep 0.05
done
deadline=$((SECONDS + 20))
until grep -q "lost the link to server '$SERVER'" "$W/bridge.err"; do
  ((SECONDS < deadline)) || fail "the bridge did not report the lost link: $(cat "$W/bridge.err")"
  sleep 0.05
done
exec 7>&-  # the application finalises
rc=0; wait "$BRIDGE" || rc=$?
[[ $rc != 0 ]] || fail "the bridge exited 0 after losing its stream"

start_ntlsd_at "$W/ntlsd2.log" "$NTLSD" --root "$APP" --name "$SERVER" \
  --listen "$SERVER:$PORT" --threads 2 --log "$W/ntlsd2.log" --status-socket "$SOCKDIR/s2"
NTLSD_PID=$STARTED_PID
[[ "$NTLSD_PID" != "$old_pid" ]] || fail "same ntlsd"
slots_are killA killB
setup
[[ "$(slot_labels | sort | tr '\n' ' ')" == "killA killB " ]] || fail "after the restart: $(slot_labels) $(cat "$W/list.err")"
echo PASS
