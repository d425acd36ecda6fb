#!/bin/bash
# Checks the C ABI against the baseline of major version 1 (capi/abi/trustlink-1.abi):
# every recorded declaration and TL_* value must still be there unchanged, every recorded
# function must still be exported by libtrustlink.so.1, and anything new must be recorded,
# so that once released it is held to the same promise (docs/abi.md).
#
# Usage: check_abi.sh SNAPSHOT_PY BASELINE INCLUDE_DIR LIBTRUSTLINK_SO
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/lib/shell_test.sh"  # strict mode, ERR trap, fail
snapshot_py=$1 baseline=$2 include_dir=$3 lib=$4

current=$(python3 "$snapshot_py" "${CC:-cc}" "$include_dir")
missing=$(comm -23 <(sort "$baseline") <(sort <<<"$current"))
added=$(comm -13 <(sort "$baseline") <(sort <<<"$current"))
status=0
if [[ -n "$missing" ]]; then
  echo "FAIL: the ABI of libtrustlink.so.1 lost or changed these entries:" >&2
  echo "$missing" >&2
  echo "Functions, typedefs and TL_* values are never removed or changed within major" >&2
  echo "version 1: restore them, and add a new function for new behaviour. (A renamed" >&2
  echo "parameter alone is not a break: then rerun capi/abi/update_baseline.)" >&2
  status=1
fi
if [[ -n "$added" ]]; then
  echo "FAIL: new ABI entries are not in the baseline yet:" >&2
  echo "$added" >&2
  echo "Additions are allowed. Record them with capi/abi/update_baseline and commit the" >&2
  echo "baseline with the change." >&2
  status=1
fi

exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort -u)
# A function's name is the identifier just before the first "(" of a non-typedef line.
functions=$(grep -v '^decl typedef' "$baseline" |
  sed -n 's/^decl [^(]*\b\(tl_[a-z_0-9]*\)(.*/\1/p' | sort -u)
unexported=$(comm -23 <(echo "$functions") <(echo "$exported"))
if [[ -n "$unexported" ]]; then
  echo "FAIL: $lib no longer exports these functions of the baseline:" >&2
  echo "$unexported" >&2
  status=1
fi
if ((status == 0)); then
  echo "PASS: $(wc -l <"$baseline") ABI entries unchanged; $(wc -l <<<"$functions") functions exported"
fi
exit $status
