#!/usr/bin/env bash
# Installs the built library into a scratch prefix, then configures, builds and runs tests/package (a
# find_package(ellesmere) consumer) against that install tree only.
#   run_package_test.sh BUILD_DIR WORK_DIR CONSUMER_SOURCE_DIR
set -euo pipefail
build="$1" work="$2" src="$3"
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$src" -B "$work/consumer-build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
      > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/consumer-build" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/consumer-build/consumer"
