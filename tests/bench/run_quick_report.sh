#!/usr/bin/env bash
# ctest device.bench_report_quick: tools/bench-report.sh --quick end to end on the build under test, into a scratch
# directory (its own configuration directory and a copy of the README, so neither the user's nor the repository's
# is touched); then tests/bench/check_report.py on what it wrote, and a planted inconsistency that the checker must
# catch (a comparison's ratio changed in a copy of the JSON).
# Usage: run_quick_report.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build="$1" src="$2" work="$3"
rm -rf "$work"
mkdir -p "$work"
cp "$src/README.md" "$work/README.md"
ELLESMERE_BUILD_DIR="$build" ELLESMERE_CONFIG_DIR="$work/config" \
  bash "$src/tools/bench-report.sh" --quick --no-build --out "$work/out" --readme "$work/README.md" \
  --keep-work "$work/raw"
report="$(ls "$work"/out/*/report.json)"
/usr/bin/python3 "$src/tests/bench/check_report.py" "$report" "$work/README.md" --quick
cmp -s "$src/README.md" "$work/README.md" && { echo "FAIL: the README copy was not regenerated"; exit 1; }
# The checker must fail on a report whose ratio does not match its rows.
/usr/bin/python3 - "$report" "$work/planted.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = next(c for c in r["comparisons"] if c["ratio"])
c["ratio"] *= 1.5
json.dump(r, open(sys.argv[2], "w"))
PY
cp "$(dirname "$report")"/*.png "$work/" 2>/dev/null || true
if /usr/bin/python3 "$src/tests/bench/check_report.py" "$work/planted.json" "$work/README.md" --quick > "$work/planted.log"; then
  echo "FAIL: check_report.py accepted a report with a wrong ratio"; exit 1
fi
grep -q "ratio .* != " "$work/planted.log" || { echo "FAIL: the planted ratio was not named"; cat "$work/planted.log"; exit 1; }
echo "bench_report_quick: ok (report, PNGs and README section consistent; a planted wrong ratio caught)"
