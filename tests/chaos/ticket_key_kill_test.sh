#!/bin/bash
# kill -9 during a ticket key rotation (issue 16, "Storms") leaves the old keys or the new
# ones, never a mix, a half-written file or one others can read: a sweep kills the rotation
# at each of its file-changing system calls in turn (strace), then a loop kills it at
# random moments. After every kill the file on disk must parse (it is read as ntlsd reads
# it, which also refuses a mode others can read) and hold either the old keys (current
# 01020304, no previous) or the new ones (previous 01020304, a new current).
# Usage: ticket_key_kill_test.sh TICKET_KEY_TOOL
#   CHAOS_KILLS=N sets the random kills (default 40).
set -Eeuo pipefail
source "$(dirname "$0")/chaos_lib.sh"  # the ERR trap, T, fail, abspath, tally
TOOL="$(abspath "$1")"
KILLS="${CHAOS_KILLS:-40}"
D="$T/server"
mkdir -m 700 "$D"
OLD=01020304
old_seen=0; new_seen=0

# old_or_new: the file holds the old keys or the rotated ones, at mode 600.
old_or_new() {
  local state mode
  state="$("$TOOL" show "$D")" || fail "after $1: the key file is unusable: $state"
  mode="$(stat -c %a "$D/ticketKeys")"
  [[ "$mode" == 600 ]] || fail "after $1: the key file has mode $mode"
  if [[ "$state" == "current=$OLD previous=none" ]]; then
    old_seen=$((old_seen + 1))
  elif [[ "$state" == "current="*" previous=$OLD" && "$state" != "current=$OLD "* ]]; then
    new_seen=$((new_seen + 1))
  else
    fail "after $1: the file holds neither the old keys nor the new: $state"
  fi
}

need_strace
"$TOOL" reset "$D"
"$TOOL" rotate "$D" 2>"$T/err" || fail "rotate failed without a kill: $(cat "$T/err")"
old_or_new "an undisturbed rotation"
(( new_seen == 1 )) || fail "an undisturbed rotation left the old keys"
old_seen=0; new_seen=0

swept=$(sweep old_or_new "$TOOL reset $D" "$TOOL" rotate "$D")
(( swept > 0 )) || fail "the sweep made no kill"

us=$(duration_us "$TOOL" rotate "$D")
landed=0
for ((i = 0; i < KILLS; i++)); do
  "$TOOL" reset "$D"
  if ! kill_at_random $((us * 2)) "$TOOL" rotate "$D"; then landed=$((landed + 1)); fi
  old_or_new "random kill $i"
done
echo "PASS: $swept kills at file-changing system calls and $landed of $KILLS random kills" \
  "during a rotation; every one left the old keys ($old_seen) or the new ($new_seen), mode 600"
