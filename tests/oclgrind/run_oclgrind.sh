#!/usr/bin/env bash
# Runs a command with oclgrind as the only OpenCL platform, with data-race and uninitialised-value checks, and
# judges oclgrind's log: oclgrind exits 0 even when it reports errors, so the log is the verdict.
#   run_oclgrind.sh --work DIR [--expect PATTERN]... -- COMMAND [ARGS...]
# Without --expect: passes only if COMMAND exits 0 and the log holds no error.
# With --expect: passes only if the log holds every PATTERN (used to prove the harness catches planted bugs).
set -uo pipefail

work="" expects=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --expect) expects+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "run_oclgrind.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$work" ] && [ $# -gt 0 ] || { echo "usage: run_oclgrind.sh --work DIR [--expect P]... -- CMD..." >&2; exit 2; }

icd_lib=""
for candidate in /usr/lib/oclgrind/liboclgrind-rt-icd.so /usr/lib/x86_64-linux-gnu/oclgrind/liboclgrind-rt-icd.so \
                 $(dpkg -L oclgrind 2>/dev/null | grep 'liboclgrind-rt-icd.so$'); do
  if [ -f "$candidate" ]; then icd_lib="$candidate"; break; fi
done
if [ -z "$icd_lib" ]; then
  echo "run_oclgrind.sh: oclgrind's liboclgrind-rt-icd.so not found (install the Debian package oclgrind)" >&2
  exit 1
fi

rm -rf "$work" && mkdir -p "$work/vendors"
echo "$icd_lib" > "$work/vendors/oclgrind.icd"
log="$work/oclgrind.log"
: > "$log"

# Only oclgrind is visible; its checks on; the disk program cache off (every run compiles from source).
OCL_ICD_VENDORS="$work/vendors" OCLGRIND_DATA_RACES=1 OCLGRIND_UNINITIALIZED=1 OCLGRIND_CHECK_API=1 \
OCLGRIND_LOG="$log" ELLESMERE_CACHE=0 ELLESMERE_TEST_SMALL=1 ELLESMERE_DEVICE= ELLESMERE_TEST_DEVICE= \
  "$@" > "$work/stdout.txt" 2>&1
rc=$?

# oclgrind's reports start at column 0; their details are indented.
errors=$(grep -E '^[A-Z][^[:space:]]' "$log" | sed 's/0x[0-9a-fA-F]*/ADDR/g' | sort | uniq -c | sort -rn)

if [ ${#expects[@]} -gt 0 ]; then
  missing=0
  for p in "${expects[@]}"; do
    if grep -q -- "$p" "$log"; then echo "caught: $p"; else echo "NOT caught: $p"; missing=1; fi
  done
  echo "--- oclgrind reports (count, kind) ---"; echo "$errors"
  exit $missing
fi

tail -n 30 "$work/stdout.txt"
# A GoogleTest filter that matches nothing exits 0: that is a broken test, not a clean one.
if grep -q '^\[==========\] Running 0 tests' "$work/stdout.txt"; then
  echo "--- no test ran under oclgrind (does the --gtest_filter match anything?) ---"
  exit 1
fi
if [ -n "$errors" ]; then
  echo "--- oclgrind found errors (count, kind); first 80 log lines: ---"
  echo "$errors"
  head -n 80 "$log"
  exit 1
fi
if [ $rc -ne 0 ]; then
  echo "--- command exited with $rc under oclgrind ---"
  exit 1
fi
echo "oclgrind: clean ($log)"
