#!/usr/bin/env python3
"""How well repeated runs of one grid agree: each method's headline ratio (the reference
method's time at its best batch size over the method's at its own best), with its 95% interval,
in every results folder given; the spread of each ratio across them ((max - min) / median), and
whether each folder's interval covers every other folder's ratio.

  python workflow/scripts/repeatability.py results/run-1 results/run-2 results/run-3
"""

import argparse
import statistics
import sys
from pathlib import Path

from tabulate import tabulate

from common import measured, read_summary
from uncertainty import parse_times, ratio_interval


def headline_ratios(folder: Path, reference: str, device: str) -> dict[str, tuple[float, float | None, float | None]]:
    done = measured(read_summary(folder / "summary.csv"))
    done = done[done["device"] == device]
    best = done.loc[done.groupby("method", sort=False)["mean"].idxmin()].set_index("method")
    if reference not in best.index:
        sys.exit(f"repeatability.py: error: {folder}: no measured `{reference}` cell on {device}")
    anchor = parse_times(best.loc[reference, "times"])
    return {method: ratio_interval(anchor, parse_times(row["times"])) for method, row in best.iterrows()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--reference", default="baseline")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    runs = [headline_ratios(folder, args.reference, args.device) for folder in args.folders]
    methods = [method for method in runs[0] if method != args.reference and all(method in run for run in runs)]
    if not methods:
        sys.exit(f"repeatability.py: error: no method besides `{args.reference}` was measured in every folder")
    rows, spreads, covered = [], [], 0
    for method in methods:
        found = [run[method] for run in runs]
        ratios = [ratio for ratio, _, _ in found]
        spread = (max(ratios) - min(ratios)) / statistics.median(ratios)
        covers = all(low is not None and low <= other <= high for ratio, low, high in found for other in ratios)
        spreads.append(spread)
        covered += covers
        cells = [f"{r:.2f}× [{lo:.2f}–{hi:.2f}]" if lo is not None else f"{r:.2f}×" for r, lo, hi in found]
        rows.append([f"`{method}`", *cells, f"±{100 * spread / 2:.1f}%", "yes" if covers else "no"])
    headers = ["Method", *map(str, args.folders), "spread (half of max-min)", "intervals cover all"]
    print(tabulate(rows, headers=headers, tablefmt="github"))
    within = sum(spread / 2 <= 0.05 for spread in spreads)
    median, largest = 100 * statistics.median(spreads) / 2, 100 * max(spreads) / 2
    print(
        f"\n{len(methods)} headline ratios (vs `{args.reference}` at its best batch size, {args.device}): "
        f"{within} agree within ±5% across the {len(runs)} runs (median spread ±{median:.1f}%, largest "
        f"±{largest:.1f}%); {covered} have every run's interval covering every run's ratio."
    )


if __name__ == "__main__":
    main()
