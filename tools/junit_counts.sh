#!/usr/bin/env bash
# junit_counts.sh REPORT.xml: "RAN SKIPPED NAMES..." of a ctest JUnit report (--output-junit):
# how many tests ran (passed or failed), how many were skipped or not run, and the first five
# skipped names. ctest counts a skipped test as passed; the GPU checks use this to fail instead.
set -euo pipefail
f=$1
ran=$(grep -cE '<testcase [^>]*status="(run|fail)"' "$f" || true)
skipped=$(grep -cE '<testcase [^>]*status="(notrun|disabled)"' "$f" || true)
names=$(grep -E '<testcase [^>]*status="(notrun|disabled)"' "$f" | sed -E 's/.*<testcase name="([^"]*)".*/\1/' | head -5 |
        tr '\n' ' ' || true)
echo "$ran $skipped $names"
