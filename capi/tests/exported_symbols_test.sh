#!/bin/bash
# The shared library exports tl_* and nothing else: no BoringSSL, Abseil or C++ standard
# library symbols may leak, or embedders would bind to our private copies. It also checks
# the soname that packages and the dynamic linker rely on.
set -euo pipefail
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
echo "PASS: $(wc -l <<<"$exported") symbols, all tl_*; soname $soname"
