#!/usr/bin/env bash
# Set up and build, then run the whole test suite through ctest (labels unit, device, oclgrind, polaris,
# package). Extra arguments go to ctest, e.g. tools/run-tests.sh -L unit
# Usage (Debian 12, as root or with sudo): tools/run-tests.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$("$root/tools/build.sh")"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
