#!/bin/bash
# kill -9 during `vtl createCert -force` (issue 14, item 3) never destroys the identity: the
# key and the certificate change together or not at all.
# 1. A sweep kills the command at each of its file-changing system calls in turn (strace),
#    so every step of the update is interrupted once; the first createCert in an empty
#    root is swept the same way (a whole, configured identity or none).
# 2. A loop kills it at random moments.
# After every kill the files on disk (before any vtl runs again) must hold a key that belongs
# to the certificate, and the next vtl command must leave no temp file or generation behind.
# Usage: identity_kill_test.sh VTL
#   CHAOS_KILLS=N sets the random kills (default 60); CHAOS_MIN_LANDED=M goes on until M of
#   them landed while createCert was running (the manual 200-kill run: CHAOS_MIN_LANDED=200).
set -Eeuo pipefail
source "$(dirname "$0")/chaos_lib.sh"  # the ERR trap, T, fail, abspath, tally
VTL="$(abspath "$1")"
KILLS="${CHAOS_KILLS:-60}"
MIN_LANDED="${CHAOS_MIN_LANDED:-0}"
R="$T/client"
NAME=c.example

# intact: the key on disk is the private half of the certificate on disk.
intact() { key_belongs_to_cert "$R/cert/client/$NAME.pem" "$R/cert/client/${NAME}Key.pem"; }
# clean_after_open: the next vtl command runs, reports the identity, and leaves no temp
# file, uncommitted generation or journal.
clean_after_open() {
  "$VTL" --root "$R" show >"$T/show" 2>&1 || { cat "$T/show" >&2; return 1; }
  grep -q "Client identity: $NAME" "$T/show" || { cat "$T/show" >&2; return 1; }
  local left
  left=$(find "$R" -name '*.tmp.*' -o -name '.client.next' -o -name '.client.prev' \
    -o -name '.journal.*')
  [[ -z $left ]] || { echo "left behind: $left" >&2; return 1; }
}


litter=0
check() {  # check WHAT: after a kill
  local ok=1
  intact || ok=0
  if ! clean_after_open; then
    litter=$((litter + 1))
    echo "temp files or generations left after the next open, after $1" >&2
  fi
  intact || ok=0
  tally "$ok" "broken identity after $1"
  [[ $ok == 1 ]] || ls -la "$R/cert/client" >&2 || true
}

# check_first WHAT: after a kill of the first createCert in an empty root, the next vtl
# finds a whole, configured identity or none at all (and then a createCert without -force
# works): never key or certificate files that trustlink.conf does not name.
check_first() {
  local ok=1
  if "$VTL" --root "$R" show >"$T/show" 2>&1 && grep -q "Client identity: $NAME" "$T/show"; then
    intact || ok=0
  elif [[ -n $(find "$R/cert/client" -name "$NAME*" 2>/dev/null) ]]; then
    ok=0
    echo "identity files that trustlink.conf does not name" >&2
  fi
  if [[ -d $R && -n $(find "$R" -name '*.tmp.*' -o -name '.client.next' -o -name '.journal.*') ]]; then
    litter=$((litter + 1))
    echo "temp files or generations left after the next open, after $1" >&2
  fi
  tally "$ok" "broken identity after $1"
}

need_strace
sweep check_first "rm -rf $R" "$VTL" --root "$R" createCert -n "$NAME" >"$T/sweep"
sweep=$(cat "$T/sweep")
sweep check : "$VTL" --root "$R" createCert -n "$NAME" -force >"$T/sweep"
sweep=$((sweep + $(cat "$T/sweep")))
intact || fail "the identity is not intact after an undisturbed createCert -force"

max_us=$(duration_us "$VTL" --root "$R" createCert -n "$NAME" -force)
landed=0
for ((i = 0; i < KILLS || landed < MIN_LANDED; i++)); do
  ((i < 10 * KILLS + 10 * MIN_LANDED)) || fail "only $landed of $i kills landed mid-run"
  if ! kill_at_random "$max_us" "$VTL" --root "$R" createCert -n "$NAME" -force; then
    landed=$((landed + 1))
  fi
  check "random kill $i"
done

echo "createCert (first and -force) kill -9: tried $tried (sweep $sweep calls, random $i, of which" \
  "$landed landed mid-run), survived $survived, broken $lost; litter left after the next" \
  "open: $litter"
[[ $lost == 0 ]] || fail "$lost of $tried kills broke the identity"
[[ $litter == 0 ]] || fail "$litter of $tried kills left temp files that the next open kept"
