#!/usr/bin/python3
"""Checks a performance report (tools/bench-report.sh) and the README generated from it.

  check_report.py REPORT_JSON README [--quick] [--whole-readme]

- the JSON has the schema, the device, the calibrated and model profiles, at least one row of ours per family that
  ran, and every comparison's ratio equals peer / ours recomputed from the two rows it names;
- the PNGs it lists exist and are PNG files of a legible size;
- the README's generated section is exactly what tools/bench-report.py generates from the JSON, names the device,
  and every ratio in it (a number followed by "x") is the display of a comparison, target or pipeline value;
- the targets and geometric means equal those recomputed from the rows;
- --whole-readme: every ratio anywhere else in the README too, except the by-construction ratios listed below
  (facts of a format, not measurements);
- --quick: the section says it is a quick smoke run.
Exit 1 with every problem listed.
"""
import json
import os
import re
import struct
import sys

import importlib.util

spec = importlib.util.spec_from_file_location(
    "bench_report", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "bench-report.py"))
br = importlib.util.module_from_spec(spec)
spec.loader.exec_module(br)

# Ratios in the README that are facts of a format or a definition, not measurements: (phrase containing it, why).
BY_CONSTRUCTION = [
    ("4x smaller", "INT8 weights: 1 byte against fp32's 4"),
    ("4x fewer bytes", "INT8 weights: 1 byte against fp32's 4"),
    ("~7x more layer", "Q4_0: 4.5 bits per weight against 32"),
    ("0.5x Brian2", "the issue's target, stated as a target"),
    ("3x the best so far", "the tuner's early-stop rule"),
    ("0.5x, 0.7x, 1.4x and 2x", "the cost model's calibration sizes"),
]
RATIO = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)[x×](?![\w])")


