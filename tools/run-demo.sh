#!/usr/bin/env bash
# The main job on the default OpenCL device (PoCL on a machine without a GPU): set up and build, list the
# devices, then run every op's Impls on a small problem against the Eigen reference.
# Usage (Debian 12, as root or with sudo): tools/run-demo.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$("$root/tools/build.sh")"
"$build/tools/ellesmere" devices
"$build/tools/ellesmere" selfcheck
