#!/usr/bin/env python3
"""Markdown table of a bench_conv JSON (--benchmark_repetitions=N --benchmark_report_aggregates_only=true): per
problem, the medians of conv_f16 (dispatch's choice), conv_f32storage and the peers, our speedups over them, and
the geometric means of those speedups over the problems that have them.
Usage: tools/conv-bench-table.py bench/results/<device>_conv_f16.json"""
import json
import math
import sys


def main(path):
    with open(path) as f:
        data = json.load(f)
    rows = {}   # problem -> {row name -> (median ms, label)}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name, problem = b["run_name"].split("/")[:2]
        ms = b["real_time"] * {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
        rows.setdefault(problem, {})[name] = (ms, b.get("label", ""))
    peers = ["peer_clblast_convgemm", "peer_opencv_conv", "peer_opencv_conv_ocl"]
    print("| problem | chosen Impl | conv_f16 ms | fp32 storage ms | CLBlast ms | OpenCV CPU ms | OpenCV OCL ms |"
          " x CLBlast | x OpenCV CPU | x OpenCV OCL |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    logs = {p: [] for p in peers}
    for problem, r in rows.items():
        if "conv_f16" not in r:
            continue
        ours, label = r["conv_f16"]
        cells = [f"`{problem.removeprefix('conv_f16:')}`", label.split(" ")[0].removeprefix("conv_f16_"),
                 f"{ours:.2f}", f"{r['conv_f32storage'][0]:.2f}" if "conv_f32storage" in r else "-"]
        ratios = []
        for p in peers:
            cells.append(f"{r[p][0]:.2f}" if p in r else "-")
            if p in r:
                ratios.append(f"{r[p][0] / ours:.2f}")
                logs[p].append(math.log(r[p][0] / ours))
            else:
                ratios.append("-")
        print("| " + " | ".join(cells + ratios) + " |")
    print()
    for p in peers:
        if logs[p]:
            print(f"geometric mean of conv_f16's speedup over {p}: {math.exp(sum(logs[p]) / len(logs[p])):.2f}x"
                  f" over {len(logs[p])} problems")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
