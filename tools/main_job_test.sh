#!/bin/bash
# tools/main_job --check with the binaries Bazel built: the main job's story stays runnable.
set -euo pipefail
BIN="$TEST_TMPDIR/bin"
mkdir -p "$BIN"
ln -sf "$PWD/$1" "$BIN/ntlsd"
ln -sf "$PWD/$2" "$BIN/ntlsh"
ln -sf "$PWD/$3" "$BIN/vtl"
# main_job makes (and removes) its own short /tmp directory: the status socket path must fit 108 bytes.
MAIN_JOB_BIN="$BIN" tools/main_job --no-setup --check >"$TEST_TMPDIR/out" 2>&1 ||
  { cat "$TEST_TMPDIR/out"; echo "FAIL: main_job --check"; exit 1; }
cat "$TEST_TMPDIR/out"
grep -q "main job: OK" "$TEST_TMPDIR/out"
grep -q "calls/s" "$TEST_TMPDIR/out"
grep -q "token label *: *keys1" "$TEST_TMPDIR/out" || { echo "FAIL: no keys1 slot"; exit 1; }
grep -q "Verified OK" "$TEST_TMPDIR/out" || { echo "FAIL: signature not verified"; exit 1; }
grep -q "wrong PIN: CKR_PIN_INCORRECT" "$TEST_TMPDIR/out" || { echo "FAIL: wrong PIN"; exit 1; }
grep -q "pkcs11-tool ECDSA sign, whole process" "$TEST_TMPDIR/out" || { echo "FAIL: no figure"; exit 1; }
echo "1 passed, 0 failed"
