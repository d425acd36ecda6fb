#!/bin/bash
# PKCS#11 over the link when the appliance requires HTL: with the client's HTL agent
# (htlclient) up, the partition is a slot and signs; without the agent the slot is gone and
# both vtl verify and the application are told why. (A client without HTL at all, where the
# appliance requires it, is covered in link_pkcs11_tool_test.)
# Arguments: ntlsd ntlsh vtl htlclient.
HTLCLIENT="$(cd "$(dirname "$4")" && echo "$(pwd -P)/$(basename "$4")")"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/pkcs11/link_lib.sh"

# The agent keeps its secrets on tmpfs and serves proofs under XDG_RUNTIME_DIR, where vtl
# (the bridge too: p11-kit passes the application's environment on) finds it.
export XDG_RUNTIME_DIR="$(mktemp -d /dev/shm/p11htl.XXXXXX)"
AGENT_PID=""
cleanup_htl() {
  [[ -n "$AGENT_PID" ]] && { kill -TERM "$AGENT_PID" 2>/dev/null || true; wait "$AGENT_PID" 2>/dev/null || true; }
  rm -rf "$XDG_RUNTIME_DIR"
  cleanup
}
trap cleanup_htl EXIT
start_agent() {
  "$HTLCLIENT" -root "$TRUSTLINK_CLIENT_ROOT" -interval 500 >>"$W/agent.log" 2>&1 &
  AGENT_PID=$!
  local deadline=$((SECONDS + 20))
  until grep -q watching "$W/agent.log"; do
    ((SECONDS < deadline)) || fail "htlclient did not start: $(cat "$W/agent.log")"
    sleep 0.05
  done
}

# start_appliance enrols web1 without HTL; re-do it with HTL on both sides.
start_appliance
"$VTL" addServer -n "$SERVER" -c "$W/server.pem" -p "$PORT" -htl -replace >/dev/null
ntlsh client delete -client web1 >/dev/null
ntlsh client register -client web1 -ip 127.0.0.1 -requirehtl -generateott \
  -certificate "$TRUSTLINK_CLIENT_ROOT/cert/client/$SERVER.pem" > "$W/register.out" 2>&1 ||
  fail "register -requirehtl: $(cat "$W/register.out")"
create_partition htlpart
assign htlpart
mkdir -p -m 700 "$TRUSTLINK_CLIENT_ROOT/htl"
start_agent
cp "$APP/outgoing/$SERVER.ott" "$TRUSTLINK_CLIENT_ROOT/htl/$SERVER.ott"
slots_are htlpart   # HTL up: the application link (with its proof) lists the partition
setup
[[ "$(slot_labels)" == "htlpart" ]] || fail "no htlpart slot over an HTL link: $(cat "$W/list.err")"
tok=(--token-label htlpart --login --pin "$USER_PIN")
p11 "${tok[@]}" --keypairgen --key-type EC:prime256v1 --id 01 --label ec1 > "$W/gen" 2>&1 ||
  fail "EC keygen over HTL: $(cat "$W/gen")"
printf 'over HTL\n' > "$W/data"
openssl dgst -sha256 -binary "$W/data" > "$W/data.sha256"
p11 "${tok[@]}" --sign --mechanism ECDSA --id 01 --signature-format openssl \
  -i "$W/data.sha256" -o "$W/ec.sig" > "$W/sign" 2>&1 || fail "sign over HTL: $(cat "$W/sign")"
p11 --token-label htlpart --read-object --type pubkey --id 01 -o "$W/ec.pub.der" 2>/dev/null ||
  fail "read public key"
openssl pkey -pubin -inform DER -in "$W/ec.pub.der" -out "$W/ec.pub.pem"
openssl dgst -sha256 -verify "$W/ec.pub.pem" -signature "$W/ec.sig" "$W/data" | grep -q "Verified OK" ||
  fail "openssl did not verify the signature made over HTL"

# No agent: no proof, no link, no slot; vtl verify and the application say to start it.
kill -TERM "$AGENT_PID"; wait "$AGENT_PID" || true; AGENT_PID=""
rc=0; "$VTL" verify > "$W/verify.out" 2>&1 || rc=$?
[[ $rc == 6 ]] || fail "vtl verify without the agent: exit $rc: $(cat "$W/verify.out")"
grep -q "htlclient" "$W/verify.out" || fail "vtl verify does not name the agent: $(cat "$W/verify.out")"
[[ -z "$(slot_labels)" ]] || fail "a slot without the HTL agent"
grep -q "htlclient" "$W/list.err" || fail "the application is not told to start htlclient: $(cat "$W/list.err")"
echo "without the agent, pkcs11-tool -L says: $(tr '\n' ' ' < "$W/list.err")"
echo PASS
