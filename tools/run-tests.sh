#!/usr/bin/env bash
# Set up and build, then run the whole test suite through ctest, in two stages:
#   1. the Release build (build/): labels unit, device, oclgrind, polaris, package;
#   2. the preset "sanitize" (build-sanitize/, clang, ASan + LeakSanitizer + UBSan): labels unit, device and
#      polaris on the device tests' small shapes, and fuzz (every loader's libFuzzer target for 60 s, plus replay of
#      its seeds and committed regression inputs). CMakePresets.json holds the flags and the environment.
# Extra arguments go to stage 1's ctest only and skip stage 2, e.g. tools/run-tests.sh -L unit;
# ELLESMERE_SANITIZE_STAGE=0 skips stage 2, ELLESMERE_SANITIZE_STAGE=only runs stage 2 alone.
# Usage (Debian 12, as root or with sudo): tools/run-tests.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stage2="${ELLESMERE_SANITIZE_STAGE:-1}"
[ $# -gt 0 ] && stage2=0
t0=$SECONDS
if [ "$stage2" != only ]; then
  build="$("$root/tools/build.sh")"
  ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
  echo "run-tests: stage 1 (Release) passed in $((SECONDS - t0)) s" >&2
fi
if [ "$stage2" != 0 ]; then
  t1=$SECONDS
  "$root/tools/install-deps.sh" >&2
  cd "$root"
  cmake --preset sanitize >&2
  cmake --build --preset sanitize -j"$(nproc)" >&2
  ctest --preset sanitize -j"$(nproc)"
  echo "run-tests: stage 2 (sanitize: ASan + UBSan, small shapes, fuzz) passed in $((SECONDS - t1)) s" >&2
fi
