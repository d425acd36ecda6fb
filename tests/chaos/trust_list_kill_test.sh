#!/bin/bash
# kill -9 during `vtl addServer` and `vtl deleteServer` (issue 14, item 4) leaves
# trustlink.conf, cert/server/<name>Cert.pem and CAFile.pem in agreement.
# 1. A sweep kills each command at each of its file-changing system calls in turn (strace).
# 2. A loop kills addServer and deleteServer, alternately, at random moments.
# After every kill: cert/server agrees with CAFile.pem on disk (before any vtl runs again),
# and once the next vtl command has opened the root, trustlink.conf lists exactly the
# servers whose certificates are trusted, with the port and HTL setting asked for, and no
# temp file, generation or journal is left.
# Usage: trust_list_kill_test.sh VTL   (CHAOS_KILLS=N sets the random kills; default 30)
set -Eeuo pipefail
source "$(dirname "$0")/chaos_lib.sh"  # the ERR trap, T, fail, abspath, tally
VTL="$(abspath "$1")"
KILLS="${CHAOS_KILLS:-30}"
R="$T/client"
S="$R/cert/server"

fingerprints() {  # fingerprints FILE: the SHA-256 of each certificate in a PEM bundle
  awk -v dir="$T/split" 'BEGIN{n=0} /BEGIN CERT/{n++; f=dir "/" n ".pem"} n{print > f}' "$1"
  local c
  for c in "$T"/split/*.pem; do
    [[ -e $c ]] || continue
    openssl x509 -in "$c" -noout -fingerprint -sha256 | cut -d= -f2
    rm -f "$c"
  done
}
# store_agrees: every named file is in CAFile.pem and CAFile.pem holds nothing else.
store_agrees() {
  mkdir -p "$T/split"
  local named="" f
  for f in "$S"/*Cert.pem; do
    [[ -e $f ]] || continue
    named+="$(openssl x509 -in "$f" -noout -fingerprint -sha256 | cut -d= -f2)"$'\n'
  done
  local cafile=""
  [[ -f $S/CAFile.pem ]] && cafile=$(fingerprints "$S/CAFile.pem")
  [[ "$(sort -u <<<"$named" | sed '/^$/d')" == "$(sort -u <<<"$cafile" | sed '/^$/d')" ]]
}
# config_agrees: trustlink.conf lists exactly the named servers, hsm2 with port 1800 and HTL.
config_agrees() {
  local files conf
  files=$(cd "$S" && ls -1 -- *Cert.pem 2>/dev/null | sed 's/Cert\.pem$//' | sort)
  conf=$(sed -n 's/^ *ServerName[0-9]* = \(.*\);$/\1/p' "$R/trustlink.conf" | sort)
  [[ "$files" == "$conf" ]] || { echo "named files: [$files] config: [$conf]" >&2; return 1; }
  if grep -q "ServerName\([0-9]*\) = hsm2;" "$R/trustlink.conf"; then
    local idx
    idx=$(sed -n 's/^ *ServerName\([0-9]*\) = hsm2;$/\1/p' "$R/trustlink.conf")
    grep -q "ServerPort$idx = 1800;" "$R/trustlink.conf" || { echo "hsm2 lost its port" >&2; return 1; }
    grep -q "ServerHtl$idx = 1;" "$R/trustlink.conf" || { echo "hsm2 lost HTL" >&2; return 1; }
  fi
}
no_litter() {
  local left
  left=$(find "$R" -name '*.tmp.*' -o -name '.server.next' -o -name '.server.prev' \
    -o -name '.journal.*')
  [[ -z $left ]] || { echo "left behind: $left" >&2; return 1; }
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=hsm1 \
  -keyout "$T/k1" -out "$T/s1.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=hsm2 \
  -keyout "$T/k2" -out "$T/s2.pem" 2>/dev/null
"$VTL" --root "$R" createCert -n web1 >/dev/null
"$VTL" --root "$R" addServer -n hsm1 -c "$T/s1.pem" >/dev/null
ADD=("$VTL" --root "$R" addServer -n hsm2 -c "$T/s2.pem" -p 1800 -htl)
DEL=("$VTL" --root "$R" deleteServer -n hsm2)

check() {  # check WHAT: after a kill
  local ok=1
  store_agrees || { ok=0; echo "cert/server and CAFile.pem disagree on disk" >&2; }
  "$VTL" --root "$R" listServers >"$T/list" 2>&1 || { ok=0; cat "$T/list" >&2; }
  store_agrees || { ok=0; echo "cert/server and CAFile.pem disagree after the open" >&2; }
  config_agrees || { ok=0; echo "trustlink.conf disagrees with cert/server" >&2; }
  no_litter || ok=0
  "$VTL" --root "$R" verify -local >"$T/verify" 2>&1 || { ok=0; cat "$T/verify" >&2; }
  tally "$ok" "inconsistent after $1"
}
need_strace
sweep_add_remove check >"$T/sweeps"
sweep_kills=$(cat "$T/sweeps")

random_add_remove check "$KILLS"
landed=$LANDED

echo "addServer/deleteServer kill -9: tried $tried (sweep $sweep_kills, random $KILLS, of" \
  "which $landed landed mid-run), survived $survived, lost $lost"
[[ $lost == 0 ]] || fail "$lost of $tried kills left the trust list inconsistent"