def problems_of(report, report_path, readme_text, quick, whole, readme_path):
    problems = []
    if report.get("schema") != br.SCHEMA:
        problems.append(f"schema {report.get('schema')!r}")
    for key in ("device", "profile", "model_profile", "families", "comparisons", "targets", "date", "command"):
        if key not in report:
            problems.append(f"no {key!r} in the report")
    if problems:
        return problems
    if not report["model_profile"].get("model_estimate"):
        problems.append("the RX 580 profile is not marked as a model estimate")
    rows = {}   # (family, row name) -> row
    for fid, fam in report["families"].items():
        ours = [e["ours"] for e in fam["entries"] if e["ours"] and "error" not in e["ours"]]
        if not ours:
            problems.append(f"{fid}: no row of ours ran")
        for e in fam["entries"]:
            for r in [e["ours"], e["default"]] + list(e["peers"].values()):
                if r:
                    rows[(fid, r["name"])] = r
                    if "error" not in r and not (r["min_ms"] <= r["median_ms"] <= r["max_ms"]):
                        problems.append(f"{r['name']}: median outside [min, max]")
    for c in report["comparisons"]:
        a, b = rows.get((c["family"], c["peer_row"])), rows.get((c["family"], c["ours"]))
        if a is None or b is None:
            problems.append(f"comparison {c['family']} {c['problem']} {c['peer']}: names a row that is not there")
            continue
        expect = br.ratio(a, b, c["metric"])
        if (expect is None) != (c["ratio"] is None) or (expect and abs(expect - c["ratio"]) > 1e-9 * expect):
            problems.append(f"comparison {c['peer_row']} / {c['ours']}: ratio {c['ratio']} != {expect}")
    for want, got in zip(br.targets_of(report["families"], report["comparisons"]), report["targets"]):
        if (want["value"], want["met"], want["target"]) != (got["value"], got["met"], got["target"]):
            problems.append(f"target {got['target']!r}: stored {got['value']} (met {got['met']}), recomputed "
                            f"{want['value']} (met {want['met']})")
    if len(report["targets"]) != len(br.targets_of(report["families"], report["comparisons"])):
        problems.append("the report's targets are not the targets recomputed from its rows")
    for g in report.get("geomeans", []):
        cs = [c["ratio"] for c in report["comparisons"]
              if c["family"] == g["family"] and c["peer"] == g["peer"] and c["ratio"]]
        v = br.geomean(cs)
        if v is None or abs(v - g["ratio"]) > 1e-9 * v or len(cs) != g["n"]:
            problems.append(f"geometric mean {g['family']} {g['peer']}: stored {g['ratio']}, recomputed {v}")
    report_dir = os.path.dirname(os.path.abspath(report_path))
    key = report["device"]["key"]
    pngs = report.get("pngs", [])
    if f"roofline_{key}.png" not in pngs:
        problems.append("no roofline PNG listed in the report")
    for p in pngs:
        path = os.path.join(report_dir, p)
        try:
            with open(path, "rb") as f:
                head = f.read(24)
            if head[:8] != b"\x89PNG\r\n\x1a\n":
                problems.append(f"{p}: not a PNG file")
            else:
                w, h = struct.unpack(">II", head[16:24])
                if w < 600 or h < 300:
                    problems.append(f"{p}: {w}x{h} pixels, too small to read")
        except OSError as e:
            problems.append(f"{p}: {e}")
    # The README section.
    begin, end = readme_text.find(br.BEGIN), readme_text.find(br.END)
    if begin < 0 or end < begin:
        return problems + ["README: no generated section (markers missing)"]
    section = readme_text[begin:end]
    base = os.path.dirname(os.path.abspath(readme_path))
    report_rel = os.path.relpath(os.path.abspath(report_path), base)
    expected = br.readme_section(report, report_rel, os.path.dirname(report_rel) or ".", report_dir)
    if readme_text[begin:end + len(br.END)] != expected:
        exp_lines, got_lines = expected.splitlines(), readme_text[begin:end + len(br.END)].splitlines()
        first = next((i for i, (a, b) in enumerate(zip(exp_lines, got_lines)) if a != b),
                     min(len(exp_lines), len(got_lines)))
        got_line = got_lines[first] if first < len(got_lines) else "(end)"
        problems.append(f"README section differs from what the report JSON generates, first at its line {first + 1}: "
                        f"{got_line[:160]!r}")
    if key not in section:
        problems.append(f"README section does not name the device {key}")
    if quick != ("QUICK SMOKE RUN" in section):
        problems.append("README section's quick-run notice " + ("missing" if quick else "present in a full run"))
    shown = {br.fratio(c["ratio"]) for c in report["comparisons"] if c["ratio"]}
    shown |= {t["display"] for t in report["targets"]}
    shown_numbers = {s[:-1] for s in shown if s.endswith("x")}
    shown_numbers |= {br.fratio(g["ratio"])[:-1] for g in report.get("geomeans", [])}
    for text in report.get("extra", {}).values():   # binaries' own printed reports, kept verbatim in the JSON
        shown_numbers |= {m.group(1) for m in RATIO.finditer(text)}
    for r in report.get("pipeline", []):
        shown_numbers |= {br.fratio(v)[:-1] for v in r["ratios"].values() if v}
        shown_numbers |= {f"{v:.2f}" for v in r["ratios"].values() if v}   # as `ellesmere run` prints them
    for t in report["targets"]:   # the goals as the JSON states them ("≥ 1.2x `peer_eigen_sgemm`")
        shown_numbers |= {m.group(1) for m in RATIO.finditer(t["target"])}
    for m in RATIO.finditer(section):
        if m.group(1) not in shown_numbers and m.group(0) not in ("1x",):
            problems.append(f"README section: ratio {m.group(0)} is not a comparison or target of the JSON")
    if whole:
        outside = readme_text[:begin] + readme_text[end:]
        outside = re.sub(r"```.*?```", "", outside, flags=re.S)   # code blocks: shapes, commands
        for line in outside.splitlines():
            for m in RATIO.finditer(line):
                ctx = line[max(0, m.start() - 20):m.end() + 20]
                if any(phrase in line and m.group(0) in phrase for phrase, _ in BY_CONSTRUCTION):
                    continue
                if m.group(1) in shown_numbers:
                    continue
                problems.append(f"README (outside the generated section): ratio {m.group(0)} in '...{ctx}...' "
                                f"is not in the report JSON")
    return problems


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[1]) as f:
        readme_text = f.read()
    if args[0] == "auto":   # the report the README's generated section links to
        m = re.search(r"Full data: \[`([^`]+report\.json)`\]", readme_text)
        if not m:
            print("check_report: the README's generated section links no report JSON")
            return 1
        args[0] = os.path.join(os.path.dirname(os.path.abspath(args[1])), m.group(1))
    with open(args[0]) as f:
        report = json.load(f)
    problems = problems_of(report, args[0], readme_text, "--quick" in sys.argv, "--whole-readme" in sys.argv,
                           args[1])
    for p in problems:
        print(f"check_report: {p}")
    if problems:
        print(f"check_report: {len(problems)} problem(s)")
        return 1
    n = len(report["comparisons"])
    print(f"check_report: ok ({n} comparisons, {len(report['targets'])} targets, README section consistent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
