#!/usr/bin/env bash
# The performance report: on one device, in one run, calibrate the device (`ellesmere calibrate`) and run every
# benchmark binary with its peers (CLBlast, Eigen; oneDNN, ViennaCL, OpenCV DNN and Brian2 where installed: a
# missing one is a "skipped" line in the report), each row repeated for a median and a spread; then merge
# everything into one JSON file, draw the roofline and the ratio charts (PNG), and regenerate the README's
# performance section from that JSON (tools/bench-report.py).
#
# Usage (Debian 12, as root or with sudo for the packages):
#   tools/bench-report.sh [--out DIR] [--readme FILE | --no-readme] [--reps N] [--min-time S] [--quick]
#                         [--no-build] [--keep-work DIR]
#   --out DIR        where report.json and the PNGs go: DIR/<device key>/ (default bench/report)
#   --readme FILE    the README whose section between the bench-report markers is rewritten (default README.md)
#   --no-readme      leave every README alone
#   --reps N         repetitions per row (default 3)
#   --min-time S     minimum device time per repetition, seconds (default 0.05)
#   --quick          a smoke run: one or two problems per binary, 2 repetitions, no Brian2 and no crossover
#                    (what the `device.bench_report_quick` test runs); its README section says so. Writes to
#                    $TMPDIR/ellesmere-bench-report-quick and no README unless --out / --readme say otherwise, and
#                    keeps a saved device profile (calibrates quickly only where there is none)
#   --no-build       use the build directory as it is ($ELLESMERE_BUILD_DIR or build/): no install, no build
#                    (otherwise: tools/install-deps.sh, then a Release build of the CLI and the benchmarks only)
#   --keep-work DIR  keep the raw benchmark outputs in DIR (default: a temporary directory, removed)
# The device is the one `ellesmere` picks (ELLESMERE_DEVICE selects another). The README's Performance section
# states how long the last run took on the 2-core CI-class machine (build, calibration, benchmarks, pipeline).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/bench/report"
readme="$root/README.md"
reps=3
min_time=0.05
quick=0
build_it=1
work=""
command_line="tools/bench-report.sh $*"
out_given=0
readme_given=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; out_given=1; shift 2 ;;
    --readme) readme="$2"; readme_given=1; shift 2 ;;
    --no-readme) readme=""; readme_given=1; shift ;;
    --reps) reps="$2"; shift 2 ;;
    --min-time) min_time="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --no-build) build_it=0; shift ;;
    --keep-work) work="$2"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "bench-report: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$reps" in ''|*[!0-9]*) echo "bench-report: --reps must be a positive integer, got '$reps'" >&2; exit 2 ;; esac
[ "$reps" -ge 1 ] || { echo "bench-report: --reps must be at least 1" >&2; exit 2; }
if [ "$quick" = 1 ]; then
  reps=2
  min_time=0.01
  # A smoke run never replaces the real report: scratch output and no README unless asked for explicitly.
  [ "$out_given" = 1 ] || out="${TMPDIR:-/tmp}/ellesmere-bench-report-quick"
  [ "$readme_given" = 1 ] || readme=""
fi

t_build0=$(date +%s)
build="${ELLESMERE_BUILD_DIR:-$root/build}"
if [ "$build_it" = 1 ]; then
  # tools/build.sh's set-up, but only the targets the report runs (the test binaries take most of a full build).
  "$root/tools/install-deps.sh" >&2
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$build" -j"$(nproc)" --target ellesmere_cli bench_gemm bench_gemm_i8 bench_gemm_wq bench_spmm \
    bench_conv bench_snn >&2
fi
for b in tools/ellesmere bench/bench_gemm bench/bench_gemm_i8 bench/bench_gemm_wq bench/bench_spmm bench/bench_conv \
         bench/bench_snn; do
  [ -x "$build/$b" ] || { echo "bench-report: $build/$b not built (run without --no-build)" >&2; exit 1; }
done
python=/usr/bin/python3   # Debian's, which sees python3-matplotlib (a pyenv python3 may come first on PATH)
"$python" -c "import matplotlib" 2>/dev/null ||
  { echo "bench-report: $python cannot import matplotlib (Debian python3-matplotlib)" >&2; exit 1; }

