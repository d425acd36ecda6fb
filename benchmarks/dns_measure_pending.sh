#!/bin/bash
# Runs `dns_measure pending` where the system resolver is 127.0.0.1:53 and nothing there
# answers: in private mount and network namespaces (root; unshare), with a resolv.conf of
# our own bind-mounted over /etc/resolv.conf and a silent UDP/TCP listener on port 53. Only
# the namespace's own loopback exists, so no query can leave the machine.
#   benchmarks/dns_measure_pending.sh bazel-bin/benchmarks/dns_measure
set -euo pipefail
measure="$(realpath "$1")"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
printf 'nameserver 127.0.0.1\n' >"$dir/resolv.conf"
unshare --mount --net bash -c "
  set -e
  ip link set lo up
  mount --bind '$dir/resolv.conf' /etc/resolv.conf
  python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((\"127.0.0.1\", 53))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind((\"127.0.0.1\", 53)); t.listen(16)
open(\"$dir/ready\", \"w\").close()
time.sleep(120)' &
  silent=\$!
  for _ in \$(seq 200); do [[ -e '$dir/ready' ]] && break; sleep 0.05; done
  [[ -e '$dir/ready' ]] || { echo 'the silent name server did not start' >&2; exit 1; }
  '$measure' pending
  kill \$silent
"
