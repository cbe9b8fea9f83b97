"""How sure a timing is: the spread of a cell's runs, and a 95% interval on every ratio of two
cells' mean times, with the test that says whether two cells differ at all.

The interval of a ratio of means is taken on the log scale with Welch's approximation: the
variance of log(mean) is about s²/(n·mean²) for each cell, its degrees of freedom are
Welch–Satterthwaite's, and the interval is exp(log ratio ± t·SE) with Student's t for those
degrees of freedom. With the 3 runs a cell usually has, a bootstrap would see at most 10
distinct resamples of each cell and so understate the width; Student's t with 2–4 degrees of
freedom widens it as it should. Two cells differ when the same statistic's test (Welch's t on
the log of the means) gives p < 0.05, that is when the interval leaves out 1; "~" marks a ratio
or a ranking that is within noise.

A machine also drifts between grids (minutes or days apart) by more than one grid's runs show:
measured by repeating a grid (tools/repeat-grid, repeatability.py: DerSimonian–Laird's τ). Given
as `drift_pct` (benchmark.drift_pct for a grid's ratios; compare --drift-pct for a cell between two
grids), that drift's variance on the log scale is added to a ratio's (the degrees of freedom stay
the runs'), so an interval then holds the ratio the machine gives over many grids, and "~" marks
what the drift alone could turn around.
"""

import math

ALPHA = 0.05


def mean(times: list[float]) -> float:
    return sum(times) / len(times)


def variance(times: list[float]) -> float:
    centre = mean(times)
    return sum((t - centre) ** 2 for t in times) / (len(times) - 1)


def cv_pct(times: list[float]) -> float | None:
    """The coefficient of variation of a cell's runs, in percent (None for a single run)."""
    return 100 * math.sqrt(variance(times)) / mean(times) if len(times) > 1 and mean(times) > 0 else None


def drift_percentage(text: str) -> float:
    """A command line's --drift-pct: a percentage, 0 or more (argparse's type)."""
    import argparse

    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: a percentage, 0 or more")
    return value


def drift_variance(drift_pct: float) -> float:
    """The variance a machine's drift between grids adds to a log ratio."""
    return math.log1p(drift_pct / 100) ** 2


class Rounds(list):
    """A cell's round means (benchmark.rounds > 1): the unit of its uncertainty. Runs within a round
    share that moment's host, so they are not independent; a round's mean is one observation.
    Two cells timed in as many rounds are compared round by round (paired: round r of one with
    round r of the other), whose log differences are independent whatever each cell's spread:
    Student's t with rounds - 1 degrees of freedom then holds its 95% (tests/test_statistics.py
    simulates every rounds × runs setting over a grid of spreads between and within rounds)."""


def paired(a: list[float], b: list[float]) -> bool:
    return isinstance(a, Rounds) and isinstance(b, Rounds) and len(a) == len(b) >= 2


def log_ratio(a: list[float], b: list[float], drift_pct: float = 0.0) -> tuple[float, float, float]:
    """log(mean(a)/mean(b)) (paired rounds: the mean of the rounds' log ratios), its standard error and
    its degrees of freedom: Welch–Satterthwaite's, or rounds - 1 for paired rounds."""
    if paired(a, b):
        logs = [math.log(x / y) for x, y in zip(a, b, strict=True)]
        spread = variance(logs) / len(logs)
        return mean(logs), math.sqrt(spread + drift_variance(drift_pct)), len(logs) - 1
    var_a, var_b = variance(a) / (len(a) * mean(a) ** 2), variance(b) / (len(b) * mean(b) ** 2)
    runs, total = var_a + var_b, var_a + var_b + drift_variance(drift_pct)
    if total == 0:
        return math.log(mean(a) / mean(b)), 0.0, math.inf
    estimated = var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1)
    # The degrees of freedom are the runs' alone: counting the drift as a known variance would add
    # some, and with them narrow a few-run interval that the drift should only widen.
    df = runs**2 / estimated if estimated else math.inf
    return math.log(mean(a) / mean(b)), math.sqrt(total), df


def ratio_interval(a: list[float], b: list[float], drift_pct: float = 0.0) -> tuple[float, float | None, float | None]:
    """mean(a) / mean(b) with its 95% interval (None where a cell has a single run; the ratio
    itself is NaN where a cell has no runs at all)."""
    if not a or not b:
        return math.nan, None, None
    ratio = mean(a) / mean(b)
    if len(a) < 2 or len(b) < 2:
        return ratio, None, None
    from scipy import stats

    centre, error, df = log_ratio(a, b, drift_pct)
    ratio = math.exp(centre) if paired(a, b) else ratio
    if error == 0:
        return ratio, ratio, ratio
    half = stats.t.ppf(1 - ALPHA / 2, df) * error
    return ratio, ratio * math.exp(-half), ratio * math.exp(half)


def welch_p(a: list[float], b: list[float], drift_pct: float = 0.0) -> float | None:
    """Welch's t-test of two cells' runs, on the same log scale as the interval (so "~" holds
    exactly where the interval covers 1): the chance of a difference this large if they took
    the same time (None where a cell has a single run)."""
    if len(a) < 2 or len(b) < 2:
        return None
    log_of_ratio, error, df = log_ratio(a, b, drift_pct)
    if error == 0:
        return 1.0 if log_of_ratio == 0 else 0.0
    from scipy import stats

    return float(2 * stats.t.sf(abs(log_of_ratio) / error, df))


def differ(a: list[float], b: list[float], drift_pct: float = 0.0) -> bool | None:
    """Whether two cells' times differ significantly (None: too few runs to tell)."""
    p = welch_p(a, b, drift_pct)
    return None if p is None else p < ALPHA


def ratio_text(a: list[float], b: list[float], drift_pct: float = 0.0, p: float | None = None) -> str:
    """ "3.12× [2.95–3.30]", or "1.02× [0.97–1.07] ~" within noise; no interval from single runs.
    `p`: the test's p-value adjusted for the family it belongs to (holm), where the caller has one."""
    ratio, low, high = ratio_interval(a, b, drift_pct)
    if low is None:
        return f"{ratio:.2f}×"
    within = (p >= ALPHA) if p is not None else not differ(a, b, drift_pct)
    return f"{ratio:.2f}× [{low:.2f}–{high:.2f}]{' ~' if within else ''}"


def observations(times, round_means) -> list[float]:
    """What a cell's uncertainty is computed from: its round means where it was timed in two
    rounds or more (Rounds), else its runs (summary.csv's `times` and `round_means`)."""
    rounds = parse_times(round_means)
    return Rounds(rounds) if len(rounds) >= 2 else parse_times(times)


def parse_times(text) -> list[float]:
    """summary.csv's `times` column: the runs' seconds, space-separated."""
    if isinstance(text, (int, float)):  # a single run, read by pandas as a number
        return [] if math.isnan(text) else [float(text)]
    return [float(value) for value in text.split()] if isinstance(text, str) and text else []


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values (None stays None): a difference is
    called where its adjusted p is below ALPHA, with the chance of calling any false one at most
    ALPHA over the family. Holm rather than Benjamini-Hochberg: a table's "~" and compare's counts
    claim each cell's difference, not a share of discoveries, so the family-wise error is the one
    to control; with the few to hundreds of cells a grid compares it costs little power."""
    known = sorted((p, index) for index, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(known):
        running = max(running, min(1.0, (len(known) - rank) * p))
        adjusted[index] = running
    return adjusted
