# What the PKCS#11 shell tests share on the client side (tests/pkcs11, tests/ha). Source it
# first; it brings shell_test.sh (strict mode and the ERR trap, so a test says why it
# failed; fail; abspath).
source "$(dirname "${BASH_SOURCE[0]}")/shell_test.sh"

PROXY=/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so
SO_PIN=12345678
USER_PIN=87654321

# p11 ARGS...: OpenSC's pkcs11-tool through p11-kit-proxy.so, as the application runs it.
p11() { as_user pkcs11-tool --module "$PROXY" "$@"; }

# slot_labels: the token labels pkcs11-tool sees, one per line, in slot order; why a label is
# missing is in $W/list.err.
slot_labels() {
  { p11 -L 2>"$W/list.err" || true; } | sed -n 's/^ *token label *: *//p' | sed 's/ *$//'
}

# p11-kit ignores user configs in processes running as root. Under root, run the client
# tools in a user namespace as uid 1000 (same files, same privileges, getuid() != 0).
as_user() {
  if [[ "$(id -u)" == 0 ]]; then
    unshare --user --map-user=1000 --map-group=1000 "$@"
  else
    "$@"
  fi
}

# only_our_modules DIR: slots must be exactly the test's: switch off the modules this
# machine registers system-wide (SoftHSM2's default token, OpenSC, ...) in DIR, the test
# HOME's module directory. A user config with the same name replaces the system one.
only_our_modules() {
  local m
  for m in softhsm2 opensc-pkcs11 "${@:2}"; do
    printf 'module: %s\nenable-in: trustlink-test-none\n' "$m" > "$1/$m.module"
  done
  as_user true || fail "cannot run client tools as a non-root user (unshare --user failed)"
}

# expect_vtl RC TEXT ARGS...: `vtl p11 ARGS` exits RC and says TEXT on stderr ($VTL, $W).
expect_vtl() {
  local want="$1" text="$2"; shift 2
  local rc=0
  "$VTL" p11 "$@" < /dev/null > "$W/vtl.out" 2> "$W/vtl.err" || rc=$?
  [[ $rc == "$want" ]] || fail "vtl p11 $*: exit $rc, want $want: $(cat "$W/vtl.out" "$W/vtl.err")"
  grep -q -- "$text" "$W/vtl.err" || fail "vtl p11 $*: no '$text' in: $(cat "$W/vtl.err")"
}

source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/fifo_wait.sh"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/p11_token_checks.sh"
