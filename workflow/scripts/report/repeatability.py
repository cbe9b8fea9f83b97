#!/usr/bin/env python3
"""How well repeated runs of one grid agree: each method's headline ratio (the reference
method's time at its best batch size over the method's at its own best), with its 95% interval,
in every results folder given; the spread of each ratio across them ((max - min) / median), and
whether each folder's interval covers every other folder's ratio.

Even right intervals do not always cover another repeat's ratio: that ratio has its own noise.
Three figures tell the machine's drift between grids from that noise:
- the number of ratios whose intervals would all cover, expected if the repeats differed only as
  their intervals allow: whole repeats simulated (each cell's runs drawn with its spread, pooled
  over the repeats; the interval computed as the tables compute it, with the drift it holds);
- Cochran's Q per ratio: whether its repeats differ by more than their runs allow (χ² with k - 1
  degrees of freedom, p < 0.05). Each repeat's standard error comes from its cells' spread
  pooled over the repeats (3 runs alone would give 2 degrees of freedom, and weights that noisy
  would inflate Q);
- DerSimonian–Laird's τ, the drift beyond the runs' noise, pooled over all ratios: the figure
  for benchmark.drift_pct. Held in an interval, it covers the ratio this machine gives over many
  grids. The same estimator over each cell's time gives the drift of one cell between two grids,
  the figure for `compare --drift-pct`.

  python workflow/scripts/report/repeatability.py results/run-1 results/run-2 results/run-3
  python workflow/scripts/report/repeatability.py --drift-pct 3 results/run-{1,2,3}
"""

import argparse
import math
import statistics
import sys
from pathlib import Path

import numpy as np
from tabulate import tabulate

import common  # noqa: F401  (puts the grid package on the path)
from nerbench.record import Status, SummaryRow, read_rows
from nerbench.stats import ALPHA, drift_percentage, drift_variance, mean, observations, ratio_interval, variance

SIMULATED_REPEATS = 4000


def measured_rows(folder: Path, device: str | None = None) -> list[SummaryRow]:
    """A folder's measured process cells (on one device), or SystemExit with one line saying what is
    wrong. Serving cells have no runs to repeat: one LoadGen run each."""
    path = folder / "summary.csv"
    if not path.is_file():
        sys.exit(f"repeatability.py: error: {path}: missing (run the grid there, or `make tables`)")
    rows = [
        row
        for row in read_rows(path)
        if row.status == Status.OK and row.process and (device is None or row.device == device)
    ]
    if any(row.times is None for row in rows):
        sys.exit(
            f"repeatability.py: error: {path}: no `times` column (written by an older nerbench: `make tables` there)"
        )
    return rows


def best_runs(folder: Path, reference: str, device: str) -> tuple[dict[tuple, list[float]], dict]:
    """((machine, method) -> the runs of its best cell, (machine, method, batch size) -> every cell's
    runs). Each machine's ratios are its own: its reference against its methods."""
    done = measured_rows(folder, device)
    best: dict[tuple, SummaryRow] = {}
    for row in done:
        key = (row.machine, row.method)
        if key not in best or row.mean < best[key].mean:
            best[key] = row
    for machine in dict.fromkeys(row.machine for row in done):
        if (machine, reference) not in best:
            sys.exit(f"repeatability.py: error: {folder}: no measured `{reference}` cell on {device} on {machine}")
    cells = {(row.machine, row.method, row.batch_size): observations(row.times, row.round_means) for row in done}
    return {key: observations(row.times, row.round_means) for key, row in best.items()}, cells


def host_text(folder: Path) -> str:
    """What the host did in one folder's grid: cells contended or on a slow host, their host speeds."""
    done = measured_rows(folder)
    contended, slow = sum(bool(row.contended) for row in done), sum(bool(row.slow_host) for row in done)
    counts = f"{contended} contended, {slow} on a slow host"
    speeds = [row.host_speed_gflops for row in done if row.host_speed_gflops is not None]
    speed = (
        f"; host speed {min(speeds):.0f}–{max(speeds):.0f}, median {statistics.median(speeds):.0f}" if speeds else ""
    )
    return f"{folder}: {len(done)} cells, {counts}{speed}"


