#!/usr/bin/python3
"""Spike raster of an `ellesmere snn --out spikes.csv` file (time_ms,population,index rows) as a PNG.

Usage: tools/snn-raster.py spikes.csv raster.png [--title TEXT] [--max-neurons N] [--from-ms T0] [--to-ms T1]

One row of dots per neuron, populations stacked in the order they first appear, each in its own colour, with a
population-rate trace (5 ms bins) below. Needs Debian's python3-matplotlib, so it runs under /usr/bin/python3 (a
pyenv or venv interpreter first on PATH would not see it).
"""
import argparse
import csv
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spikes")
    ap.add_argument("png")
    ap.add_argument("--title", default=None)
    ap.add_argument("--max-neurons", type=int, default=500, help="neurons per population to draw (default 500)")
    ap.add_argument("--from-ms", type=float, default=None)
    ap.add_argument("--to-ms", type=float, default=None)
    a = ap.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pops = {}   # name -> (times, indices), in order of first appearance
    with open(a.spikes, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ["time_ms", "population", "index"]:
            sys.exit(f"snn-raster: {a.spikes}: expected the header time_ms,population,index, got {header}")
        for line, row in enumerate(reader, start=2):
            if len(row) != 3:
                sys.exit(f"snn-raster: {a.spikes}:{line}: expected 3 fields, got {len(row)}")
            try:
                t, name, i = float(row[0]), row[1], int(row[2])
            except ValueError as e:
                sys.exit(f"snn-raster: {a.spikes}:{line}: {e}")
            if (a.from_ms is not None and t < a.from_ms) or (a.to_ms is not None and t >= a.to_ms):
                continue
            ts, ix = pops.setdefault(name, ([], []))
            ts.append(t)
            ix.append(i)

    fig, (ax, ax_rate) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    offset = 0
    t_max = max((max(ts) for ts, _ in pops.values() if ts), default=1.0)
    bins = max(1, int(t_max / 5.0) + 1)
    for k, (name, (ts, ix)) in enumerate(pops.items()):
        shown = [(t, i) for t, i in zip(ts, ix) if i < a.max_neurons]
        colour = f"C{k % 10}"
        ax.scatter([t for t, _ in shown], [offset + i for _, i in shown], s=1, color=colour, label=name,
                   rasterized=True)
        height = min(a.max_neurons, max(ix) + 1 if ix else 1)
        offset += height
        ax_rate.hist(ts, bins=bins, range=(0, bins * 5.0), histtype="step", color=colour, label=name)
    ax.set_ylabel("neuron")
    ax.legend(loc="upper right", markerscale=8)
    ax.set_title(a.title or a.spikes)
    ax_rate.set_xlabel("time (ms)")
    ax_rate.set_ylabel("spikes / 5 ms")
    fig.tight_layout()
    fig.savefig(a.png, dpi=120)
    total = sum(len(ts) for ts, _ in pops.values())
    print(f"snn-raster: {total} spikes of {len(pops)} population(s) -> {a.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
