#!/usr/bin/env python3
"""Plot mali-sim results to PNG.

  plot.py timeseries RUN.csv [-o OUT.png]      heap RSS and faults per epoch over time
  plot.py compare COMPARE.json [-o OUT.png]    cycles, stalls, faults and peak heap RSS per run

RUN.csv is what `mali-sim run --timeseries RUN.csv --epoch N` writes: a header row, then one row of
cumulative counters per epoch. COMPARE.json is what `mali-sim compare --json` writes:
{"runs": [{"label": ..., "results": {"cycles": N, "stall_cycles": N, "faults": N,
"heap_rss_peak_bytes": N, ...}}, ...]}. Needs only Debian's python3-matplotlib
(scripts/install-deps.sh --plots). Errors are one line on stderr and exit status 2.
"""

import argparse
import csv
import json
import math
import os
import sys

MIB = 1 << 20
TIMESERIES_COLUMNS = ("cycle", "heap_rss_bytes", "faults", "grows", "stall_cycles", "accesses_done")


class PlotError(Exception):
    """A problem with the input, reported as one line without a traceback."""


def load_pyplot():
    # Imported late so that --help and input errors work without matplotlib, and with the Agg
    # backend so that no display is needed (CI, ssh).
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError(
            f"matplotlib is not available to {sys.executable}; install python3-matplotlib "
            "(scripts/install-deps.sh --plots) and run with Debian's /usr/bin/python3"
        ) from None
    return plt


def number(text, where):
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise PlotError(f"{where}: not a number: {text!r}") from None
    if not math.isfinite(value):
        raise PlotError(f"{where}: not a finite number: {text!r}")
    return value


