# daemon_test.sh: sourced by shell tests that start ntlsd --daemon. It sets strict mode
# and the ERR trap, and defines:
#   fail MESSAGE   prints it, the last 20 lines of $LOG and what the test's own
#                  fail_extra prints (if it defines one), all on stderr, and exits 1;
# and at exit kills the daemon whose pid $PIDFILE holds, runs the test's cleanup_extra
# (if defined) and removes the paths the test added to CLEANUP_PATHS.
# The test sets LOG and PIDFILE before anything can fail.
set -Eeuo pipefail
CLEANUP_PATHS=()
LOG="${LOG:-/dev/null}"
PIDFILE="${PIDFILE:-/dev/null}"

fail() {
  echo "FAIL: $*" >&2
  echo "--- ntlsd log (last 20 lines)" >&2; tail -20 "$LOG" >&2 2>/dev/null || true
  if declare -F fail_extra >/dev/null; then fail_extra >&2 || true; fi
  exit 1
}
trap 'fail "line $LINENO: \"$BASH_COMMAND\" exited $?"' ERR

daemon_test_cleanup() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null
  if declare -F cleanup_extra >/dev/null; then cleanup_extra || true; fi
  rm -rf "${CLEANUP_PATHS[@]}"
}
trap daemon_test_cleanup EXIT
