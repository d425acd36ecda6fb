#!/bin/bash
# kill -9 during ntlsh commands (issue 14, item 5): the registry stays readable and whole,
# and the temp files the killed processes left are removed by the next ntlsh that opens the
# appliance root (the old code kept every one of them).
# 1. A sweep kills `client register` and `client delete` at each of their file-changing
#    system calls in turn (strace).
# 2. A loop kills a cycle of commands (register, partition create, assignPartition,
#    generateott, client delete, partition delete) at random moments.
# Usage: ntlsh_kill_test.sh NTLSH   (CHAOS_KILLS=N sets the random kills; default 60)
set -Eeuo pipefail
source "$(dirname "$0")/chaos_lib.sh"  # the ERR trap, T, fail, abspath, tally
NTLSH="$(abspath "$1")"
KILLS="${CHAOS_KILLS:-60}"
A="$T/appliance"
export TRUSTLINK_APPLIANCE_ROOT="$A"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=c1 \
  -addext subjectAltName=DNS:c1.example.com -keyout "$T/c1Key.pem" -out "$T/c1.pem" 2>/dev/null
"$NTLSH" sysconf regenCert -name hsm1.example.com >/dev/null
ADD=("$NTLSH" client register -client c1 -hostname c1.example.com -certificate "$T/c1.pem"
  -requirehtl -generateott)
DEL=("$NTLSH" client delete -client c1)
CYCLE=(
  "client register -client c1 -hostname c1.example.com -certificate $T/c1.pem -requirehtl -generateott"
  "partition create -partition p1 -label first"
  "client assignPartition -client c1 -partition p1"
  "htl generateott -client c1"
  "client delete -client c1"
  "partition delete -partition p1 -force"
)

litter=0
check() {  # check WHAT: after a kill
  local ok=1 cmd
  for cmd in "client list" "partition list" "htl show" "ntls ipcheck show"; do
    # shellcheck disable=SC2086
    "$NTLSH" $cmd >"$T/check" 2>&1 || { ok=0; echo "ntlsh $cmd failed:" >&2; cat "$T/check" >&2; }
  done
  # c1 is registered whole (its show works) or not at all.
  if "$NTLSH" client list 2>/dev/null | grep -q "^c1 "; then
    "$NTLSH" client show -client c1 >"$T/check" 2>&1 ||
      { ok=0; echo "c1 is listed but cannot be shown:" >&2; cat "$T/check" >&2; }
  fi
  local left
  left=$(find "$A" -path "$A/incoming" -prune -o -name '*.tmp*' -print)
  if [[ -n $left ]]; then
    litter=$((litter + 1))
    echo "temp files kept by the next open after $1: $left" >&2
  fi
  tally "$ok" "lost after $1"
}
need_strace
sweep_add_remove check >"$T/sweeps"
sweep_kills=$(cat "$T/sweeps")

landed=0
max_us=$(duration_us "${ADD[@]}")
for ((i = 0; i < KILLS; i++)); do
  # shellcheck disable=SC2206
  argv=("$NTLSH" ${CYCLE[i % ${#CYCLE[@]}]})
  if ! kill_at_random "$max_us" "${argv[@]}"; then landed=$((landed + 1)); fi
  check "random kill $i (${CYCLE[i % ${#CYCLE[@]}]})"
done

echo "ntlsh kill -9: tried $tried (sweep $sweep_kills, random $KILLS, of which $landed landed" \
  "mid-run), survived $survived, lost $lost; temp files kept after the next open: $litter"
[[ $lost == 0 ]] || fail "$lost of $tried kills left the registry unusable"
[[ $litter == 0 ]] || fail "$litter of $tried kills left temp files the next open kept"
