#!/usr/bin/env bash
# The main job on the default OpenCL device (PoCL on a machine without a GPU): set up and build, list the devices,
# then run the Fashion-MNIST CNN through the pipeline at target balanced: per-layer kernel choice, predictions for
# the RX 580 (model) and this device, execution on the 10000 test images, and the report of estimated against
# measured. The evaluation and calibration arrays are prepared from Debian's dataset-fashion-mnist.
# Usage (Debian 12, as root or with sudo): tools/run-demo.sh [extra `ellesmere run` options, e.g. --target memory]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$("$root/tools/build.sh")"
"$build/tools/ellesmere" devices
data="$build/demo-data"
/usr/bin/python3 "$root/tools/demo-models/prepare.py" "$data"
"$build/tools/ellesmere" run "$root/examples/models/fmnist_cnn.onnx" --target balanced \
  --data "$data/fmnist_test_x.npy" --labels "$data/fmnist_test_y.npy" \
  --calibration "$data/fmnist_calib_x.npy" --calibration-labels "$data/fmnist_calib_y.npy" \
  --json "$build/demo-report.json" "$@"
