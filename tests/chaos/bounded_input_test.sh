#!/bin/bash
# Unbounded input (issue 14, item 6): a FIFO, /dev/zero, a huge file or a planted symlink
# given to vtl or ntlsh is refused at once with a clear error; nothing hangs, nothing grows.
# Usage: bounded_input_test.sh VTL NTLSH
set -Eeuo pipefail
source "$(dirname "$0")/chaos_lib.sh"  # the ERR trap, T, fail, abspath
VTL="$(abspath "$1")"
NTLSH="$(abspath "$2")"
tried=0
refused=0
# A cap on address space makes a read that grows fail fast. Sanitizer builds reserve
# terabytes of address space and cannot run under it; there the 10 s bound alone catches a
# reader of /dev/zero (it never ends).
MEM_CAP="ulimit -v 262144"
( $MEM_CAP; exec "$VTL" --help ) >/dev/null 2>&1 || MEM_CAP=":"
# refused_fast WORD command...: the command must fail within 10 s (timeout kills a hang and
# reports it), print WORD on stderr or stdout, and keep its memory under 256 MiB.
refused_fast() {
  local word=$1; shift
  tried=$((tried + 1))
  set +e
  ( $MEM_CAP; exec timeout -s KILL 10 "$@" ) >"$T/out" 2>"$T/err" </dev/null
  local rc=$?
  set -e
  [[ $rc != 0 ]] || { cat "$T/out" "$T/err" >&2; fail "'$*' succeeded; it must refuse"; }
  [[ $rc != 137 ]] || fail "'$*' hung for 10 s (killed)"
  grep -qF -- "$word" "$T/out" "$T/err" ||
    { cat "$T/out" "$T/err" >&2; fail "'$*' exited $rc without saying '$word'"; }
  refused=$((refused + 1))
}

mkfifo "$T/fifo.pem"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'A' >"$T/huge.pem"

# vtl: addServer -c and importConfig -c.
"$VTL" --root "$T/client" createCert -n web1 >/dev/null
refused_fast "FIFO" "$VTL" --root "$T/client" addServer -n hsm1 -c "$T/fifo.pem"
refused_fast "character device" "$VTL" --root "$T/client" addServer -n hsm1 -c /dev/zero
refused_fast "more than the limit" "$VTL" --root "$T/client" addServer -n hsm1 -c "$T/huge.pem"
refused_fast "directory" "$VTL" --root "$T/client" addServer -n hsm1 -c "$T"
refused_fast "FIFO" "$VTL" --root "$T/client" importConfig -c "$T/fifo.pem"

# ntlsh: client register -certificate, and the default incoming/<name>.pem.
export TRUSTLINK_APPLIANCE_ROOT="$T/appliance"
"$NTLSH" sysconf regenCert -name hsm1.example.com >/dev/null
refused_fast "character device" "$NTLSH" client register -client c1 -hostname c1.example.com \
  -certificate /dev/zero
refused_fast "FIFO" "$NTLSH" client register -client c1 -hostname c1.example.com \
  -certificate "$T/fifo.pem"
refused_fast "more than the limit" "$NTLSH" client register -client c1 -hostname c1.example.com \
  -certificate "$T/huge.pem"
# The docs promise that files under the root are never opened through a symlink.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=c2 \
  -addext subjectAltName=DNS:c2.example.com -keyout "$T/c2Key.pem" -out "$T/c2.pem" 2>/dev/null
mkdir -p "$TRUSTLINK_APPLIANCE_ROOT/incoming"
ln -s "$T/c2.pem" "$TRUSTLINK_APPLIANCE_ROOT/incoming/c2.example.com.pem"
refused_fast "symlink" "$NTLSH" client register -client c2 -hostname c2.example.com
ln -s "$T/fifo.pem" "$TRUSTLINK_APPLIANCE_ROOT/incoming/c3.example.com.pem"
refused_fast "symlink" "$NTLSH" client register -client c3 -hostname c3.example.com
# The same certificate as a plain file is accepted, so the refusals above were for the reason.
rm "$TRUSTLINK_APPLIANCE_ROOT/incoming/c2.example.com.pem"
cp "$T/c2.pem" "$TRUSTLINK_APPLIANCE_ROOT/incoming/c2.example.com.pem"
"$NTLSH" client register -client c2 -hostname c2.example.com >"$T/out" 2>&1 ||
  { cat "$T/out" >&2; fail "a plain incoming/c2.example.com.pem was refused"; }

echo "bounded input: tried $tried, refused at once $refused, hung or grew 0"
