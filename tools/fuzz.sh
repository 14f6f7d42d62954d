#!/usr/bin/env bash
# The long fuzz campaign: every loader's libFuzzer target (fuzz/) for a number of executions each, under ASan + UBSan
# (CMakePresets.json preset "sanitize", clang). ctest -L fuzz runs each target for 60 s; this runs them for as long
# as asked and prints, per target, the executions done, the corpus reached, and whether anything crashed.
# Usage: tools/fuzz.sh [--runs N | --seconds S] [--jobs J] [--out DIR] [--no-build] [target ...]
#   --runs N      executions per target (default 1000000)
#   --seconds S   instead of --runs: fuzz each target for S seconds
#   --jobs J      targets fuzzed at the same time (default: the number of cores)
#   --out DIR     corpora, crash inputs, logs and summary.txt (default <build dir>/fuzz-campaign)
#   --build-dir D the sanitize build to use (default build-sanitize, the preset's)
#   target ...    a subset (onnx_model onnx_tensor npy matrix_market snn_network tuning_db device_profile
#                 program_cache); default all
# A crash leaves its input in DIR/artifacts/<target>/; commit it under fuzz/regressions/<target>/ with the fix,
# where fuzz.replay_<target> replays it in every build from then on. Exit status 1 if any target crashed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=1000000 seconds="" jobs="$(nproc)" out="" build=1 targets=() bdir_arg=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --build-dir) bdir_arg="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
bdir="${bdir_arg:-$root/build-sanitize}"
out="${out:-$bdir/fuzz-campaign}"
if [ "$build" = 1 ]; then
  "$root/tools/install-deps.sh" >&2
  cmake --preset sanitize -S "$root" >&2
  list=$(cut -d' ' -f1 "$bdir/fuzz/fuzz_targets.txt" 2>/dev/null | sed 's/^/fuzz_/' | tr '\n' ' ')
  cmake --build "$bdir" -j"$(nproc)" --target ${list:-all} >&2
fi
table="$bdir/fuzz/fuzz_targets.txt"
[ -f "$table" ] || { echo "fuzz.sh: $table missing: build the preset \"sanitize\" first" >&2; exit 1; }
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:external_symbolizer_path=/usr/bin/llvm-symbolizer}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tools/sanitize/lsan.supp}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$out"

run_one() {   # name binary max_len seeds...
  local name="$1" bin="$2" len="$3"; shift 3
  mkdir -p "$out/corpus/$name" "$out/artifacts/$name"
  local limit=(-runs="$runs")
  [ -n "$seconds" ] && limit=(-max_total_time="$seconds")
  local t0=$SECONDS rc=0
  "$bin" "${limit[@]}" -timeout=25 -rss_limit_mb=3072 -max_len="$len" -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$name/" "$out/corpus/$name" "$@" > "$out/$name.log" 2>&1 || rc=$?
  local execs corpus crashes
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/$name.log" | tail -1 | grep -o '[0-9]*$' || true)
  corpus=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$out/$name.log" | tail -1 | cut -d' ' -f2 || true)
  # crash-, leak-, oom- and timeout- inputs are failures; slow-unit- inputs (a run slower than libFuzzer's report
  # threshold, e.g. on a loaded machine) are kept for a look but are not.
  crashes=$(find "$out/artifacts/$name" -type f ! -name 'slow-unit-*' | wc -l)
  printf '%-15s %12s executions %10s corpus  %3d crash inputs  %5d s  exit %d\n' "$name" "${execs:-?}" "${corpus:-?}" \
    "$crashes" $((SECONDS - t0)) "$rc" > "$out/$name.summary"
  cat "$out/$name.summary"
}

pids=()
while read -r name bin len seeds; do
  if [ ${#targets[@]} -gt 0 ] && [[ ! " ${targets[*]} " == *" $name "* ]]; then continue; fi
  # shellcheck disable=SC2086
  run_one "$name" "$bin" "$len" $seeds &
  pids+=($!)
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
done < "$table"
for p in "${pids[@]}"; do wait "$p" || true; done
{
  budget="$runs runs"
  [ -n "$seconds" ] && budget="$seconds s"
  echo "# tools/fuzz.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores; $budget per target"
  cat "$out"/*.summary
} > "$out/summary.txt"
echo "summary: $out/summary.txt"
! grep -qE '[1-9][0-9]* crash inputs|exit [1-9]' "$out"/*.summary
