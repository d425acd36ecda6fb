#!/bin/bash
# tools/main_job --check with the binaries Bazel built: the main job's story stays runnable.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
# A fresh folder per run: Bazel keeps TEST_TMPDIR between runs.
T="$(mktemp -d "$TEST_TMPDIR/main_job.XXXXXX")"
BIN="$T/bin"
mkdir -p "$BIN"
ln -sf "$PWD/$1" "$BIN/ntlsd"
ln -sf "$PWD/$2" "$BIN/ntlsh"
ln -sf "$PWD/$3" "$BIN/vtl"
ln -sf "$PWD/$4" "$BIN/htlclient"
# main_job makes (and removes) its own short /tmp directory: the status socket path must fit 108 bytes.
MAIN_JOB_BIN="$BIN" tools/main_job --no-setup --check >"$T/out" 2>&1 ||
  { cat "$T/out"; echo "FAIL: main_job --check"; exit 1; }
cat "$T/out"
grep -q "main job: OK" "$T/out"
grep -q "calls/s" "$T/out"
grep -q "token label *: *keys1" "$T/out" || { echo "FAIL: no keys1 slot"; exit 1; }
grep -q "Verified OK" "$T/out" || { echo "FAIL: signature not verified"; exit 1; }
grep -q "wrong PIN: CKR_PIN_INCORRECT" "$T/out" || { echo "FAIL: wrong PIN"; exit 1; }
grep -q "pkcs11-tool ECDSA sign, whole process" "$T/out" || { echo "FAIL: no figure"; exit 1; }
grep -q "web1 *Up *In use" "$T/out" || { echo "FAIL: HTL never Up / In use"; exit 1; }
grep -q "proved by the HTL agent" "$T/out" || { echo "FAIL: no call over an HTL link"; exit 1; }
grep -q "ALERT HTL clone detected for client 'web1'" "$T/out" ||
  { echo "FAIL: the cloned agent was not reported"; exit 1; }
grep -q "TL_E_HTL_DOWN" "$T/out" || { echo "FAIL: links not refused after the clone"; exit 1; }
echo "1 passed, 0 failed"
