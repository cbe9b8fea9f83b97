#!/usr/bin/env python3
"""How well repeated runs of one grid agree: each method's headline ratio (the reference
method's time at its best batch size over the method's at its own best), with its 95% interval,
in every results folder given; the spread of each ratio across them ((max - min) / median), and
whether each folder's interval covers every other folder's ratio.

Even intervals that are exactly right do not always cover another repeat's ratio: that ratio
has its own noise, so for three repeats of 3 runs each, about a quarter of the ratios miss with
no drift at all. Three figures tell drift from that noise:
- the number of ratios whose intervals would all cover, expected if the repeats differed only as
  their intervals allow (simulated from each repeat's own standard error and interval);
- Cochran's Q: whether a ratio's repeats differ by more than their runs' standard errors allow
  (χ² with k - 1 degrees of freedom, p < 0.05), and DerSimonian–Laird's τ, the spread between
  repeats beyond that noise (as a percentage of the ratio);
- the drift pooled over every ratio (the same estimator on all of them at once): the machine's
  drift between grids, which no interval from one grid's runs can hold. Set as
  benchmark.drift_pct (or --drift-pct here, to judge intervals that hold it), every interval
  holds it too.

  python workflow/scripts/repeatability.py results/run-1 results/run-2 results/run-3
  python workflow/scripts/repeatability.py --drift-pct 3 results/run-{1,2,3}
"""

import argparse
import math
import statistics
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tabulate import tabulate

from common import measured, read_summary
from uncertainty import log_ratio, parse_times, ratio_interval

SIMULATED_REPEATS = 20_000


class Ratio(NamedTuple):
    """One folder's headline ratio of a method; the rest None where a cell has a single run."""

    ratio: float
    low: float | None
    high: float | None
    runs_error: float | None  # the standard error of its log from the runs alone
    error: float | None  # ... and with the drift the interval holds


def headline_ratios(folder: Path, reference: str, device: str, drift_pct: float) -> dict[str, Ratio]:
    done = measured(read_summary(folder / "summary.csv"))
    done = done[done["device"] == device]
    best = done.loc[done.groupby("method", sort=False)["mean"].idxmin()].set_index("method")
    if reference not in best.index:
        sys.exit(f"repeatability.py: error: {folder}: no measured `{reference}` cell on {device}")
    anchor = parse_times(best.loc[reference, "times"])
    found = {}
    for method, row in best.iterrows():
        times = parse_times(row["times"])
        ratio, low, high = ratio_interval(anchor, times, drift_pct)
        errors = (log_ratio(anchor, times)[1], log_ratio(anchor, times, drift_pct)[1]) if low else (None, None)
        found[method] = Ratio(ratio, low, high, *errors)
    return found


def cochran(found: list[Ratio]) -> tuple[float, float] | None:
    """(Q, the denominator of DerSimonian–Laird's τ²) of one ratio's repeats, weighted by their
    runs' standard errors; None where a repeat has none (a single run, or runs all alike)."""
    if any(not r.runs_error for r in found):
        return None
    logs = np.log([r.ratio for r in found])
    weights = 1 / np.square([r.runs_error for r in found])
    centre = (weights * logs).sum() / weights.sum()
    return float((weights * (logs - centre) ** 2).sum()), float(weights.sum() - (weights**2).sum() / weights.sum())


def drift_pct(q: float, scale: float, degrees: int) -> float:
    """DerSimonian–Laird's τ (the spread beyond the runs' noise) as a percentage of the ratio."""
    return 100 * math.expm1(math.sqrt(max(0.0, (q - degrees) / scale)))


def chance_all_cover(found: list[Ratio], rng: np.random.Generator) -> float | None:
    """The chance that every repeat's interval covers every repeat's ratio if they differed only
    as the intervals allow: each log ratio drawn around one value with its interval's standard
    error, each interval as wide as it was measured."""
    if any(r.low is None for r in found):
        return None
    errors = np.array([r.error for r in found])
    below = np.log([r.ratio / r.low for r in found])
    above = np.log([r.high / r.ratio for r in found])
    draws = rng.standard_normal((SIMULATED_REPEATS, len(found))) * errors
    # Repeat i's interval [y_i - below_i, y_i + above_i] must hold every y_j.
    gaps = draws[:, None, :] - draws[:, :, None]  # [draw, i, j] = y_j - y_i
    covered = (gaps >= -below[None, :, None]) & (gaps <= above[None, :, None])
    return float(covered.all(axis=(1, 2)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--reference", default="baseline")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--drift-pct", type=float, default=0.0, help="a drift the intervals hold (benchmark.drift_pct)")
    args = parser.parse_args()
    runs = [headline_ratios(folder, args.reference, args.device, args.drift_pct) for folder in args.folders]
    methods = [method for method in runs[0] if method != args.reference and all(method in run for run in runs)]
    if not methods:
        sys.exit(f"repeatability.py: error: no method besides `{args.reference}` was measured in every folder")
    from scipy import stats

    degrees = len(runs) - 1
    rows, spreads, covered, expected, tests = [], [], 0, 0.0, []
    rng = np.random.default_rng(0)
    for method in methods:
        found = [run[method] for run in runs]
        ratios = [r.ratio for r in found]
        spread = (max(ratios) - min(ratios)) / statistics.median(ratios)
        covers = all(r.low is not None and r.low <= other <= r.high for r in found for other in ratios)
        spreads.append(spread)
        covered += covers
        expected += chance_all_cover(found, rng) or 0.0
        tested = cochran(found)
        beyond = ""
        if tested:
            tests.append(tested)
            beyond = f"p {stats.chi2.sf(tested[0], degrees):.2f}, τ {drift_pct(*tested, degrees):.1f}%"
        cells = [
            f"{r.ratio:.2f}× [{r.low:.2f}–{r.high:.2f}]" if r.low is not None else f"{r.ratio:.2f}×" for r in found
        ]
        rows.append([f"`{method}`", *cells, f"±{100 * spread / 2:.1f}%", "yes" if covers else "no", beyond])
    headers = ["Method", *map(str, args.folders), "spread (half of max-min)", "intervals cover all"]
    print(tabulate(rows, headers=headers + ["beyond the runs' noise (Cochran's Q)"], tablefmt="github"))
    within = sum(spread / 2 <= 0.05 for spread in spreads)
    median, largest = 100 * statistics.median(spreads) / 2, 100 * max(spreads) / 2
    held = f", holding a drift of {args.drift_pct:g}%" if args.drift_pct else ""
    print(
        f"\n{len(methods)} headline ratios (vs `{args.reference}` at its best batch size, {args.device}): "
        f"{within} agree within ±5% across the {len(runs)} runs (median spread ±{median:.1f}%, largest "
        f"±{largest:.1f}%); {covered} have every run's interval{held} covering every run's ratio "
        f"({expected:.1f} expected if the runs differed only as their intervals allow)."
    )
    if tests:
        drifting = sum(stats.chi2.sf(q, degrees) < 0.05 for q, _ in tests)
        pooled = drift_pct(sum(q for q, _ in tests), sum(scale for _, scale in tests), degrees * len(tests))
        print(
            f"{drifting} of {len(tests)} differ between the runs by more than their runs' noise (Cochran's Q, "
            f"p < 0.05). The drift beyond that noise, pooled over them all: {pooled:.1f}% "
            f"(benchmark.drift_pct, to hold it in every interval)."
        )


if __name__ == "__main__":
    main()
