# Shared by the tests in tests/chaos that run vtl, ntlsh or a probe directly (the kill -9
# tests and bounded_input_test.sh): a scratch directory, syscall-exact kills with strace,
# kills at random moments and their tally. Source it first: it brings tests/lib/shell_test.sh
# (strict mode, the ERR trap, fail, abspath) and sets T (a fresh directory under
# $TEST_TMPDIR).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shell_test.sh"
T="$(mktemp -d "${TEST_TMPDIR:-/tmp}/$(basename "$0" .sh).XXXXXX")"

# tally OK WHAT: counts one kill in tried, and in survived if OK is 1; else in lost, and says
# on stderr that the state was WHAT (for example "inconsistent after $1"). A test's CHECK
# calls it last; the counters start at 0 here.
tried=0 survived=0 lost=0
tally() {
  tried=$((tried + 1))
  if [[ $1 == 1 ]]; then
    survived=$((survived + 1))
  else
    lost=$((lost + 1))
    echo "$2" >&2
  fi
}

# The syscalls where a kill can split an update: every step that changes a file or a
# directory entry, or makes one durable. (openat with O_CREAT is followed by a write or
# fchmod before anything depends on it, so a kill there is covered by a kill at those.)
KILL_POINTS="write fchmod fsync fdatasync rename renameat renameat2 link linkat unlink unlinkat mkdir mkdirat rmdir"

# kill_at_call SYSCALL N command...: runs the command under strace and kills it with SIGKILL
# at its Nth call of SYSCALL (over all its threads; strace counts per syscall). Returns 0 if
# the command finished before that (the sweep of SYSCALL is then complete), 1 if killed.
kill_at_call() {
  local syscall=$1 n=$2; shift 2
  set +e
  # The shell's stderr is parked while it waits, to keep bash's "Killed" notice out of the
  # log; the command's own stderr goes to kill.err.
  exec 3>&2 2>/dev/null
  # LeakSanitizer cannot run under ptrace; in an ASan build the leak check is off for the
  # traced run only (the untraced runs keep it).
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -o /dev/null -e "inject=$syscall:signal=SIGKILL:when=$n" \
    "$@" >"$T/kill.out" 2>"$T/kill.err"
  local rc=$?
  exec 2>&3 3>&-
  set -e
  # strace exits with the tracee's status: 128+9 when the injected SIGKILL landed.
  if [[ $rc == 137 ]]; then return 1; fi
  [[ $rc == 0 ]] || { cat "$T/kill.out" "$T/kill.err" >&2; fail "'$*' exited $rc without a kill"; }
  return 0
}

# sweep CHECK PREP command...: for each syscall in KILL_POINTS and each N, runs PREP (a
# command line, word-split; ":" for none) to set up the state the command expects, kills the
# command at its Nth call of that syscall and runs CHECK (a function taking a description).
# Prints the number of kills made. Every step of the command is interrupted once.
sweep() {
  local check=$1 prep=$2; shift 2
  local syscall n kills=0
  for syscall in $KILL_POINTS; do
    n=1
    while :; do
      $prep >/dev/null 2>&1 || true
      kill_at_call "$syscall" "$n" "$@" && break
      "$check" "a kill at $syscall call $n of '$*'"
      kills=$((kills + 1))
      n=$((n + 1))
      [[ $n -le 500 ]] || fail "'$*' made more than 500 $syscall calls"
    done
  done
  echo "$kills"
}

# An add/remove pair of commands, as the arrays ADD and DEL (set by the test).
# to_state present|absent: puts the object where the next command expects it, without a kill.
to_state() {
  if [[ $1 == present ]]; then "${ADD[@]}" >/dev/null 2>&1 || true
  else "${DEL[@]}" >/dev/null 2>&1 || true; fi
}

# sweep_add_remove CHECK: sweeps ADD starting from "absent" and DEL starting from "present",
# so every step of both is interrupted; prints the number of kills.
sweep_add_remove() {
  local check=$1 adds
  sweep "$check" "to_state absent" "${ADD[@]}" >"$T/sweep"
  adds=$(cat "$T/sweep")
  sweep "$check" "to_state present" "${DEL[@]}" >"$T/sweep"
  echo $((adds + $(cat "$T/sweep")))
}

# random_add_remove CHECK N: N kills at random moments, alternating ADD (from "absent") and
# DEL (from "present"), each bounded by the command's undisturbed run time, and CHECK after
# each. Sets LANDED to the number of kills that landed mid-run. Call it without $(...), so
# that CHECK counts in the caller's shell.
random_add_remove() {
  local check=$1 kills=$2 i max_us argv
  LANDED=0
  for ((i = 0; i < kills; i++)); do
    if ((i % 2 == 0)); then to_state absent; argv=("${ADD[@]}"); else to_state present; argv=("${DEL[@]}"); fi
    max_us=$(duration_us "${argv[@]}")
    if ((i % 2 == 0)); then to_state absent; else to_state present; fi
    if ! kill_at_random "$max_us" "${argv[@]}"; then LANDED=$((LANDED + 1)); fi
    "$check" "random kill $i"
  done
}

# kill_at_random MAX_US command...: starts the command and sends SIGKILL after a random
# delay of 0..MAX_US microseconds. Returns 1 if the kill landed, 0 if the command had
# finished first. The delay is the attack's timing, not a synchronisation: the state is
# checked only after the process is reaped.
kill_at_random() {
  local max_us=$1; shift
  "$@" >"$T/kill.out" 2>"$T/kill.err" &
  local pid=$!
  local us=$(( (RANDOM * 32768 + RANDOM) % (max_us + 1) ))
  sleep "$(printf '0.%06d' "$us")"
  kill -9 "$pid" 2>/dev/null || true
  set +e
  exec 3>&2 2>/dev/null
  wait "$pid"
  local rc=$?
  exec 2>&3 3>&-
  set -e
  [[ $rc == 137 ]] && return 1
  return 0
}

# need_strace fails the test if strace cannot trace here (it is in tools/packages.txt).
need_strace() {
  command -v strace >/dev/null || fail "strace is missing; run tools/setup (tools/packages.txt)"
  strace -f -qq -o /dev/null true ||
    fail "strace cannot trace in this environment (ptrace refused); the sweep cannot run"
}

# duration_us command...: how long one undisturbed run takes, in microseconds.
duration_us() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || fail "'$*' failed without a kill"
  end=$(date +%s%N)
  echo $(( (end - start) / 1000 ))
}

# key_belongs_to_cert CERT KEY: both files exist and the key is the private half of the
# certificate's public key (a key beside a certificate it does not belong to is a broken
# identity).
key_belongs_to_cert() {
  [[ -f $1 && -f $2 ]] || return 1
  local a b
  a=$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null) || return 1
  b=$(openssl pkey -in "$2" -pubout 2>/dev/null) || return 1
  [[ -n $a && $a == "$b" ]]
}
