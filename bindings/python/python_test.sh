#!/bin/bash
# The Python binding's tests (bindings/python/tests), run with Debian's python3-pytest
# through the installed library: tools/install_tree lays libtrustlink.so.1 out under a
# prefix in $TEST_TMPDIR, the installed ntlsd starts on loopback with a port the kernel
# picks, a client root is enrolled (tests/embedding/lib.sh), and the binding finds the
# library through PKG_CONFIG_PATH alone, as it would on a user's machine.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
LIBRARY="$1"; HEADERS="$(dirname "$2")"; INSTALL_TREE="$3"
PROGRAMS=("$4" "$5" "$6")
source tests/embedding/lib.sh

# Debian's interpreter first: python3-pytest installs for it (tools/packages.txt).
PYTHON=""
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import pytest' 2>/dev/null; then PYTHON="$p"; break; fi
done
[[ -n "$PYTHON" ]] || fail "no python3 with pytest; install python3-pytest (tools/setup does)"

install_and_enrol

env=(
  "TRUSTLINK_TEST_PREFIX=$PREFIX"
  "TRUSTLINK_TEST_CLIENT=$CLIENT"
  "TRUSTLINK_TEST_APPLIANCE=$W/appliance"
  "PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig"
  "PYTHONPATH=$PWD/bindings/python:$PWD/bindings/python/tests"
  "PYTHONDONTWRITEBYTECODE=1"
)
# A sanitizer build of the library needs its runtime loaded before the interpreter's own
# code; the interpreter's allocations at exit are not leaks of ours.
needed=$(readelf -d "$PREFIX/lib/libtrustlink.so.1")
for runtime in asan tsan ubsan; do
  if grep -q "lib$runtime" <<<"$needed"; then
    so=$(gcc -print-file-name="lib$runtime.so")
    [[ -f "$so" ]] || fail "the library needs lib$runtime but gcc has no $so"
    env+=("LD_PRELOAD=$so")
    break
  fi
done
env+=("ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
# Under TSan preloaded into the (uninstrumented) interpreter, glibc's freeing of a finished
# thread's TLS block (_dl_deallocate_tls, when the interpreter starts a thread on the reused
# stack of one of the library's) is reported against that thread's start. It is glibc's own
# bookkeeping, not memory of ours; this one frame is the only thing suppressed.
printf 'race:_dl_deallocate_tls\n' >"$W/tsan.supp"
env+=("TSAN_OPTIONS=${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$W/tsan.supp")

# --capture=sys: what C writes to stderr (a sanitizer's report before it aborts the
# interpreter) reaches the test log instead of a capture file that dies with the process.
junit=()
[[ -n "${XML_OUTPUT_FILE:-}" ]] && junit=(--junitxml "$XML_OUTPUT_FILE")
set +e
env -u LD_LIBRARY_PATH -u TRUSTLINK_LIBRARY "${env[@]}" \
  "$PYTHON" -m pytest -p no:cacheprovider --capture=sys -q -ra -o faulthandler_timeout=120 --basetemp "$W/pytest" "${junit[@]}" \
  bindings/python/tests
rc=$?
set -e
((rc == 0)) || fail "pytest exited $rc (its report is above)"
echo PASS
