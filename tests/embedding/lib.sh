# Shared by the embedding tests: install trustlink into a temporary prefix with
# tools/install_tree, start the installed ntlsd on loopback, and enrol a client root with the
# installed ntlsh and vtl, so every program here links and runs through libtrustlink.so.1.
#
# The caller sets LIBRARY, HEADERS, INSTALL_TREE and PROGRAMS (the built ntlsd, ntlsh, vtl)
# and calls install_and_enrol; afterwards PREFIX, CLIENT and PROBE_CFLAGS are set.

W="$(mktemp -d "${TEST_TMPDIR:-/tmp}/embedding.XXXXXX")"
# Unix socket paths are short (108 bytes); $TEST_TMPDIR is too deep for one.
SOCKDIR="$(mktemp -d /tmp/embedding.XXXXXX)"
NTLSD_PID=""
fail() {
  echo "FAIL: $*" >&2
  [[ -f "$W/ntlsd.log" ]] && { echo "--- ntlsd.log" >&2; tail -30 "$W/ntlsd.log" >&2; }
  exit 1
}
cleanup() {
  if [[ -n "$NTLSD_PID" ]]; then
    kill -TERM "$NTLSD_PID" 2>/dev/null || true
    wait "$NTLSD_PID" 2>/dev/null || true
  fi
  rm -rf "$SOCKDIR"
}
trap cleanup EXIT

# run_ok WHAT CMD...: CMD must exit 0; on failure print its output and say why.
run_ok() {
  local what="$1" rc; shift
  set +e; "$@" >"$W/out" 2>&1; rc=$?; set -e
  ((rc == 0)) || fail "$what: '$*' exited $rc: $(cat "$W/out")"
}

# wait_for_file_text SECONDS TEXT FILE: poll FILE for TEXT until the deadline.
wait_for_file_text() {
  local deadline=$((SECONDS + $1))
  until grep -q -- "$2" "$3" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "no '$2' in $3 within $1 s: $(cat "$3" 2>/dev/null)"
    [[ -z "$NTLSD_PID" ]] || kill -0 "$NTLSD_PID" 2>/dev/null || fail "ntlsd exited"
    sleep 0.05  # polling under a deadline
  done
}

install_and_enrol() {
  PREFIX="$W/prefix"
  local args=(--prefix "$PREFIX" --library "$LIBRARY" --headers "$HEADERS")
  local p
  for p in "${PROGRAMS[@]}"; do args+=(--program "$p"); done
  run_ok "install" "$INSTALL_TREE" "${args[@]}"

  # A sanitizer build of the library needs its runtime first in the program too.
  PROBE_CFLAGS=()
  local needed
  needed=$(readelf -d "$PREFIX/lib/libtrustlink.so.1")
  grep -q 'libasan' <<<"$needed" && PROBE_CFLAGS+=(-fsanitize=address,undefined)
  grep -q 'libtsan' <<<"$needed" && PROBE_CFLAGS+=(-fsanitize=thread)

  local bin="$PREFIX/bin" app="$W/appliance"
  CLIENT="$W/client"
  "$bin/ntlsd" --root "$app" --name 127.0.0.1 --listen 127.0.0.1:0 --threads 1 \
    --log "$W/ntlsd.log" --status-socket "$SOCKDIR/s" &
  NTLSD_PID=$!
  wait_for_file_text 20 ready "$W/ntlsd.log"
  local port
  port=$(python3 tests/lib/ntlsd_status.py "$SOCKDIR/s" --port)
  [[ -n "$port" ]] || fail "no listen port from ntlsd's status socket"
  run_ok "export the appliance cert" "$bin/ntlsh" --root "$app" sysconf exportCert -file "$W/server.pem"
  run_ok "createCert" "$bin/vtl" --root "$CLIENT" createCert -n 127.0.0.1
  run_ok "addServer" "$bin/vtl" --root "$CLIENT" addServer -n 127.0.0.1 -c "$W/server.pem" -p "$port"
  run_ok "partition create" "$bin/ntlsh" --root "$app" partition create -partition par1
  run_ok "client register" "$bin/ntlsh" --root "$app" client register -client web1 -ip 127.0.0.1 \
    -certificate "$CLIENT/cert/client/127.0.0.1.pem"
  run_ok "assignPartition" "$bin/ntlsh" --root "$app" client assignPartition -client web1 -partition par1
}

# probe NAME CFLAGS_AND_LIBS...: compile embed_probe.c out of tree as $W/NAME.
probe() {
  local name="$1"; shift
  run_ok "compile $name" cc -std=c99 -Wall -Werror "${PROBE_CFLAGS[@]}" -o "$W/$name" "$PROBE_SRC" "$@"
}

# expect_echo NAME ARGS...: run probe NAME; it must complete the link and the echo call.
expect_echo() {
  local name="$1"; shift
  local msg="hello from $name" rc
  set +e; "$W/$name" "$@" "$CLIENT" "$msg" >"$W/$name.out" 2>&1; rc=$?; set -e
  ((rc == 0)) || fail "$name exited $rc: $(cat "$W/$name.out")"
  grep -q "^echo: $msg\$" "$W/$name.out" || fail "$name did not echo: $(cat "$W/$name.out")"
  echo "ok: $name: $(grep -E '^(curl|OpenSSL)' "$W/$name.out" | head -1)"
}
