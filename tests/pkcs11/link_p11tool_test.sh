#!/bin/bash
# End to end over the real link with GnuTLS's p11tool: both assigned partitions are listed
# (one module and one stream for the server: GnuTLS keeps only one module per CK_INFO, so
# with a module per partition it showed only the first), generate a P-256 key, sign and
# verify on the token, export the public key for openssl, and a wrong PIN. Then vtl p11's
# refusals (usage, a relative bridge path, an unassigned partition, setup with the
# appliance down).
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/pkcs11/link_lib.sh"

start_appliance
create_partition web
create_partition web2
assign web
assign web2
slots_are web web2
setup

export GNUTLS_PIN="$USER_PIN"
as_user p11tool --list-tokens > "$W/tokens" 2>&1 || fail "list tokens: $(cat "$W/tokens")"
grep -q 'Label: web$' "$W/tokens" || fail "token web not listed: $(cat "$W/tokens")"
grep -q 'Label: web2$' "$W/tokens" || fail "token web2 not listed: $(cat "$W/tokens")"
[[ "$(grep -c 'Model: SoftHSM' "$W/tokens")" == 2 ]] || fail "want exactly two partition tokens: $(cat "$W/tokens")"
as_user p11tool --list-token-urls > "$W/urls" 2>&1 || fail "list token URLs: $(cat "$W/urls")"

# Keys, signing and a wrong PIN on web (tests/lib/p11_token_checks.sh).
p11tool_key_checks web

# Revoked: the token is no longer listed, the other still is.
revoke web
slots_are web2
as_user p11tool --list-token-urls > "$W/urls2" 2>&1 || true
if grep -q 'token=web;\|token=web$' "$W/urls2"; then fail "token web still listed after revoke: $(cat "$W/urls2")"; fi
grep -q 'token=web2' "$W/urls2" || fail "token web2 gone after revoking web: $(cat "$W/urls2")"
revoke web2
slots_are
# vtl p11's refusals: each with its exit code and a message that says what to do; the
# bridge never writes to stdout (p11-kit's RPC) when it fails.
expect_vtl 2 "usage" nosuch
expect_vtl 2 "give -server NAME" bridge -partition web
expect_vtl 2 "unknown option -bogus" setup -bogus x
expect_vtl 1 "absolute path" setup -dir "$MODULES" -bridge relative/vtl
expect_vtl 4 "partition 'web' is not assigned to this client" bridge -server "$SERVER" -partition web
[[ ! -s "$W/vtl.out" ]] || fail "the bridge wrote to stdout: $(cat "$W/vtl.out")"
expect_vtl 4 "no partition is assigned to this client on server '$SERVER'" bridge -server "$SERVER"
expect_vtl 4 "server 'hsm9' is not configured on this client" bridge -server hsm9
[[ ! -s "$W/vtl.out" ]] || fail "the bridge wrote to stdout: $(cat "$W/vtl.out")"

# With the appliance down, setup writes nothing rather than drop that server's modules.
assign web
slots_are web
setup
[[ -f "$MODULES/trustlink-$SERVER.module" ]] || fail "no module for the server"
kill -TERM "$NTLSD_PID"; wait "$NTLSD_PID" || fail "ntlsd did not stop cleanly"; NTLSD_PID=""
expect_vtl 7 "nothing written" setup -dir "$MODULES"
[[ -f "$MODULES/trustlink-$SERVER.module" ]] || fail "setup removed a module while its server was down"
echo PASS
