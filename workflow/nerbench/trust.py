"""How far to trust a cell's numbers, judged from its record: contention (other processes or the
hypervisor took the host's CPU), a slow host (its speed probes read below the machine's), unstable
runs; and the markers the tables and compare print beside such a number.

What is measured lives in the timing harness (workflow/scripts/timing/host_load.py); this module
only judges what the records hold, so editing it re-runs the report steps and re-times nothing.
"""

import statistics

from nerbench.record import CellRecord, Contention, HostSpeed, from_dict

# A cell timed while others took at least this much of the host is flagged "contended" (tables,
# summary.csv). Steal above 2% is a busy neighbour on the hypervisor; foreign CPU above 5% of the
# host is a tenth of a core on a 2-core machine, taken from a cell that uses every core.
CONTENDED_STEAL_PCT = 2.0
CONTENDED_FOREIGN_PCT = 5.0
# A cell whose host speed read this much below its machine's speed is flagged "slow host": more
# than a quiet probe's noise, less than a slow spell's cost (both measured in
# docs/measurements/epyc-zen4-2026-12-06-host-speed-probe.md).
SLOW_HOST_PCT = 10.0
# A machine's speed: this percentile of all its probes, so that one lucky probe does not set it
# (nor one slow spell, unless it lasts a tenth of the grid).
MACHINE_SPEED_PERCENTILE = 90
# pyperf warns when the standard deviation passes 10% of the mean: such a cell is "unstable".
UNSTABLE_CV_PCT = 10.0
# What measures a machine's peaks again (a peak measured on a contended or slow host is too low).
REMEASURE_PEAKS = "snakemake --forcerun roofline"


def unstable(cv_pct: float | None) -> bool:
    """Whether a cell's runs spread past UNSTABLE_CV_PCT (their coefficient of variation, in percent)."""
    return cv_pct is not None and cv_pct > UNSTABLE_CV_PCT


def contended(record: Contention | dict | None) -> bool:
    """Whether timed work shared the host beyond the thresholds above (a Contention, or its JSON)."""
    if isinstance(record, dict):
        record = from_dict(Contention, record)
    if record is None or record.steal_pct is None:
        return False
    return record.steal_pct >= CONTENDED_STEAL_PCT or record.foreign_cpu_pct >= CONTENDED_FOREIGN_PCT


def speed_around(speed: HostSpeed | None) -> float | None:
    """The host's speed around one timed stretch: the faster of its probes. One slow probe is a
    moment that seconds of runs absorb; a slow spell through the runs slows both."""
    return max(speed.rates(), default=None) if speed else None


def slowest_stretch(speeds: list[HostSpeed]) -> float | None:
    """The lowest `speed_around` of several stretches."""
    return min((speed for speed in map(speed_around, speeds) if speed is not None), default=None)


def cell_speed(record: CellRecord) -> float | None:
    """A cell's host speed: its slowest round's, or the one around its runs (the cell's runs are
    only as trustworthy as its slowest round's)."""
    return slowest_stretch(record.host_speeds())


def probe_rates(speeds: list[HostSpeed]) -> list[float]:
    """Every probe's slowest-CPU rate."""
    return [rate for speed in speeds for rate in speed.rates()]


def machine_speed(rates: list[float]) -> float | None:
    """A machine's speed from all its probes' rates (MACHINE_SPEED_PERCENTILE)."""
    if len(rates) < 2:
        return rates[0] if rates else None
    return statistics.quantiles(rates, n=100, method="inclusive")[MACHINE_SPEED_PERCENTILE - 1]


def combined_rounds(speeds: list[HostSpeed]) -> HostSpeed:
    """The host-speed records of a cell's rounds as one: every probe, and the slowest round's speed."""
    return HostSpeed([probe for speed in speeds for probe in speed.probes], slowest_stretch(speeds))


def accepted(f1: float | None, reference_f1: float | None, agreement_pct: float | None, criterion: dict) -> bool | None:
    """Whether a cell's answers meet the acceptance criterion (the config's accept:): F1 within
    f1_points of the reference's where there are gold labels, else agreement_pct of its entities."""
    if f1 is not None and reference_f1 is not None:
        return 100 * (reference_f1 - f1) <= criterion["f1_points"] + 1e-9
    if agreement_pct is None:
        return None
    return agreement_pct >= criterion["agreement_pct"]


def criterion_text(criterion: dict, gold: bool) -> str:
    if gold:
        return f"F1 within {criterion['f1_points']:g} points of the reference's"
    return f"at least {criterion['agreement_pct']:g}% of the reference's entities found alike"


# MLPerf Inference's least run: its duration, and its queries by scenario (offline: samples).
MLPERF_MIN_DURATION_S = 600
MLPERF_MIN_QUERIES = {"offline": 24576, "single-stream": 1024, "server": 270336}


def compliant(record: CellRecord) -> bool | None:
    """Whether a serving cell's result run meets MLPerf's least duration and query count (None for
    a process cell; a run shorter than the rules is labelled "not MLPerf-compliant")."""
    serving = record.serving
    if serving is None or serving.result is None:
        return None
    run = serving.result
    long_enough = (run.settings.get("effective_min_duration_ms") or 0) >= 1000 * MLPERF_MIN_DURATION_S
    queries = run.samples if serving.scenario == "offline" else run.queries
    return long_enough and (queries or 0) >= MLPERF_MIN_QUERIES[serving.scenario]


def is_true(value) -> bool:
    """True for a true flag, whether Python's or numpy's; False for None or NaN (a cell without it)."""
    return type(value).__name__ in ("bool", "bool_") and bool(value)  # numpy's bool is np.bool (2.x), np.bool_


# A cell's markers in the tables and compare: a number to read with care.
UNSTABLE_MARK, CONTENDED_MARK, SLOW_HOST_MARK = "*", "!", "↓"


def flags(row) -> str:
    """Markers of a number to read with care (a summary row, typed or pandas'): unstable runs,
    timed under contention, timed while the host ran slow."""
    marks = {"unstable": UNSTABLE_MARK, "contended": CONTENDED_MARK, "slow_host": SLOW_HOST_MARK}
    value = row.get if hasattr(row, "get") else lambda name: getattr(row, name, None)
    return "".join(mark for column, mark in marks.items() if is_true(value(column)))


def marks_legend() -> str:
    return (
        f"`{UNSTABLE_MARK}`: unstable, the runs' coefficient of variation above {UNSTABLE_CV_PCT:g}%; "
        f"`{CONTENDED_MARK}`: contended, timed while the hypervisor stole ≥ {CONTENDED_STEAL_PCT:g}% of the host's "
        f"CPU or other processes used ≥ {CONTENDED_FOREIGN_PCT:g}% of it; `{SLOW_HOST_MARK}`: slow host, the host's "
        f"speed around its runs (probed before and after) more than {SLOW_HOST_PCT:g}% below the machine's."
    )
