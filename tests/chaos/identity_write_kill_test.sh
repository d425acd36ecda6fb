#!/bin/bash
# kill -9 during tl_identity_write(force) (the C ABI call, not vtl) never leaves a key beside
# a certificate it does not belong to: a sweep kills identity_write_probe at each of its
# file-changing system calls in turn (strace), so every step is interrupted once, including
# the issue's `inject=renameat:...:when=2`. After every kill, before anything runs again, the
# directory holds the old identity or the new one, with its other files; the next write
# leaves no generation behind. A directory the call cannot carry over is refused, unchanged.
# Usage: identity_write_kill_test.sh IDENTITY_WRITE_PROBE
set -Eeuo pipefail
source "$(dirname "$0")/chaos_lib.sh"  # the ERR trap, T, fail, abspath, tally
PROBE="$(abspath "$1")"
D="$T/keys/id"

fingerprint() { openssl x509 -in "$D/probe.pem" -noout -fingerprint -sha256 2>/dev/null; }
# intact: the key on disk is the private half of the certificate on disk.
intact() { key_belongs_to_cert "$D/probe.pem" "$D/probeKey.pem"; }

old=0
before=""
prep() { before=$(fingerprint); }
check() {  # check WHAT: after a kill, before anything else runs
  local ok=0
  if intact && [[ $(cat "$D/notes.txt" 2>/dev/null) == "kept" ]] &&
    [[ $(stat -c %a "$D/probeKey.pem") == 600 ]]; then
    ok=1
    if [[ $(fingerprint) == "$before" ]]; then old=$((old + 1)); fi
  fi
  tally "$ok" "broken identity directory after $1:"
  [[ $ok == 1 ]] || ls -la "$D" >&2 || true
}

need_strace
"$PROBE" "$D" >/dev/null || fail "the first tl_identity_write(force) into a new directory failed"
echo kept >"$D/notes.txt"
chmod 700 "$D"
intact || fail "the identity is not intact after an undisturbed write"
sweep check prep "$PROBE" "$D" >"$T/sweep"
sweep=$(cat "$T/sweep")
echo "tl_identity_write(force) kill -9: tried $tried (sweep of $sweep system calls), survived" \
  "$survived ($old with the old identity, $((survived - old)) with the new), broken $lost"
[[ $lost == 0 ]] || fail "$lost of $tried kills left a key beside a certificate it does not belong to"
[[ $tried -gt 10 ]] || fail "the sweep made only $tried kills; strace did not reach the writes"
"$PROBE" "$D" >/dev/null || fail "an undisturbed write after the sweep failed"
intact || fail "the identity is not intact after the last undisturbed write"
left=$(find "$T/keys" -mindepth 1 -maxdepth 1 -name '.id.*' ! -name '.id.lock')
[[ -z $left ]] || fail "the next write left an old or uncommitted generation: $left"
[[ $(stat -c %a "$D") == 700 ]] || fail "the directory lost its mode 700: $(stat -c %a "$D")"

# A subdirectory cannot be carried into the new generation: refused, naming it, unchanged.
mkdir "$D/sub"
was=$(fingerprint)
if "$PROBE" "$D" >"$T/out" 2>"$T/err"; then fail "a directory with a subdirectory was replaced"; fi
grep -q "sub" "$T/err" || { cat "$T/err" >&2; fail "the refusal does not name the subdirectory"; }
[[ $(fingerprint) == "$was" && -d $D/sub ]] || fail "the refused write changed the directory"

