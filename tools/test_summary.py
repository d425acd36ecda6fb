#!/usr/bin/env python3
"""Counts test cases from Bazel's test.xml files and prints "N passed, M failed".

Usage: test_summary.py TESTLOGS_DIR TEST_TARGET...

A target whose test.xml is missing (it failed to build, or never ran) counts as one failed
case, so a broken build can never read as a pass.
"""
import os
import sys
import xml.etree.ElementTree as ET


def xml_files_for(testlogs, target):
    package, _, name = target.lstrip("/").partition(":")
    folder = os.path.join(testlogs, package, name)
    # A plain run leaves folder/test.xml; a sharded one leaves shard_N_of_M/test.xml. Older
    # run_N_of_M folders from a --runs_per_test run may linger beside them: ignore those.
    top = os.path.join(folder, "test.xml")
    if os.path.exists(top):
        return [top]
    found = []
    if os.path.isdir(folder):
        for entry in sorted(os.listdir(folder)):
            path = os.path.join(folder, entry, "test.xml")
            if entry.startswith("shard_") and os.path.exists(path):
                found.append(path)
    return found


def count_cases(path):
    passed = failed = 0
    try:
        tree = ET.parse(path)
    except ET.ParseError:
        return 0, 1
    cases = list(tree.iter("testcase"))
    if not cases:
        # Bazel's own XML for a target with no cases: trust the suite's failure counts.
        suites = list(tree.iter("testsuite"))
        bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        return (0, 1) if bad or not suites else (1, 0)
    for case in cases:
        if case.get("status") == "notrun" or case.find("skipped") is not None:
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
    return passed, failed


def main():
    testlogs, targets = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    for target in targets:
        files = xml_files_for(testlogs, target)
        if not files:
            print(f"no results for {target}: counted as 1 failed", file=sys.stderr)
            failed += 1
            continue
        for path in files:
            p, f = count_cases(path)
            passed += p
            failed += f
            if f:
                print(f"failed cases in {target} ({path})", file=sys.stderr)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
