#!/bin/bash
# End to end with GnuTLS's p11tool. GnuTLS loads p11-kit's registered modules itself (it
# refuses p11-kit-proxy.so as a provider) and skips a module whose CK_INFO equals one it
# already has, so with SoftHSM2 behind every partition it shows the first partition's module
# only (docs/pkcs11.md). This test therefore uses one partition.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/pkcs11/lib.sh"

create_partition web
start_appliance web
setup web

export GNUTLS_PIN="$USER_PIN"
as_user p11tool --list-token-urls > "$W/urls" 2>&1 || fail "list tokens: $(cat "$W/urls")"
grep -q 'token=web' "$W/urls" || fail "token web not listed: $(cat "$W/urls")"
grep -q 'SoftHSM' "$W/urls" || fail "unexpected token list: $(cat "$W/urls")"
[[ "$(grep -c 'model=SoftHSM' "$W/urls")" == 1 ]] || fail "want exactly one partition token: $(cat "$W/urls")"

# Keys, signing and a wrong PIN on web (tests/lib/p11_token_checks.sh).
p11tool_key_checks web
echo PASS
