#!/bin/bash
# The library's messages name API fixes, never a vtl command (an embedding program has no
# vtl); vtl adds the command that fixes the failure as a "vtl: hint:" line.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail

VTL="$PWD/examples/vtl/vtl"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/hints.XXXXXX")"
ROOT="$WORK/client"
cd "$WORK"
# expect RC API_WORD HINT command...: the command exits RC; its "vtl: error:" line (the
# library's message) names API_WORD and no vtl command; a hint line names HINT.
expect() {
  local want=$1 api=$2 hint=$3; shift 3
  set +e; "$@" >out.txt 2>err.txt; local rc=$?; set -e
  [[ $rc == "$want" ]] || { cat out.txt err.txt >&2; fail "'$*' exited $rc, want $want"; }
  local error; error=$(grep "^vtl: error:" err.txt || true)
  grep -qF -- "$api" <<<"$error" || { cat err.txt >&2; fail "'$*': the message lacks '$api'"; }
  ! grep -qE "(vtl|ntlsh) [a-zA-Z]" <<<"${error#vtl: error:}" ||
    { cat err.txt >&2; fail "'$*': the library's message gives command-line advice"; }
  grep -qF -- "vtl: hint: $hint" err.txt || { cat err.txt >&2; fail "'$*': no hint '$hint'"; }
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=hsm1 \
  -keyout server.key -out server.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=hsm1 \
  -keyout new.key -out new.pem 2>/dev/null
"$VTL" --root "$ROOT" createCert -n web1 >/dev/null
"$VTL" --root "$ROOT" addServer -n hsm1 -c server.pem >/dev/null

expect 3 "force" "vtl createCert -n web1 -force" "$VTL" --root "$ROOT" createCert -n web1
expect 3 "replace" "vtl addServer -n hsm1 -c <server.pem> -replace" \
  "$VTL" --root "$ROOT" addServer -n hsm1 -c new.pem
expect 4 "tl_client_root_list_servers" "vtl listServers" \
  "$VTL" --root "$ROOT" deleteServer -n hsm9

# A CAFile.pem that does not parse: verify's [FAIL] line names the API repair, and the
# report's hint line under it the command.
printf 'not a certificate\n' >"$ROOT/cert/server/CAFile.pem"
set +e; "$VTL" --root "$ROOT" verify -local >out.txt 2>err.txt; rc=$?; set -e
[[ $rc == 6 ]] || { cat out.txt err.txt >&2; fail "verify of a broken CAFile.pem exited $rc, want 6"; }
grep "^\[FAIL\]" out.txt | grep -qF "TL_VERIFY_REPAIR" ||
  { cat out.txt >&2; fail "verify's [FAIL] line does not name TL_VERIFY_REPAIR"; }
! grep "^\[FAIL\]" out.txt | grep -qE "vtl [a-zA-Z]" ||
  { cat out.txt >&2; fail "verify's [FAIL] line gives command-line advice"; }
grep "^ *hint:" out.txt | grep -qF "vtl verify -repair" || { cat out.txt >&2; fail "verify gave no hint"; }
echo PASS