def relative_variance(times: list[float]) -> float:
    return variance(times) / mean(times) ** 2


def pooled_relative_variance(samples: list[list[float]]) -> float | None:
    """One cell's spread, its runs' relative variance pooled over the repeats (None: single runs)."""
    degrees = [len(times) - 1 for times in samples if len(times) > 1]
    if not degrees:
        return None
    return sum((len(t) - 1) * relative_variance(t) for t in samples if len(t) > 1) / sum(degrees)


def cochran(logs: list[float], errors: list[float]) -> tuple[float, float]:
    """(Q, the denominator of DerSimonian–Laird's τ²) of repeated log values with their standard errors."""
    weights = 1 / np.square(errors)
    values = np.array(logs)
    centre = (weights * values).sum() / weights.sum()
    return float((weights * (values - centre) ** 2).sum()), float(weights.sum() - (weights**2).sum() / weights.sum())


def tau(q: float, scale: float, degrees: int) -> float:
    """DerSimonian–Laird's τ on the log scale (0 where Q is within its degrees of freedom)."""
    return math.sqrt(max(0.0, (q - degrees) / scale)) if scale > 0 else 0.0


def as_pct(log_spread: float) -> float:
    return 100 * math.expm1(log_spread)


def chance_all_cover(spreads: tuple[float, float], runs: tuple[int, int], repeats: int, drift_pct: float, rng) -> float:
    """The chance that every repeat's interval covers every repeat's ratio, simulated: each repeat's
    runs drawn log-normal with the cells' pooled spreads around one true ratio, plus the drift the
    intervals hold; each interval computed as uncertainty.ratio_interval computes it."""
    from scipy import stats

    (spread_a, spread_b), (n_a, n_b) = spreads, runs
    shape = (SIMULATED_REPEATS, repeats)
    a = np.exp(rng.standard_normal((*shape, n_a)) * math.sqrt(spread_a))
    b = np.exp(rng.standard_normal((*shape, n_b)) * math.sqrt(spread_b))
    mean_a, mean_b = a.mean(axis=-1), b.mean(axis=-1)
    var_a = a.var(axis=-1, ddof=1) / (n_a * mean_a**2)
    var_b = b.var(axis=-1, ddof=1) / (n_b * mean_b**2)
    drift = drift_variance(drift_pct)
    logs = np.log(mean_a / mean_b) + rng.standard_normal(shape) * math.sqrt(drift)
    df = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    half = stats.t.ppf(1 - ALPHA / 2, df) * np.sqrt(var_a + var_b + drift)
    gaps = np.abs(logs[:, None, :] - logs[:, :, None])  # [draw, i, j] = |y_j - y_i|
    return float((gaps <= half[:, :, None]).all(axis=(1, 2)).mean())


