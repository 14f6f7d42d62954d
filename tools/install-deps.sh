#!/usr/bin/env bash
# Installs ellesmere's build, test and benchmark dependencies from Debian 12 packages.
# Idempotent: packages already present are not touched, and nothing runs when all are there.
# Used by tools/run-demo.sh, tools/run-tests.sh and .ci/run; run it as root or through sudo.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git ca-certificates
  # the sanitizer and fuzzing build (CMakePresets.json preset "sanitize"): clang 15 (std::source_location, _Float16),
  # lld, the ASan/UBSan/libFuzzer runtimes, and llvm-symbolizer for readable sanitizer reports
  clang-15 lld libclang-common-15-dev llvm
  # OpenCL: ICD loader, C and C++ (Khronos CL/opencl.hpp) headers, CPU device, simulator, clinfo
  ocl-icd-opencl-dev opencl-headers opencl-clhpp-headers pocl-opencl-icd oclgrind clinfo
  # libraries
  libclblast-dev libeigen3-dev libbenchmark-dev libgtest-dev libgmock-dev
  # IEEE half <-> float conversions (header-only)
  libfp16-dev
  # real ONNX files (node tests with input and output tensors) for the loaders and op tests
  libonnx-testdata
  # peer libraries the benchmarks compare with, where installed (oneDNN int8 matmul)
  libdnnl-dev libviennacl-dev libopencv-dev
  # spiking networks: Brian2 (the peer of bench_snn, cython runtime) and matplotlib (tools/snn-raster.py)
  python3-brian cython3 python3-matplotlib
  nlohmann-json3-dev libcli11-dev libfmt-dev libprotobuf-dev protobuf-compiler libonnx-dev
  # the pipeline's demo: Fashion-MNIST and the digits set shipped with scikit-learn, read by Debian's python3 with
  # numpy (tools/demo-models/prepare.py); python3-onnx for the demo-model scripts
  dataset-fashion-mnist python3-sklearn python3-numpy python3-onnx
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "install-deps: missing packages and not root (no sudo): ${missing[*]}" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