def read_timeseries(path):
    """Columns by name: {column: [values]} for the required columns; extra columns are ignored."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise PlotError(f"{path}: {e.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise PlotError(f"{path}: not a CSV file ({e})") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise PlotError(f"{path}: empty file, expected a header row")
    header = [cell.strip() for cell in rows[0]]
    for name in TIMESERIES_COLUMNS:
        if name not in header:
            raise PlotError(f"{path}: missing column '{name}' (header: {','.join(header)})")
    index = {name: header.index(name) for name in TIMESERIES_COLUMNS}
    data = {name: [] for name in TIMESERIES_COLUMNS}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a trailing blank line
        if len(row) != len(header):
            raise PlotError(f"{path}: line {line}: {len(row)} fields, the header has {len(header)}")
        for name, i in index.items():
            data[name].append(number(row[i], f"{path}: line {line}, column '{name}'"))
    if not data["cycle"]:
        raise PlotError(f"{path}: no data rows after the header")
    return data


def per_epoch(cumulative):
    # Counters start at 0 with the run, so the first epoch's count is its own value.
    return [b - a for a, b in zip([0.0] + cumulative[:-1], cumulative)]


def plot_timeseries(args):
    data = read_timeseries(args.input)
    plt = load_pyplot()
    from matplotlib.ticker import MaxNLocator

    x = [c / 1e6 for c in data["cycle"]]
    fig, (rss, faults) = plt.subplots(2, 1, sharex=True, figsize=(9, 6), constrained_layout=True)
    fig.suptitle(os.path.basename(args.input))

    rss.plot(x, [b / MIB for b in data["heap_rss_bytes"]], color="tab:blue")
    rss.set_ylabel("heap RSS (MiB)")
    rss.set_ylim(bottom=0)
    rss.grid(True, alpha=0.3)

    # Each sample closes an epoch: a step drawn back to the previous sample covers that epoch.
    faults.step(x, per_epoch(data["faults"]), where="pre", color="tab:red", label="faults")
    faults.step(x, per_epoch(data["grows"]), where="pre", color="tab:green", linestyle="--", label="grows")
    faults.set_ylabel("per epoch")
    faults.yaxis.set_major_locator(MaxNLocator(integer=True))
    faults.set_ylim(bottom=0)
    faults.set_xlabel("time (million cycles)")
    faults.legend(loc="upper right")
    faults.grid(True, alpha=0.3)

    save(fig, args.output)


def read_compare(path):
    """[(label, {metric: value})] for the four plotted metrics, in run order."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise PlotError(f"{path}: {e.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PlotError(f"{path}: not valid JSON ({e})") from None
    runs = doc.get("runs") if isinstance(doc, dict) else None
    if not isinstance(runs, list) or not runs:
        raise PlotError(f"{path}: expected an object with a non-empty 'runs' list")
    out = []
    for i, run in enumerate(runs):
        where = f"{path}: runs[{i}]"
        if not isinstance(run, dict) or not isinstance(run.get("results"), dict):
            raise PlotError(f"{where}: expected an object with 'label' and 'results'")
        label = str(run.get("label", f"run {i}"))
        results = run["results"]
        values = {}
        for key in ("cycles", "stall_cycles", "faults", "heap_rss_peak_bytes"):
            if key not in results:
                raise PlotError(f"{where} ('{label}'): results has no '{key}'")
            value = results[key]
            # mali-sim writes faults as an object ({"recorded": N, "by_type": ...}); a bare count works too.
            if isinstance(value, dict) and "recorded" in value:
                value = value["recorded"]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise PlotError(f"{where} ('{label}'): results.{key} is not a number")
            values[key] = float(value)
        out.append((label, values))
    return out


def compact(value):
    if value == 0:
        return "0"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def plot_compare(args):
    runs = read_compare(args.input)
    plt = load_pyplot()
    from matplotlib.ticker import FuncFormatter

    labels = [label for label, _ in runs]
    panels = (
        ("cycles", "total cycles", 1.0),
        ("stall_cycles", "stall cycles", 1.0),
        ("faults", "faults", 1.0),
        ("heap_rss_peak_bytes", "peak heap RSS (MiB)", 1.0 / MIB),
    )
    width = max(8.0, 1.2 * len(runs) * 2)
    fig, axes = plt.subplots(2, 2, figsize=(width, 7), constrained_layout=True)
    fig.suptitle(os.path.basename(args.input))
    colors = [f"C{i % 10}" for i in range(len(runs))]
    positions = list(range(len(runs)))
    for ax, (key, title, scale) in zip(axes.flat, panels):
        values = [v[key] * scale for _, v in runs]
        bars = ax.bar(positions, values, color=colors)
        ax.bar_label(bars, labels=[compact(v) for v in values], fontsize=8)
        ax.set_title(title)
        ax.set_xticks(positions)
        # Long labels (policy + preset) stay readable when tilted.
        long_labels = max(len(label) for label in labels) * len(labels) > 36
        ax.set_xticklabels(labels, rotation=30 if long_labels else 0, ha="right" if long_labels else "center")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: compact(v)))
        ax.margins(y=0.15)
        ax.grid(True, axis="y", alpha=0.3)
    save(fig, args.output)


def save(fig, path):
    try:
        fig.savefig(path, dpi=110)
    except OSError as e:
        raise PlotError(f"{path}: cannot write: {e.strerror}") from None
    print(f"plot.py: wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="plot.py",
        description="Plot mali-sim results (PNG, no display needed).",
        epilog="Errors print one line and exit with status 2.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    ts = sub.add_parser(
        "timeseries",
        help="heap RSS and faults per epoch over time, from `mali-sim run --timeseries` CSV",
        description="Two panels over time (million cycles): heap RSS in MiB, and faults and grows per "
        "epoch. Needs columns " + ", ".join(TIMESERIES_COLUMNS) + " (others are ignored).",
    )
    ts.add_argument("input", metavar="RUN.csv")
    ts.add_argument("-o", "--output", help="PNG to write (default: the input with .png)")
    ts.set_defaults(func=plot_timeseries)
    cmp = sub.add_parser(
        "compare",
        help="bar charts per run, from `mali-sim compare --json` output",
        description="Bar charts of total cycles, stall cycles, faults and peak heap RSS for each run "
        'label of {"runs": [{"label": ..., "results": {...}}, ...]}.',
    )
    cmp.add_argument("input", metavar="COMPARE.json")
    cmp.add_argument("-o", "--output", help="PNG to write (default: the input with .png)")
    cmp.set_defaults(func=plot_compare)

    args = parser.parse_args(argv)
    if not args.output:
        args.output = os.path.splitext(args.input)[0] + ".png"
    try:
        args.func(args)
    except PlotError as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
