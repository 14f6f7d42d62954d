#!/usr/bin/env bash
# Issue 9's cost-model acceptance: `ellesmere run` on both Fashion-MNIST demo models (MLP and CNN) at every target,
# then the per-layer |predicted - measured| / measured on this device, pooled over every layer row of the ten
# reports: median and worst. Needs a build (tools/build.sh) and Debian's python3 with numpy.
# Usage: tools/pipeline-prediction-check.sh [OUT_DIR]   (default build/prediction-check)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ELLESMERE_BUILD_DIR:-$root/build}"
out="${1:-$build/prediction-check}"
mkdir -p "$out"
/usr/bin/python3 "$root/tools/demo-models/prepare.py" "$out/data" > /dev/null
for model in fmnist_mlp fmnist_cnn; do
  for target in accuracy balanced speed memory extreme; do
    "$build/tools/ellesmere" run "$root/examples/models/$model.onnx" --target "$target" \
      --data "$out/data/fmnist_test_x.npy" --labels "$out/data/fmnist_test_y.npy" \
      --calibration "$out/data/fmnist_calib_x.npy" --calibration-labels "$out/data/fmnist_calib_y.npy" \
      --json "$out/$model-$target.json" > "$out/$model-$target.txt"
    echo "$model $target: $(grep 'prediction error' "$out/$model-$target.txt")"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import glob, json, sys
rows = []
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    r = json.load(open(f))
    for s in r["steps"]:
        if s["launches_kernels"] and s.get("measured_us"):
            e = (s["predicted_us"]["current"] - s["measured_us"]) / s["measured_us"]
            rows.append((abs(e), e, f.split("/")[-1][:-5], s["name"], s["kernel"]))
rows.sort()
n = len(rows)
med = rows[n // 2][0] if n % 2 else (rows[n // 2 - 1][0] + rows[n // 2][0]) / 2
print(f"pooled over {n} layer rows of both models and all targets: median |predicted - measured| / measured "
      f"{100 * med:.1f}%, worst {100 * rows[-1][0]:.1f}% ({rows[-1][2]}, {rows[-1][3]}, {rows[-1][4]})")
PY
