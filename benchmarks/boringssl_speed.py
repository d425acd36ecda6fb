#!/usr/bin/env python3
"""boringssl_speed: the BoringSSL trustlink links (built by Bazel from Debian's source
package) against Debian's own build (`bssl-tool` from android-boringssl, OPENSSL_SMALL),
side by side in one run.

    bazel run -c opt //benchmarks:boringssl_speed [-- --rounds N --seconds S]

Both tools run the same `speed -filter` tests, alternating, for N rounds; the table gives the
median operations per second of each and their ratio within each round (median and range),
because the machine is shared and absolute figures swing by 2x.
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys

FILTERS = ["ECDSA P-256", "Ed25519", "RSA 2048", "ECDH P-256", "X25519"]


def speed(tool, filt, seconds):
    """Returns {operation: ops per second} from `tool speed -json`."""
    out = subprocess.run([tool, "speed", "-filter", filt, "-timeout", str(seconds), "-json"],
                         check=True, capture_output=True, text=True).stdout
    rates = {}
    # -json prints one object per test, as a list or one per line depending on the version.
    text = out.strip()
    if not text.startswith("["):
        text = "[" + ",".join(l for l in text.splitlines() if l.strip()) + "]"
    for r in json.loads(text):
        if "bytesPerCall" not in r:
            rates[r["description"]] = r["numCalls"] * 1e6 / r["timeInMicroseconds"]
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True, help="the bssl binary built from source")
    ap.add_argument("--debian", default=shutil.which("bssl-tool") or "bssl-tool")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=1)
    args = ap.parse_args()

    ours, theirs, ratios = {}, {}, {}
    for rnd in range(args.rounds):
        for filt in FILTERS:
            # Alternate which tool goes first, so neither always meets a warmer machine.
            pair = [(args.ours, ours), (args.debian, theirs)]
            if rnd % 2:
                pair.reverse()
            got = {}
            for tool, into in pair:
                got[tool] = speed(tool, filt, args.seconds)
                for op, rate in got[tool].items():
                    into.setdefault(op, []).append(rate)
            for op, rate in got[args.ours].items():
                if op in got[args.debian]:
                    ratios.setdefault(op, []).append(rate / got[args.debian][op])

    print(f"{'operation':<38} {'source build /s':>16} {'Debian bssl-tool /s':>20} "
          f"{'ratio (median, range)':>24}")
    for op in ours:
        if op not in ratios:
            continue
        r = ratios[op]
        print(f"{op:<38} {statistics.median(ours[op]):>16,.0f} "
              f"{statistics.median(theirs[op]):>20,.0f} "
              f"{statistics.median(r):>10.2f}x ({min(r):.2f}-{max(r):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
