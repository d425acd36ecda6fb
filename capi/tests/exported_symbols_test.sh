#!/bin/bash
# The shared library exports tl_* and nothing else: no BoringSSL, Abseil or C++ standard
# library symbols may leak, or embedders would bind to our private copies. It imports no
# BoringSSL/OpenSSL-named symbol either (those would bind to OpenSSL 3 in a host process),
# needs no libssl or libcrypto, and has no RUNPATH. It also checks the soname that packages
# and the dynamic linker rely on.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
lib="$1"

exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort -u)
if [[ -z "$exported" ]]; then
  echo "FAIL: $lib exports nothing" >&2
  exit 1
fi
leaks=$(grep -v '^tl_' <<<"$exported" | grep -v '^TRUSTLINK_1$' || true)
if [[ -n "$leaks" ]]; then
  echo "FAIL: $lib exports symbols outside tl_*:" >&2
  echo "$leaks" >&2
  exit 1
fi
for required in tl_version_number tl_version_string tl_status_name; do
  if ! grep -qx "$required" <<<"$exported"; then
    echo "FAIL: $lib does not export $required" >&2
    exit 1
  fi
done
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
if [[ "$soname" != "libtrustlink.so.1" ]]; then
  echo "FAIL: soname is '$soname', want libtrustlink.so.1" >&2
  exit 1
fi

dynamic=$(readelf -d "$lib")
if grep -Eq '\((RUNPATH|RPATH)\)' <<<"$dynamic"; then
  echo "FAIL: $lib has a RUNPATH/RPATH: $(grep -E 'RUNPATH|RPATH' <<<"$dynamic")" >&2
  exit 1
fi
# Only the C and C++ runtimes, Debian's Abseil and c-ares (docs/adr/0003, 0006), and a
# sanitizer's runtime in those builds.
needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dynamic")
unexpected=$(grep -Ev '^(libc|libm|libstdc\+\+|libgcc_s|ld-linux-x86-64|libabsl_[a-z0-9_]+|libcares|libasan|libubsan|libtsan)\.so' <<<"$needed" || true)
if [[ -n "$unexpected" ]]; then
  echo "FAIL: $lib needs libraries beyond libc, libm, libstdc++, libgcc_s, Abseil and c-ares:" >&2
  echo "$unexpected" >&2
  exit 1
fi
imported=$(nm -D --undefined-only "$lib" | awk '{print $NF}' | sed 's/@.*//')
crypto=$(grep -E '^(SSL|EVP|X509|PEM|BIO|ERR|CRYPTO|OPENSSL|RSA|EC|BN|ASN1|d2i|i2d)_' <<<"$imported" || true)
crypto+=$(grep -Ex 'sdallocx' <<<"$imported" || true)
if [[ -n "$crypto" ]]; then
  echo "FAIL: $lib imports BoringSSL/OpenSSL-named or allocator-hook symbols, which would bind" \
    "to another library in the host process:" >&2
  echo "$crypto" >&2
  exit 1
fi
echo "PASS: $(wc -l <<<"$exported") symbols, all tl_*; soname $soname; no RUNPATH;" \
  "needs only $(tr '\n' ' ' <<<"$needed")"
