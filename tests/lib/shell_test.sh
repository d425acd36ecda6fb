# What a shell test starts with; source it first. Strict mode, and an ERR trap that names the
# command and line that stopped the test under set -e (set -E: inside functions too), and
# stays quiet for failures a test expects (set +e, conditions, command substitutions).
# Then fail, abspath, expect and wait_until.
set -Eeuo pipefail
# A shell test prints why it failed: a command that stops it under set -e is named here.
trap 'rc=$?; [[ $- == *e* ]] && echo "FAIL: ${BASH_SOURCE[0]##*/}:$LINENO: \`$BASH_COMMAND\` exited $rc" >&2' ERR

# fail MESSAGE...: says why on stderr and ends the test. A test with logs to show defines its
# own after sourcing this.
fail() { echo "FAIL: $*" >&2; exit 1; }

# abspath FILE: FILE as an absolute path, for programs run from another directory (p11-kit
# runs the bridge by absolute path; a test may cd or re-exec).
abspath() { (cd "$(dirname "$1")" && echo "$(pwd -P)/$(basename "$1")"); }

# expect RC TEXT CMD...: runs CMD, which must exit RC and say TEXT (stdout and stderr, kept
# in $W/out).
expect() {
  local want="$1" text="$2"; shift 2
  set +e; "$@" >"$W/out" 2>&1; local rc=$?; set -e
  [[ $rc == "$want" ]] || fail "$* exited $rc, want $want: $(cat "$W/out")"
  grep -q -- "$text" "$W/out" || fail "$*: no '$text' in: $(cat "$W/out")"
}

# wait_until SECONDS WHAT CMD...: runs CMD every 0.1 s until it succeeds, or fails at the
# deadline saying WHAT did not happen. For state another process changes: one sample right
# after an action proves nothing either way.
wait_until() {
  local limit="$1" what="$2"; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || fail "$what: not within $limit s"
    sleep 0.1  # polling under a deadline
  done
}
