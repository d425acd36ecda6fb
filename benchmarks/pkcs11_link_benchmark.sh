#!/bin/bash
# PKCS#11 signs per second through the real link against SoftHSM2 directly, in one run:
#   bazel run -c opt //benchmarks:pkcs11_link_benchmark [-- --benchmark_filter=...]
#   TL_BENCH_HOPS=1 bazel run -c opt //benchmarks:pkcs11_link_benchmark [-- --signs N --rounds R]
#     counts each hop of an RPC instead (benchmarks/pkcs11_hops.py, docs/pkcs11.md)
# Starts ntlsd on a loopback port the kernel picks, makes partition "bench" with its token
# (ntlsh), enrols a client (vtl) and writes its p11-kit module config (vtl p11 setup), then
# runs //benchmarks:pkcs11_benchmark in its real-link mode. Everything lives in a temporary
# directory that is removed at exit.
set -euo pipefail
abspath() { (cd "$(dirname "$1")" && echo "$(pwd -P)/$(basename "$1")"); }
NTLSD="$(abspath "$1")"; NTLSH="$(abspath "$2")"; VTL="$(abspath "$3")"; BENCH="$(abspath "$4")"
shift 4
W="$(mktemp -d /tmp/p11linkbench.XXXXXX)"
PID=""
trap '[[ -n "$PID" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$W"' EXIT
APP="$W/appliance"
export TRUSTLINK_CLIENT_ROOT="$W/client"
"$NTLSD" --root "$APP" --name 127.0.0.1 --listen 127.0.0.1:0 --threads 2 \
  --log "$W/ntlsd.log" --status-socket "$W/s" &
PID=$!
for _ in $(seq 1 200); do grep -q ready "$W/ntlsd.log" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$W/ntlsd.log" || { cat "$W/ntlsd.log"; exit 1; }
PORT="$(python3 tests/lib/ntlsd_status.py "$W/s" --port)"
(umask 077; echo 12345678 > "$W/so.pin"; echo 87654321 > "$W/user.pin")
"$NTLSH" --root "$APP" sysconf exportCert -file "$W/server.pem" >/dev/null
"$VTL" createCert -n 127.0.0.1 >/dev/null
"$VTL" addServer -n 127.0.0.1 -c "$W/server.pem" -p "$PORT" >/dev/null
"$NTLSH" --root "$APP" client register -client bench -ip 127.0.0.1 \
  -certificate "$TRUSTLINK_CLIENT_ROOT/cert/client/127.0.0.1.pem" >/dev/null
"$NTLSH" --root "$APP" partition create -partition bench -sopinfile "$W/so.pin" \
  -userpinfile "$W/user.pin" >/dev/null
"$NTLSH" --root "$APP" client assignPartition -client bench -partition bench >/dev/null
for _ in $(seq 1 200); do "$VTL" listSlots 2>/dev/null | grep -q ' bench .*ready' && break; sleep 0.05; done
export HOME="$W/home"
MODULES="$HOME/.config/pkcs11/modules"
mkdir -p "$MODULES"
for m in softhsm2 opensc-pkcs11; do  # only the bridged partition in the proxy's slot list
  printf 'module: %s\nenable-in: trustlink-bench-none\n' "$m" > "$MODULES/$m.module"
done
"$VTL" p11 setup -dir "$MODULES" >/dev/null
if [[ -n "${TL_BENCH_HOPS:-}" ]]; then  # per-hop counts instead (benchmarks/pkcs11_hops.py)
  TL_BENCH_LINK_HOME="$HOME" TL_BENCH_LINK_SOFTHSM2_CONF="$APP/pkcs11/softhsm2.conf" \
    python3 benchmarks/pkcs11_hops.py --bench "$BENCH" --ntlsd "$PID" "$@"
  exit
fi
TL_BENCH_LINK_HOME="$HOME" TL_BENCH_LINK_SOFTHSM2_CONF="$APP/pkcs11/softhsm2.conf" \
  "$BENCH" "$@"

# Process start: a whole `pkcs11-tool -L` (C_Initialize, the slot list, C_Finalize) through
# the link (p11-kit-proxy starts vtl p11 bridge, which makes its link and opens the stream;
# ntlsd starts p11-kit remote) against SoftHSM2 loaded directly, and the link alone
# (`vtl listSlots`: load the client root, mTLS handshake, the slot list). Medians of
# TL_BENCH_STARTS runs (default 15), interleaved.
as_user() { if [[ "$(id -u)" == 0 ]]; then unshare --user --map-user=1000 --map-group=1000 "$@"; else "$@"; fi; }
PROXY=/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || return 1; t1=$(date +%s%N); echo $(((t1 - t0) / 1000)); }
declare -a link=() direct=() vtlonly=()
for _ in $(seq 1 "${TL_BENCH_STARTS:-15}"); do
  link+=("$(ms as_user pkcs11-tool --module "$PROXY" -L)") || { echo "pkcs11-tool through the link failed"; exit 1; }
  direct+=("$(SOFTHSM2_CONF="$APP/pkcs11/softhsm2.conf" ms as_user pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so -L)")
  vtlonly+=("$(ms "$VTL" listSlots)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
printf 'process start, median of %d (us): pkcs11-tool -L through the link %s, SoftHSM2 direct %s, vtl listSlots (link alone) %s\n' \
  "${#link[@]}" "$(median "${link[@]}")" "$(median "${direct[@]}")" "$(median "${vtlonly[@]}")"
