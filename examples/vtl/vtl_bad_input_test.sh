#!/bin/bash
# Bad input gets a clear error naming the object and the fix, the documented exit code, and
# leaves the store exactly as it was.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail

VTL="$PWD/examples/vtl/vtl"
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/bad.XXXXXX")"
ROOT="$WORK/client"
cd "$WORK"
snapshot() { (cd "$ROOT" && find . -path ./.trustlink.lock -prune -o -path ./cert/.server.lock -prune -o -print0 | sort -z | xargs -0 sha256sum 2>/dev/null; find . | sort) | sha256sum; }
expect_bad() {  # expect_bad RC WORD command...
  local want=$1 word=$2; shift 2
  local before; before=$(snapshot)
  set +e; "$@" >out.txt 2>err.txt; local rc=$?; set -e
  [[ $rc == "$want" ]] || { cat out.txt err.txt >&2; fail "'$*' exited $rc, want $want"; }
  grep -qF -- "$word" err.txt || { cat err.txt >&2; fail "'$*': message lacks '$word'"; }
  [[ "$(snapshot)" == "$before" ]] || fail "'$*' changed the store"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=hsm1 \
  -keyout server.key -out server.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=hsm2 \
  -keyout other.key -out other.pem 2>/dev/null
"$VTL" --root "$ROOT" createCert -n web1 >/dev/null
"$VTL" --root "$ROOT" addServer -n hsm1 -c server.pem >/dev/null

head -c 300 other.pem >truncated.pem
cat other.pem server.pem >two.pem
openssl req -new -key other.key -subj /CN=old -out old.csr 2>/dev/null
openssl x509 -req -in old.csr -signkey other.key -days -1 -out expired.pem 2>/dev/null

expect_bad 1 "truncated" "$VTL" --root "$ROOT" addServer -n hsm2 -c truncated.pem
expect_bad 1 "2 certificates" "$VTL" --root "$ROOT" addServer -n hsm2 -c two.pem
expect_bad 1 "private key, not a certificate" "$VTL" --root "$ROOT" addServer -n hsm2 -c other.key
expect_bad 1 "expired" "$VTL" --root "$ROOT" addServer -n hsm2 -c expired.pem
expect_bad 1 "'../x'" "$VTL" --root "$ROOT" addServer -n ../x -c other.pem
expect_bad 1 "'/'" "$VTL" --root "$ROOT" addServer -n /etc/passwd -c other.pem
expect_bad 1 "control" "$VTL" --root "$ROOT" addServer -n "$(printf 'a\tb')" -c other.pem
expect_bad 1 "'../x'" "$VTL" --root "$ROOT" createCert -n ../x
expect_bad 1 "'-x'" "$VTL" --root "$ROOT" deleteServer -n -x || true
expect_bad 4 "cannot open" "$VTL" --root "$ROOT" addServer -n hsm2 -c missing.pem
expect_bad 3 "different certificate" "$VTL" --root "$ROOT" addServer -n hsm1 -c other.pem
expect_bad 1 "unknown key type" "$VTL" --root "$ROOT" createCert -n web2 -k dsa
expect_bad 1 "20 years" "$VTL" --root "$ROOT" createCert -n web2 -days 8000

# Long host names (issue 14): a CN has at most 64 characters (RFC 5280), so a longer name is
# in the subjectAltName in full and in the subject as domainComponents; up to 246 characters
# work (cert/client/<name>Key.pem must fit a 253-character file name); 247 are refused at once.
label() { printf "%${2}s" "" | tr ' ' "$1"; }
name127="$(label a 63).$(label b 59).com"
name246="$(label a 63).$(label b 63).$(label c 63).$(label d 54)"
name247="$(label a 63).$(label b 63).$(label c 63).$(label d 55)"
[[ ${#name127} == 127 && ${#name246} == 246 && ${#name247} == 247 ]] || fail "name lengths"
for n in "$name127" "$name246"; do
  rc=0; "$VTL" --root "$WORK/long" createCert -n "$n" -force >out.txt 2>err.txt || rc=$?
  [[ $rc == 0 ]] || { cat out.txt err.txt >&2; fail "createCert of a ${#n}-character name exited $rc"; }
  openssl x509 -in "$WORK/long/cert/client/$n.pem" -noout -ext subjectAltName | grep -qF "DNS:$n" ||
    fail "the ${#n}-character name is not the certificate's subjectAltName"
  "$VTL" --root "$WORK/long" verify >out.txt 2>&1 || true  # no server: a warning, exit 1
  grep -qF "client certificate for '$n'" out.txt || { cat out.txt >&2; fail "verify lacks the name"; }
done
openssl x509 -in "$WORK/long/cert/client/$name127.pem" -noout -subject | grep -qF "DC = com, DC = $(label b 59)" ||
  fail "a long name's subject is not its domainComponents"
expect_bad 1 "at most 246" "$VTL" --root "$ROOT" createCert -n "$name247" -force

# A symlinked cert/server is refused, and nothing is written through it.
mkdir "$WORK/elsewhere"
mv "$ROOT/cert/server" "$WORK/saved-server"
ln -s "$WORK/elsewhere" "$ROOT/cert/server"
expect_bad 5 "symlink" "$VTL" --root "$ROOT" addServer -n hsm2 -c other.pem
[[ -z "$(ls -A "$WORK/elsewhere")" ]] || fail "wrote through the symlink"
rm "$ROOT/cert/server"
mv "$WORK/saved-server" "$ROOT/cert/server"

# A key readable by others is refused by verify, with the chmod to run.
chmod 644 "$ROOT/cert/client/web1Key.pem"
set +e; "$VTL" --root "$ROOT" verify -local >out.txt 2>err.txt; rc=$?; set -e
[[ $rc == 6 ]] || fail "verify with a 0644 key exited $rc, want 6"
grep -qF "chmod 600 $ROOT/cert/client/web1Key.pem" out.txt || { cat out.txt; fail "no chmod hint"; }
chmod 600 "$ROOT/cert/client/web1Key.pem"

# CAFile.pem and the named files disagreeing is reported, and -repair fixes it.
cp other.pem "$ROOT/cert/server/hsm2Cert.pem"
set +e; "$VTL" --root "$ROOT" verify -local >out.txt 2>err.txt; rc=$?; set -e
[[ $rc == 6 ]] || fail "verify of a disagreeing store exited $rc"
grep -qF "server cert for 'hsm2' is not in CAFile.pem" out.txt || { cat out.txt; fail "no disagreement"; }
# After the repair hsm2 is trusted but not yet in trustlink.conf, which verify still reports.
set +e; "$VTL" --root "$ROOT" verify -local -repair >out.txt 2>err.txt; set -e
grep -qF "[FIXED] added 'hsm2'" out.txt || { cat out.txt; fail "repair did nothing"; }
"$VTL" --root "$ROOT" addServer -n hsm2 -c other.pem >/dev/null
"$VTL" --root "$ROOT" verify -local >/dev/null || fail "verify after repair"

# A config error names the file, line and column.
printf 'Trustlink Client = {\n   ServerPort00 = 1792\n}\n' >"$ROOT/trustlink.conf"
set +e; "$VTL" --root "$ROOT" listServers >out.txt 2>err.txt; rc=$?; set -e
[[ $rc == 1 ]] || fail "bad config exited $rc"
grep -qF "trustlink.conf:2:" err.txt || { cat err.txt; fail "no line:column"; }
echo PASS
