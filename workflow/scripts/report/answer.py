"""The answer first: for each machine, device and scenario, the method to use (the fastest that
meets the acceptance criterion, accept:) and the fastest exact one (100% agreement with the
reference, or near-ties only), each with its time or rate, its accuracy and the methods it cannot
be told apart from. tables.md opens with these lines."""

import pandas as pd

import common  # noqa: F401  (puts the grid package on the path)
from frames import times_of
from nerbench.record import serving_figure
from nerbench.stats import ALPHA, holm, ratio_text, welch_p
from nerbench.trust import criterion_text, is_true

SCENARIO_TITLES = {
    "process": "whole process (hyperfine: start-up, load and the corpus)",
    "offline": "offline (LoadGen, one warm process, every sentence at once)",
    "single-stream": "single-stream (LoadGen, one sentence at a time)",
    "server": "server (LoadGen, Poisson arrivals, a dynamic batcher)",
}


def only_near_ties(row) -> bool:
    """Every differing entity of every differing sentence is a near-tie: rounding, not a fault."""
    return row.get("near_tie_sentences") == row.get("differing_sentences")


def exact(row) -> bool:
    """Agrees 100% with the reference, or differs at near-ties only."""
    agreement = row.get("agreement_pct")
    if pd.isna(agreement):
        return False
    return agreement == 100 or only_near_ties(row)


def best_process_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Each method's fastest process cell."""
    return frame.loc[frame.groupby("method", sort=False)["mean"].idxmin()].sort_values("mean")


def accuracy(row) -> str:
    f1 = "" if pd.isna(row.get("f1")) else f"F1 {row['f1']:.4f}, "
    return f"{f1}agreement {row['agreement_pct']:.2f}%"


def not_slower(best, rows: list, drift_pct: float) -> list:
    """The rows not significantly slower than `best`, after Holm's correction over every
    comparison made (Welch's test on the runs, as the intervals)."""
    adjusted = holm([welch_p(times_of(row), times_of(best), drift_pct) for row in rows])
    return [row for row, p in zip(rows, adjusted, strict=True) if p is not None and p >= ALPHA]


def not_told_apart(best, others: pd.DataFrame, drift_pct: float) -> list[str]:
    """The methods whose best cell cannot be told apart from `best`'s."""
    rows = [row for _, row in others.iterrows() if row["method"] != best["method"]]
    return [f"`{row['method']} -b {int(row['batch_size'])}`" for row in not_slower(best, rows, drift_pct)]


class Answer:
    """The answer lines of one machine's rows (summary.csv's, typed by frames.read_summary)."""

    def __init__(self, frame: pd.DataFrame, reference: str, sentences: int, drift_pct: float, label: str):
        self.frame, self.reference, self.sentences, self.drift_pct = frame, reference, sentences, drift_pct
        self.label = label  # the machine's name where there are several, else ""

    def lines(self) -> list[str]:
        found = []
        for device in self.frame["device"].unique():
            rows = self.frame[(self.frame["device"] == device) & (self.frame["status"] == "ok")]
            for scenario in rows["scenario"].unique():
                found.append(self.scenario_line(device, scenario, rows[rows["scenario"] == scenario]))
        return [line for line in found if line]

    def heading(self, device: str, scenario: str) -> str:
        name, _, parallelism = scenario.partition("@")
        where = f"{self.label} " if self.label else ""
        workers = f", {parallelism} (workers × threads)" if parallelism else ""
        bound = ""
        if name == "server":
            served = self.frame[self.frame["scenario"] == scenario].iloc[0]
            bound = f" within p{served['latency_percentile']:g} ≤ {served['latency_bound_ms']:g} ms"
        return f"**{where}{device.upper()}, {SCENARIO_TITLES[name]}{bound}{workers}**"

    def scenario_line(self, device: str, scenario: str, rows: pd.DataFrame) -> str:
        name = scenario.partition("@")[0]
        ranked = best_process_cells(rows) if name == "process" else self.ranked_serving(rows, name)
        if ranked.empty:
            reasons = sorted(
                {str(reason) for reason in rows.get("loadgen_invalid_reason", []) if isinstance(reason, str)}
            )
            why = f" (LoadGen: {'; '.join(reasons)})" if reasons else ""
            return f"{self.heading(device, scenario)}: no valid run{why}." if name != "process" else ""
        accepted = ranked[ranked["accepted"].map(is_true)]
        exactly = ranked[[exact(row) for _, row in ranked.iterrows()]]
        parts = [self.heading(device, scenario) + ":"]
        if accepted.empty:
            parts.append("no method meets the acceptance criterion.")
        else:
            parts.append(f"use {self.describe(accepted.iloc[0], name, accepted, ranked)}.")
        if not exactly.empty and (accepted.empty or exactly.iloc[0]["method"] != accepted.iloc[0]["method"]):
            parts.append(f"Fastest exact: {self.describe(exactly.iloc[0], name, exactly, ranked)}.")
        return " ".join(parts)

    @staticmethod
    def ranked_serving(rows: pd.DataFrame, name: str) -> pd.DataFrame:
        """Serving cells with a valid result, best first: the most sentences per second (offline),
        the lowest p90 latency (single-stream: MLPerf's metric), the highest valid rate (server)."""
        valid = rows[rows["loadgen_valid"].map(is_true)]
        figure = serving_figure(name)
        return valid.sort_values(figure.column, ascending=figure.lower_is_better)

    def describe(self, row, name: str, candidates: pd.DataFrame, ranked: pd.DataFrame) -> str:
        """One method's figure; a process cell's against the reference's best on the same device
        (`ranked`: each method's best there)."""
        method = f"`{row['method']} -b {int(row['served_batch_size'] if name != 'process' else row['batch_size'])}`"
        if name == "process":
            text = (
                f"{method}, {row['mean']:.3f} s for {self.sentences} sentences, "
                f"{self.sentences / row['mean']:.0f} sentences/s end to end"
            )
            anchor = ranked[ranked["method"] == self.reference]
            if not anchor.empty and row["method"] != self.reference:
                reference = anchor.iloc[0]
                ratio = ratio_text(times_of(reference), times_of(row), self.drift_pct)
                text += f", {ratio} `{self.reference} -b {int(reference['batch_size'])}`"
            text += f"; {accuracy(row)}"
            alike = not_told_apart(row, candidates, self.drift_pct)
            if alike:
                text += f"; not told apart from {', '.join(alike)}"
            return text
        if name == "single-stream":
            figure = f"p90 {row['latency_p90_ms']:.1f} ms (p50 {row['latency_p50_ms']:.1f}, "
            figure += f"p99 {row['latency_p99_ms']:.1f})"
        elif name == "server":
            figure = f"{row['server_qps']:.0f} queries/s (p99 {row['latency_p99_ms']:.1f} ms)"
        else:
            figure = f"{row['sentences_per_s']:.0f} sentences/s steady state"
        return f"{method}, {figure}; {accuracy(row)} (one run: no interval)"


def criterion_line(frame: pd.DataFrame, criterion: dict, reference: str) -> str:
    gold = frame["reference_f1"].notna().any() if "reference_f1" in frame else False
    reference_f1 = f" ({reference}: F1 {frame['reference_f1'].dropna().iloc[0]:.4f})" if gold else ""
    return (
        f"Accurate enough (`accept:`): {criterion_text(criterion, gold)}{reference_f1}. Exact: 100% agreement, "
        "or differences at near-ties only."
    )
