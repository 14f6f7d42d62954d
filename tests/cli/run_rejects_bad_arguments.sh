#!/usr/bin/env bash
# `ellesmere run` with bad arguments or files: each invocation must exit non-zero and print one
# "ellesmere: error: ..." line naming what is wrong (the README's bad-input catalogue cites these cases).
# Usage: run_rejects_bad_arguments.sh <ellesmere CLI> <source dir> <work dir>
set -uo pipefail
cli="$1" src="$2" work="$3"
rm -rf "$work" && mkdir -p "$work"
model="$src/examples/models/digits_mlp.onnx"
data=(--data "$src/tests/data/f32_3x5.npy")
failures=0
expect() {   # expected-substring args...
  local want="$1"; shift
  local out rc
  out=$("$cli" "$@" 2>&1); rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "FAIL (exit 0): ellesmere $*"; failures=$((failures + 1)); return
  fi
  if ! grep -qF "ellesmere: error: " <<<"$out" || ! grep -qF -- "$want" <<<"$out"; then
    echo "FAIL (exit $rc, no \"ellesmere: error: ...$want\"): ellesmere $*"; echo "$out" | tail -3 | sed 's/^/    /'
    failures=$((failures + 1)); return
  fi
  echo "ok   (exit $rc) $(grep -F 'ellesmere: error: ' <<<"$out" | head -1 | cut -c1-150)"
}
expect "give --data X.npy" run "$model"
expect "give either --input (plain inference) or --data, not both" run "$model" "${data[@]}" --input a=b
expect "--memory-budget '12Q': unknown unit 'Q'" run "$model" "${data[@]}" --memory-budget 12Q
expect "--profile 'gtx': use current" run "$model" "${data[@]}" --profile gtx
expect "--batch 0 is out of range" run "$model" "${data[@]}" --batch 0
expect "--max-accuracy-drop 1.5 is a fraction" run "$model" "${data[@]}" --max-accuracy-drop 1.5
expect "--max-accuracy-drop needs --labels" run "$model" "${data[@]}" --max-accuracy-drop 0.01
expect "unknown target 'fastest'" run "$model" "${data[@]}" --target fastest
expect "f32_3x5.npy has shape (3, 5), 3 samples of shape (5,), but input 'input' is declared (-1, 1, 8, 8) (first dimension: the batch; -1: any): a sample needs rank 3, not 1" run "$model" "${data[@]}"
expect "nothere.onnx: cannot open for reading" run "$work/nothere.onnx" "${data[@]}"
expect "README.md: not a valid ONNX model: protobuf parsing failed" run "$src/README.md" "${data[@]}"
expect "--input 'bogus': expected NAME=FILE" run "$model" --input bogus --output-dir "$work/out"
expect "nothere.npy: cannot open for reading" run "$model" --input "input=$work/nothere.npy" --output-dir "$work/out"
expect "README.md: unknown tensor file type" run "$model" --input "input=$src/README.md" --output-dir "$work/out"
if [ "$failures" -ne 0 ]; then echo "$failures case(s) failed"; exit 1; fi
echo "all cases rejected with a clear error"
