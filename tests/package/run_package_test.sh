#!/usr/bin/env bash
# Installs ellesmere into a scratch prefix, then configures, builds and runs tests/package (a find_package(ellesmere)
# consumer) against that install tree only.
#   run_package_test.sh shared BUILD_DIR WORK_DIR CONSUMER_SOURCE_DIR   installs the already-built shared library
#   run_package_test.sh static SOURCE_DIR WORK_DIR CONSUMER_SOURCE_DIR  builds the library alone as a static library
set -euo pipefail
mode="$1" tree="$2" work="$3" src="$4"
rm -rf "$work" && mkdir -p "$work"
if [ "$mode" = static ]; then
  cmake -S "$tree" -B "$work/static-build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
        -DELLESMERE_BUILD_TESTS=OFF -DELLESMERE_BUILD_BENCH=OFF -DELLESMERE_BUILD_TOOLS=OFF > "$work/library.log" \
    && cmake --build "$work/static-build" -j"$(nproc)" >> "$work/library.log" 2>&1 \
    || { tail -n 40 "$work/library.log"; exit 1; }
  tree="$work/static-build"
fi
cmake --install "$tree" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$src" -B "$work/consumer-build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
      > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/consumer-build" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/consumer-build/consumer"
