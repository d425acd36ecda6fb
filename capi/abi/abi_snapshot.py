#!/usr/bin/env python3
"""Prints the C ABI of trustlink.h as sorted, whitespace-normalised lines.

The snapshot is what a compiled caller depends on: every declaration (function
prototypes, typedefs, callback types) after the preprocessor, and every TL_*
macro's value. Formatting changes (clang-format reflowing a prototype) do not
change it; a changed parameter, return type, typedef or status code does.

Usage: abi_snapshot.py CC INCLUDE_DIR
  CC is a C compiler (only its preprocessor runs); INCLUDE_DIR holds trustlink/.
"""

import os
import re
import subprocess
import sys

# Macros that change with every release or only guard headers: not ABI.
_NOT_ABI = re.compile(
    r"^(TL_VERSION_(MINOR|PATCH|NUMBER|STRING)|TRUSTLINK_\w+_H_|TL_EXPORT|TL_NOEXCEPT)$"
)


def _preprocess(cc, include_dir, extra):
    header = os.path.join(include_dir, "trustlink", "trustlink.h")
    return subprocess.run(
        [cc, "-E", "-x", "c", "-std=c99", "-I", include_dir, *extra, header],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _normalise(text):
    text = text.replace('__attribute__((visibility("default")))', " ")
    text = re.sub(r"\s+", " ", text).strip()
    # No space next to punctuation, so "int *p" and "int* p" read the same.
    return re.sub(r"\s*([()*,;\[\]{}=])\s*", r"\1", text)


def declarations(cc, include_dir):
    """Declarations that come from trustlink's own headers, one per entry."""
    ours = os.path.abspath(os.path.join(include_dir, "trustlink"))
    keep, in_ours = [], False
    for line in _preprocess(cc, include_dir, []).splitlines():
        marker = re.match(r'^# \d+ "([^"]+)"', line)
        if marker:
            in_ours = os.path.abspath(marker.group(1)).startswith(ours + os.sep)
        elif in_ours:
            keep.append(line)
    return {
        "decl " + _normalise(d) + ";"
        for d in " ".join(keep).split(";")
        if _normalise(d)
    }


def macros(cc, include_dir):
    out = set()
    for line in _preprocess(cc, include_dir, ["-dM"]).splitlines():
        m = re.match(r"^#define (TL_\w+)(.*)$", line)
        if m and not _NOT_ABI.match(m.group(1)):
            out.add("macro " + m.group(1) + " " + _normalise(m.group(2)))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    cc, include_dir = sys.argv[1], sys.argv[2]
    for entry in sorted(declarations(cc, include_dir) | macros(cc, include_dir)):
        print(entry)


if __name__ == "__main__":
    main()
