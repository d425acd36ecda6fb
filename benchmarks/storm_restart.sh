#!/bin/bash
# storm_restart.sh PIDFILE NTLSD ARGS...: the storm benchmark's `kill -9` restart. It
# kills the ntlsd whose pid PIDFILE holds and, as soon as that process has exited, runs
# `NTLSD ARGS...` (a `--daemon` start on the same root and port).
#
# "Exited" is what the new daemon needs: the kernel closes a process's descriptors (the
# instance lock, the listening socket) when its last thread exits, before the process
# becomes a zombie. This step used to wait for the pid to vanish instead, which is when
# the dead daemon's parent reaps it, and a daemon's parent is whatever the system
# reparents orphans to: systemd reaps at once, this build machine's init about every 2 s.
# So the benchmark reported "ntlsd served again 1849 ms after the restart began" where
# ntlsd's own start took about 50 ms (`//benchmarks:storm_restart_test`).
#
# Prints one line on stderr: how long the old process took to exit and the new one to
# serve. Exit status: the start's, or 1 when the old process has not exited 10 s after
# the kill (the start is then not tried: it would be refused by the lock).
set -uo pipefail
PIDFILE="$1"; shift

# exited PID: true once PID's last thread has exited (the process is a zombie with no
# other thread left, or gone). Only builtins: it is polled every 5 ms.
exited() {
  local key value state="" threads=""
  while read -r key value; do
    case "$key" in
      State:) state="${value%% *}" ;;
      Threads:) threads="$value" ;;
    esac
  done <"/proc/$1/status" 2>/dev/null || return 0
  [[ $state == Z || $state == X ]] && [[ $threads == 1 ]]
}

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

pid="$(cat "$PIDFILE")" || { echo "storm_restart: cannot read the pid file $PIDFILE" >&2; exit 1; }
start_ns="$(date +%s%N)"
kill -9 "$pid" || { echo "storm_restart: cannot kill ntlsd pid $pid (from $PIDFILE)" >&2; exit 1; }
until exited "$pid"; do
  if (( $(ms_since "$start_ns") > 10000 )); then
    echo "storm_restart: ntlsd pid $pid has not exited 10 s after kill -9 (state:" \
      "$(grep -E '^(State|Threads)' "/proc/$pid/status" 2>/dev/null | tr -s '\t\n' '  '))" >&2
    exit 1
  fi
  sleep 0.005
done
exit_ms="$(ms_since "$start_ns")"
"$@"
status=$?
echo "storm_restart: ntlsd pid $pid exited ${exit_ms} ms after kill -9; the new one" \
  "$( ((status == 0)) && echo "served after $(ms_since "$start_ns") ms" || echo "failed to start (exit $status)")" >&2
exit "$status"
