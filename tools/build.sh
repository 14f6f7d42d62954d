#!/usr/bin/env bash
# Shared set-up for tools/run-demo.sh and tools/run-tests.sh: install missing Debian packages, then configure and
# build Release into build/ (or $ELLESMERE_BUILD_DIR). Prints the build directory on stdout, all else on stderr.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ELLESMERE_BUILD_DIR:-$root/build}"
# Progress goes to stderr so that stdout carries only the build directory.
"$root/tools/install-deps.sh" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$build" -j"$(nproc)" >&2
echo "$build"