if [ -z "$work" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
else
  mkdir -p "$work"
  rm -f "$work"/*.json "$work"/*.out "$work"/*.err   # nothing of an earlier run may be merged into this one
fi
start=$(date +%s)
ell="$build/tools/ellesmere"
"$ell" devices --json > "$work/devices.json"
if [ "$quick" = 1 ]; then
  # Keep a saved (full) profile: a quick calibration only where there is none.
  "$ell" profile show --json > /dev/null 2>&1 || "$ell" calibrate --quick >&2
else
  echo "bench-report: calibrating the device (ellesmere calibrate)" >&2
  "$ell" calibrate >&2
fi
"$ell" profile show --json > "$work/profile.json"
"$ell" profile show rx580 --json > "$work/rx580.json"
t_cal=$(( $(date +%s) - start ))
t_build=$(( start - t_build0 ))

# Per binary: its extra arguments, and in quick mode a filter naming one or two small problems.
declare -A extra filter
extra[bench_gemm]="--dispatch_only"
extra[bench_gemm_i8]="--dispatch_only"
extra[bench_gemm_wq]="--dispatch_only"
extra[bench_spmm]="--dispatch_only"
extra[bench_conv]="--dispatch_only"
extra[bench_snn]="--sizes=4000,40000"   # 100k neurons (Brian2: 20 s a run) only in bench_snn's own default
if [ "$quick" = 1 ]; then
  filter[bench_gemm]='m128n128k128'
  filter[bench_gemm_i8]='m256n256k256|m1n4096k4096/'
  filter[bench_gemm_wq]='m1n4096k4096q4g32/'
  filter[bench_spmm]='n1d0\.1/|n64d0\.1/|m4096n1k4096/|m4096n64k4096/'
  filter[bench_conv]='n1c64h56w56k64r3s3p1u1/|n1c32h112w112k32r3s3p1u1g32/'
  extra[bench_spmm]="--dispatch_only --no_crossover"
  extra[bench_snn]="--sizes=4000 --no_brian2"
  filter[bench_snn]='snn_f32_event|steps_per_sync:100_fused'
fi
elapsed="{\"setup_and_build\": $t_build, \"calibrate\": $t_cal"
for b in bench_gemm bench_gemm_i8 bench_gemm_wq bench_spmm bench_conv bench_snn; do
  t0=$(date +%s)
  echo "bench-report: running $b (${reps} repetitions, min time ${min_time} s)" >&2
  args=(${extra[$b]} --benchmark_repetitions="$reps" --benchmark_min_time="$min_time"
        --benchmark_out="$work/$b.json" --benchmark_out_format=json)
  [ -n "${filter[$b]:-}" ] && args+=(--benchmark_filter="${filter[$b]}")
  if ! "$build/bench/$b" "${args[@]}" > "$work/$b.out" 2> "$work/$b.err"; then
    echo "bench-report: $b failed; the end of its output:" >&2
    tail -n 20 "$work/$b.out" "$work/$b.err" >&2
    exit 1
  fi
  elapsed="$elapsed, \"$b\": $(( $(date +%s) - t0 ))"
done
# The pipeline on a real model (the README's demo and issue 9's memory target): kernel choice, predictions for the
# RX 580 (model) and this device, and measurements on the test images, as `ellesmere run --json` reports them.
t0=$(date +%s)
data="$build/demo-data"
"$python" "$root/tools/demo-models/prepare.py" "$data" >&2
if [ "$quick" = 1 ]; then
  runs=("digits_mlp balanced")
else
  runs=("fmnist_cnn balanced" "fmnist_cnn memory --max-accuracy-drop 0.01")
fi
for r in "${runs[@]}"; do
  set -- $r
  model="$1" target="$2"
  shift 2
  ds="${model%%_*}"
  echo "bench-report: running the pipeline on $model at target $target $*" >&2
  if ! "$ell" run "$root/examples/models/$model.onnx" --target "$target" "$@" \
       --data "$data/${ds}_test_x.npy" --labels "$data/${ds}_test_y.npy" \
       --calibration "$data/${ds}_calib_x.npy" --calibration-labels "$data/${ds}_calib_y.npy" \
       --json "$work/pipeline-$model-$target.json" > "$work/pipeline-$model-$target.out" 2>&1; then
    echo "bench-report: the pipeline run failed; the end of its output:" >&2
    tail -n 20 "$work/pipeline-$model-$target.out" >&2
    exit 1
  fi
done
elapsed="$elapsed, \"pipeline\": $(( $(date +%s) - t0 ))"
elapsed="$elapsed, \"report\": $(( $(date +%s) - start )), \"total\": $(( $(date +%s) - t_build0 ))}"

cpu="$( (lscpu 2>/dev/null || true) | sed -n 's/^Model name: *//p' | head -n 1)"
"$python" - "$work/meta.json" "$command_line" "$reps" "$min_time" "$quick" "${cpu:-unknown}" "$(nproc)" \
  "$elapsed" <<'EOF'
import datetime, json, sys
path, command, reps, min_time, quick, cpu, cores, elapsed = sys.argv[1:]
json.dump({"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
           "command": command, "settings": {"repetitions": int(reps), "min_time_s": float(min_time),
                                            "quick": quick == "1"},
           "host": {"cpu": cpu, "cores": int(cores)}, "elapsed_s": json.loads(elapsed)}, open(path, "w"), indent=1)
EOF
key="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$work/profile.json")"
"$python" "$root/tools/bench-report.py" collect --work "$work" --out "$out/$key"
if [ -n "$readme" ]; then
  "$python" "$root/tools/bench-report.py" readme --report "$out/$key/report.json" --readme "$readme"
fi
echo "bench-report: done in $(( $(date +%s) - t_build0 )) s ($t_build s set-up and build, then" \
     "$(( $(date +%s) - start )) s calibration, benchmarks and pipeline)" >&2
