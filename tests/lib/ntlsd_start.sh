# start_ntlsd_at LOG CMD...: runs CMD, an ntlsd command line that logs to LOG, in the
# background, its stderr appended to LOG too so a failed start shows in one place. Returns
# once LOG has one more "ntlsd: ready" line than before, with STARTED_PID set.
#
# A port picked earlier (freed by a killed ntlsd, or read off a closed socket) can be busy
# for a moment: the kernel hands free ports to other tests' connects, and a storm test makes
# thousands. A bind refused with "in use" is retried on the same port until the deadline;
# any other exit fails the test. Needs fail (tests/lib/shell_test.sh or the test's own).
start_ntlsd_at() {
  local log="$1"; shift
  local deadline=$((SECONDS + 20)) before
  while :; do
    before=$(grep -c "ntlsd: ready" "$log" 2>/dev/null || true)
    # shellcheck disable=SC2094
    "$@" 2>>"$log" &
    STARTED_PID=$!
    while (($(grep -c "ntlsd: ready" "$log" 2>/dev/null || true) <= before)); do
      if ! kill -0 "$STARTED_PID" 2>/dev/null; then
        local rc=0; wait "$STARTED_PID" || rc=$?
        tail -3 "$log" | grep -qi "in use" ||
          fail "ntlsd exited $rc at start: $(tail -5 "$log")"
        ((SECONDS < deadline)) || fail "its port stayed busy for 20 s: $(tail -3 "$log")"
        sleep 0.1  # the port is busy for a moment: the same port again, bounded by the deadline
        continue 2
      fi
      ((SECONDS < deadline)) || fail "ntlsd not ready within 20 s: $(tail -5 "$log")"
      sleep 0.02  # polling the log for readiness, bounded by the deadline
    done
    return 0
  done
}