def cell_drift(cells: list[dict]) -> float | None:
    """A cell's drift between grids (log scale), DerSimonian–Laird pooled over every cell measured
    in all repeats; None where no cell has runs to weigh."""
    keys = [key for key in cells[0] if all(key in found for found in cells)]
    q = scale = degrees = 0.0
    for key in keys:
        samples = [found[key] for found in cells]
        spread = pooled_relative_variance(samples)
        if not spread:
            continue
        found_q, found_scale = cochran(
            [math.log(mean(t)) for t in samples], [math.sqrt(spread / len(t)) for t in samples]
        )
        q, scale, degrees = q + found_q, scale + found_scale, degrees + len(samples) - 1
    return tau(q, scale, degrees) if degrees else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--reference", default="baseline")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--drift-pct", type=drift_percentage, default=0.0, help="a drift the intervals hold (benchmark.drift_pct)"
    )
    args = parser.parse_args()
    if len(args.folders) < 2:
        parser.error("give two results folders or more: the repeats of one grid")
    found = [best_runs(folder, args.reference, args.device) for folder in args.folders]
    runs = [best for best, _ in found]
    methods = [key for key in runs[0] if key[1] != args.reference and all(key in run for run in runs)]
    if not methods:
        sys.exit(f"repeatability.py: error: no method besides `{args.reference}` was measured in every folder")
    several = len({machine for machine, _ in methods}) > 1
    from scipy import stats

    repeats, degrees = len(runs), len(runs) - 1
    rows, spreads, covered, expected, tests = [], [], 0, 0.0, []
    rng = np.random.default_rng(0)
    for machine, method in methods:
        anchors = [run[(machine, args.reference)] for run in runs]
        anchor_spread = pooled_relative_variance(anchors)
        samples = [run[(machine, method)] for run in runs]
        intervals = [
            ratio_interval(anchor, times, args.drift_pct) for anchor, times in zip(anchors, samples, strict=True)
        ]
        ratios = [ratio for ratio, _, _ in intervals]
        spread = (max(ratios) - min(ratios)) / statistics.median(ratios)
        covers = all(low is not None and low <= other <= high for _, low, high in intervals for other in ratios)
        spreads.append(spread)
        covered += covers
        method_spread = pooled_relative_variance(samples)
        beyond = ""
        if anchor_spread and method_spread:
            counts = (len(anchors[0]), len(samples[0]))
            expected += chance_all_cover((anchor_spread, method_spread), counts, repeats, args.drift_pct, rng)
            errors = [
                math.sqrt(anchor_spread / len(a) + method_spread / len(t))
                for a, t in zip(anchors, samples, strict=True)
            ]
            q, scale = cochran([math.log(r) for r in ratios], errors)
            tests.append((q, scale))
            beyond = f"p {stats.chi2.sf(q, degrees):.2f}, τ {as_pct(tau(q, scale, degrees)):.1f}%"
        cells = [f"{r:.2f}× [{lo:.2f}–{hi:.2f}]" if lo is not None else f"{r:.2f}×" for r, lo, hi in intervals]
        name = f"{machine} `{method}`" if several else f"`{method}`"
        rows.append([name, *cells, f"±{100 * spread / 2:.1f}%", "yes" if covers else "no", beyond])
    headers = ["Method", *map(str, args.folders), "spread (half of max-min)", "intervals cover all"]
    print(tabulate(rows, headers=headers + ["beyond the runs' noise (Cochran's Q)"], tablefmt="github"))
    within = sum(spread / 2 <= 0.05 for spread in spreads)
    median, largest = 100 * statistics.median(spreads) / 2, 100 * max(spreads) / 2
    held = f", holding a drift of {args.drift_pct:g}%," if args.drift_pct else ""
    print(
        f"\n{len(methods)} headline ratios (vs `{args.reference}` at its best batch size, {args.device}): "
        f"{within} agree within ±5% across the {repeats} runs (median spread ±{median:.1f}%, largest "
        f"±{largest:.1f}%); {covered} have every run's interval{held} covering every run's ratio "
        f"({expected:.1f} expected if the runs differed only as their intervals allow)."
    )
    if tests:
        drifting = sum(stats.chi2.sf(q, degrees) < ALPHA for q, _ in tests)
        pooled = tau(sum(q for q, _ in tests), sum(scale for _, scale in tests), degrees * len(tests))
        print(
            f"{drifting} of {len(tests)} differ between the runs by more than their runs' noise (Cochran's Q, "
            f"p < {ALPHA:g}). The drift of a ratio beyond that noise, pooled over them all: {as_pct(pooled):.1f}% "
            "(benchmark.drift_pct)."
        )
    print("\n" + "\n".join(f"- {host_text(folder)}" for folder in args.folders))
    one_cell = cell_drift([cells for _, cells in found])
    if one_cell is not None:
        print(
            f"The drift of one cell's time between grids: {as_pct(one_cell):.1f}%; between two grids' cells "
            f"(compare --drift-pct): {as_pct(math.sqrt(2) * one_cell):.1f}%."
        )


if __name__ == "__main__":
    main()
