#!/usr/bin/env python3
"""Render results/tables.md from summary.csv (report/gather.py), the cells' checks and each
machine's roofline.

tables.md: the answer first (report/answer.py: the acceptance criterion, then per device and
scenario the method to use and the fastest exact one); the machine, the model, the corpus; per
device, each method at its best batch size, fastest first (mean, sentences/s end to end, speed
against the reference method's best, F1, agreement, memory); the full method × batch size grid with
speed relative to the reference method at the same batch size; the details (spread, runs, threads,
the host's load); where the time goes; the serving tables; cells that failed or could not run here,
and where cells' entities differ from the reference. tables.html is the same, rendered.
"""

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tabulate import tabulate

import common  # noqa: F401  (puts the grid package on the path)
from answer import Answer, best_process_cells, criterion_line, not_slower, not_told_apart, only_near_ties
from common import load_json
from frames import describe_machine, measured, read_summary, times_of
from nerbench.grid import Grid
from nerbench.record import Status, write_atomically
from nerbench.stats import ALPHA, holm, ratio_text, welch_p
from nerbench.trust import REMEASURE_PEAKS, flags, is_true, marks_legend
from nerlib.timings import PHASES
from serving_tables import serving_sections

NOT_AVAILABLE = Status.NOT_AVAILABLE
SHOWN_DIFFERENCES = 5  # sentences listed per fp32 cell in tables.md; the check file has them all


def status_text(row) -> str:
    """A cell with no time, as the tables say it: a skipped cell names what its machine lacks."""
    return f"{NOT_AVAILABLE} ({row['reason']})" if row["status"] == NOT_AVAILABLE else row["status"]


def flags_legend(drift_pct: float, rounds: int) -> str:
    drift = f", with the machine's drift between grids, {drift_pct:g}% (the config's drift_pct)" if drift_pct else ""
    unit = "the rounds' means, paired round by round" if rounds > 1 else "the runs' means (Welch)"
    parts = [
        f"{marks_legend()} Intervals are 95%, on the log of {unit}{drift}; `~`: within noise (the same test, "
        f"p ≥ {ALPHA:g} after Holm's correction over the table's comparisons)."
    ]
    if rounds == 1 and not drift_pct:
        parts.append(
            "Timed in one round, each cell's runs share one moment of the host: the intervals cannot see how it "
            "drifts between moments (time in rounds, benchmark.rounds, or set benchmark.drift_pct)."
        )
    return " ".join(parts)


def seconds(value: float) -> str:
    return f"{value:.3f}"


def mebibytes(row, column: str) -> str:
    value = row.get(column)
    return "" if value is None or pd.isna(value) else f"{value:.0f}"


def threads_text(row) -> str:
    """The intra-op threads a cell ran with: "2", or "2 × 1" for two sessions of one thread each (+dp)."""
    intra, workers = row.get("intra_op_threads"), row.get("workers")
    if intra is None or pd.isna(intra):
        return ""
    return f"{int(workers)} × {int(intra)}" if workers and workers > 1 else f"{int(intra)}"


def accuracy_text(row) -> tuple[str, str]:
    agreement = row.get("agreement_pct")
    f1 = row.get("f1")
    agreement_text = "n/a" if pd.isna(agreement) else f"{agreement:.2f}%{agreement_flag(row)}"
    return agreement_text, ("n/a" if pd.isna(f1) else f"{f1:.4f}")


def agreement_flag(row) -> str:
    """What an fp32 cell's agreement below 100% means: near-ties only, or a real disagreement."""
    agreement = row.get("agreement_pct")
    if pd.isna(agreement) or agreement == 100 or row["dtype"] != "fp32":
        return ""
    return " (near-ties)" if only_near_ties(row) else " **DISAGREES**"


def entity_text(entity: dict) -> str:
    gap = entity.get("gap")
    why = "past the truncation" if gap is None else f"gap {gap:.3f}{', a near-tie' if entity['near_tie'] else ''}"
    return f'{entity["label"]} "{entity["text"]}" ({why})'


def entities_text(entities: list[dict]) -> str:
    return ", ".join(entity_text(entity) for entity in entities) or "nothing"


def difference_text(item: dict) -> str:
    return (
        f"  - line {item['line']}: the reference found {entities_text(item['reference'])}, this cell "
        f"{entities_text(item['predicted'])}{': near-ties only' if item['near_tie'] else ''}"
    )


@dataclass
class DifferingCell:
    """A cell whose entities differ from the reference's somewhere, with its check."""

    method: str  # with the machine's name before it where there are several
    device: str
    batch_size: int
    dtype: str
    check: dict

    def counts(self) -> str:
        return f"{self.check['differing_sentences']} sentences differ ({self.check['near_tie_sentences']} at near-ties)"

    def fp32_markdown(self) -> list[str]:
        head = f"- `{self.method}` {self.device} bs {self.batch_size}: {self.counts()}"
        return [head] + [difference_text(item) for item in self.check["differences"][:SHOWN_DIFFERENCES]]


def lower_precision_markdown(cells: list[DifferingCell]) -> list[str]:
    """One line per method and device: how many sentences differ at each batch size."""
    groups: dict[tuple, list[DifferingCell]] = {}
    for cell in cells:
        groups.setdefault((cell.method, cell.device, cell.dtype), []).append(cell)
    return [
        f"- `{method}` {device} ({dtype}): " + "; ".join(f"bs {cell.batch_size}: {cell.counts()}" for cell in group)
        for (method, device, dtype), group in groups.items()
    ]


def differences_section(cells: list[DifferingCell]) -> str:
    bars = {cell.device: cell.check["near_tie_logits"] for cell in cells}
    bar_text = ", ".join(f"{bar} on {device.upper()}" for device, bar in sorted(bars.items()))
    fp32 = [cell for cell in cells if cell.dtype == "fp32"]
    lines = [
        "## Differences from the reference\n",
        "Every cell that does not agree 100% (each cell's check file lists every differing sentence). Each "
        "entity found by one run only is judged on its own: its gap is how far below the reference's best label "
        "the label the cell chose was, in logits, at the worst of its word-pieces. Under the device's bar "
        f"({bar_text}) it is a near-tie, which another kernel's rounding can flip; a sentence passes only when "
        "every differing entity in it is a near-tie. A fault in a method shows where the reference was sure.\n",
    ]
    if fp32:
        lines.append(f"fp32 cells, with their first {SHOWN_DIFFERENCES} differing sentences:\n")
        lines += [line for cell in fp32 for line in cell.fp32_markdown()] + [""]
    lower = [cell for cell in cells if cell.dtype != "fp32"]
    if lower:
        lines.append("Lower-precision cells, where differences beyond near-ties are the number format's doing:\n")
        lines += lower_precision_markdown(lower)
    return "\n".join(lines) + "\n"


def differing_cells(grid: Grid) -> list[DifferingCell]:
    found = []
    for cell in grid.runnable():
        check = load_json(cell.path("check"))
        if check and check.get("differences"):
            method = f"{cell.machine.name} {cell.method}" if grid.several_machines() else cell.method.name
            found.append(DifferingCell(method, cell.device, cell.batch_size, cell.method.dtype, check))
    return found


@dataclass
class MachineTables:
    """One machine's tables: per device, each method at its best batch size, every batch size,
    and where the time goes."""

    frame: pd.DataFrame  # the machine's rows of summary.csv
    reference: str
    roofline: dict  # its roofline.json: peaks (device -> number format -> measured peak), host load
    drift_pct: float = 0.0  # the machine's drift between grids, in every interval (Grid.drift_pct)
    rounds: int = 1  # benchmark.rounds
    sentences: int = 0  # the corpus's

    def best_cells(self, device: str) -> pd.DataFrame:
        """Each method's fastest measured cell on the device, fastest first."""
        return best_process_cells(measured(self.frame[self.frame["device"] == device]))

    def unmeasured(self, device: str) -> list:
        """The first row of each method with no measured cell on the device (failed, or not run)."""
        frame = self.frame[self.frame["device"] == device]
        done = set(measured(frame)["method"])
        return [group.iloc[0] for method, group in frame.groupby("method", sort=False) if method not in done]

    def best_table(self, device: str) -> str:
        """The reader's table: each method at its best batch size, fastest first, with its rate end
        to end, its speed against the reference's best (with the interval) and its accuracy."""
        best = self.best_cells(device)
        reference = best[best["method"] == self.reference]
        headers = ["Method (best batch size)", "Mean [s]", "Sentences/s end to end"]
        headers += [f"vs `{self.reference}`", "F1", "Agreement", "Peak RSS [MiB]"]
        headers += ["GPU memory [MiB]"] if device == "cuda" else []
        rows = []
        for _, cell in best.iterrows():
            frame = self.frame[(self.frame["device"] == device) & (self.frame["method"] == cell["method"])]
            agreement, f1 = accuracy_text(cell)
            name = f"`{cell['method']} -b {int(cell['batch_size'])}`{flags(cell)}{self.tied_batch_sizes(frame, cell)}"
            ratio = "" if reference.empty or cell["method"] == self.reference else self.ratio(reference.iloc[0], cell)
            rate = f"{self.sentences / cell['mean']:.0f}" if self.sentences else ""
            row = [name, seconds(cell["mean"]), rate, ratio, f1, agreement, mebibytes(cell, "peak_rss_mib")]
            rows.append(row + ([mebibytes(cell, "gpu_memory_peak_mib")] if device == "cuda" else []))
        for cell in self.unmeasured(device):
            rows.append([f"`{cell['method']}`", status_text(cell)] + [""] * (len(headers) - 2))
        return tabulate(rows, headers=headers, tablefmt="github")

    def details_table(self, device: str) -> str:
        """The methodologist's columns of the best cells: spread, runs, threads."""
        rows = []
        for _, cell in self.best_cells(device).iterrows():
            stddev = 0 if pd.isna(cell["stddev"]) else cell["stddev"]
            cv = "" if pd.isna(cell.get("cv_pct")) else f"{cell['cv_pct']:.1f}%"
            rows.append(
                [
                    f"`{cell['method']} -b {int(cell['batch_size'])}`",
                    f"{seconds(cell['mean'])} ± {seconds(stddev)}",
                    f"{seconds(cell['min'])} … {seconds(cell['max'])}",
                    cv,
                    f"{int(cell['runs'])}",
                    threads_text(cell),
                ]
            )
        headers = ["Method (best batch size)", "Mean ± sd [s]", "Range [s]", "CV", "Runs", "Threads"]
        return tabulate(rows, headers=headers, tablefmt="github")

    def tied_batch_sizes(self, group: pd.DataFrame, best) -> str:
        """ " ~ bs 32" where another batch size of the method is not significantly slower (Holm's
        correction over the method's other batch sizes)."""
        others = [row for _, row in measured(group).iterrows() if row["batch_size"] != best["batch_size"]]
        tied = [str(int(row["batch_size"])) for row in not_slower(best, others, self.drift_pct)]
        return f" ~ bs {', '.join(tied)}" if tied else ""

    def ratio(self, a, b) -> str:
        """Cell a's mean time over cell b's, with its interval."""
        return ratio_text(times_of(a), times_of(b), self.drift_pct)

    def headline(self, device: str) -> str:
        """The fastest cell, the set of methods it cannot be told apart from (Welch's tests against it,
        Holm-corrected: a claim about the set, not about a runner-up picked after the fact), and its
        speed-up over the reference method at the reference's best batch size."""
        best = self.best_cells(device)
        if best.empty:
            return ""
        first = best.iloc[0]
        text = f"Fastest: `{first['method']} -b {int(first['batch_size'])}`{flags(first)}, {seconds(first['mean'])} s"
        alike = not_told_apart(first, best, self.drift_pct)
        if alike:
            text += f"; not significantly slower (Holm-corrected): {', '.join(alike)}"
        elif len(best) > 1:
            text += "; every other method is significantly slower (Holm-corrected)"
        reference = best[best["method"] == self.reference]
        if not reference.empty and first["method"] != self.reference:
            anchor = reference.iloc[0]
            text += (
                f". Against `{self.reference} -b {int(anchor['batch_size'])}`, its best: {self.ratio(anchor, first)}"
            )
        return text + "."

    def phase_table(self, device: str) -> str:
        """Where each method's time goes, at its best batch size."""
        rows = []
        for _, cell in self.best_cells(device).iterrows():
            if pd.isna(cell.get("phase_inference")):
                continue
            row = [f"`{cell['method']} -b {int(cell['batch_size'])}`"]
            row += [f"{cell[f'phase_{name}']:.3f}" for name in PHASES]
            row.append(f"{cell['mean']:.2f}")
            rate = cell.get("inference_gflops")
            row.append("" if pd.isna(rate) else f"{rate:.1f}")
            share = cell.get("pct_of_peak")
            row.append("" if pd.isna(share) else f"{share:.0f}% of {cell['peak_format']}{peak_flag(cell)}")
            padding = cell.get("padding_overhead_pct")
            row.append("" if pd.isna(padding) else f"{padding:.0f}%")
            bound = cell.get("bound_s")
            row.append("" if pd.isna(bound) else f"{bound:.3f} s: {cell['times_bound']:.1f}×")
            rows.append(row)
        headers = (
            ["Method (best batch size)"]
            + [f"{name} [s]" for name in PHASES]
            + ["hyperfine mean [s]", "inference GFLOP/s", "of its format's peak", "padding FLOPs"]
            + ["bound: the corpus's FLOPs at that peak, and the mean as a multiple"]
        )
        return tabulate(rows, headers=headers, tablefmt="github")

    def grid_table(self, device: str) -> str:
        frame = self.frame[self.frame["device"] == device]
        sizes = sorted(frame["batch_size"].unique())
        done = measured(frame)
        ours = done[done["method"] == self.reference]
        reference = {row["batch_size"]: times_of(row) for _, row in ours.iterrows()}
        adjusted = self.adjusted_against(reference, done)
        rows = []
        order = [*self.best_cells(device)["method"], *(cell["method"] for cell in self.unmeasured(device))]
        for method in order:
            group = frame[frame["method"] == method]
            row = [f"`{method}`"]
            for size in sizes:
                cell = group[group["batch_size"] == size]
                if cell.empty:
                    row.append("")
                    continue
                cell = cell.iloc[0]
                if cell["status"] != "ok":
                    row.append(NOT_AVAILABLE if cell["status"] == NOT_AVAILABLE else "failed")
                    continue
                text = f"{seconds(cell['mean'])} s{flags(cell)}"
                if size in reference and method != self.reference:
                    p = adjusted.get((method, size))
                    text += f" ({ratio_text(reference[size], times_of(cell), self.drift_pct, p)})"
                if agreement_flag(cell):
                    text += f" {accuracy_text(cell)[0]}"
                row.append(text)
            rows.append(row)
        return tabulate(rows, headers=["Method"] + [f"bs {s}" for s in sizes], tablefmt="github")

    def adjusted_against(self, reference: dict, done: pd.DataFrame) -> dict:
        """Each cell's test against the reference method at its batch size, Holm-adjusted over the
        whole table: (method, batch size) -> p."""
        cells = [
            row for _, row in done.iterrows() if row["method"] != self.reference and row["batch_size"] in reference
        ]
        found = [welch_p(reference[row["batch_size"]], times_of(row), self.drift_pct) for row in cells]
        return {(row["method"], row["batch_size"]): p for row, p in zip(cells, holm(found), strict=True)}

    def peaks_text(self, device: str) -> str:
        device_peaks = self.roofline.get("peaks", {}).get(device, {})
        peaks = {name: peak for name, peak in device_peaks.items() if isinstance(peak, dict)}
        measured_here = ", ".join(peak_text(name, peak) for name, peak in peaks.items())
        return f"measured {measured_here}" if measured_here else "none measured"

    def markdown(self, level: str) -> list[str]:
        """The machine's sections, headed at `level` ("##" alone, "###" under a machine heading)."""
        parts = []
        for device in self.frame["device"].unique():
            subset = self.frame[self.frame["device"] == device]
            parts.append(f"{level} {device.upper()}\n")
            if (subset["status"] == NOT_AVAILABLE).all():
                # Its machine lacks the device: every cell has the one reason.
                parts.append(f"{device}: {status_text(subset.iloc[0])}; these cells were not run.\n")
                continue
            parts.append(self.best_table(device) + "\n")
            parts.append(self.headline(device) + "\n")
            parts.append(
                f"{level}# {device.upper()}: every batch size (mean; in brackets, speed relative to "
                f"`{self.reference}` at the same batch size, with its 95% interval)\n"
            )
            parts.append(self.grid_table(device) + "\n")
            parts.append(flags_legend(self.drift_pct, self.rounds) + "\n")
            parts.append(f"{level}# {device.upper()}: details (the best cells' spread, runs and threads)\n")
            parts.append(host_load_line(measured(subset)) + "\n")
            parts.append(self.details_table(device) + "\n")
            phases = self.phase_table(device)
            if phases.count("\n") > 1:
                parts.append(
                    f"{level}# {device.upper()}: where the time goes (seconds per phase, as each program measured "
                    f"itself; inference FLOP/s, padding included, against the peak of the method's number format: "
                    f"{self.peaks_text(device)})\n"
                )
                parts.append(phases + "\n")
                if self.roofline.get("contended") and device == "cpu":
                    parts.append(contended_peaks_text(self.roofline) + "\n")
                elif "peak_slow_host" in subset and subset["peak_slow_host"].map(is_true).any():
                    parts.append(slow_host_peaks_text(subset) + "\n")
        return parts


def peak_text(name: str, peak: dict) -> str:
    """ "fp32 255 GFLOP/s (onnxruntime feed_forward; theoretical 294 at the reported 2.30 GHz)"."""
    best = max(peak.get("by_candidate", {}).items(), key=lambda item: item[1], default=(None, 0))[0]
    theoretical = peak.get("theoretical")
    notes = [best] if best else []
    if theoretical:
        clock = theoretical["clock_hz"] / 1e9
        notes.append(f"theoretical {theoretical['peak_flops'] / 1e9:.0f} at the reported {clock:.2f} GHz")
        if peak["peak_flops"] > theoretical["peak_flops"]:
            # A VM reports its nominal clock: a measured peak above the bound says the cores turbo past it.
            implied = peak["peak_flops"] / (theoretical["cores"] * theoretical["per_cycle"]) / 1e9
            notes.append(f"measured above it: the cores run at {implied:.2f} GHz or more")
    return f"{name} {peak['peak_flops'] / 1e9:.0f} GFLOP/s" + (f" ({'; '.join(notes)})" if notes else "")


# After a share of a peak measured on a contended host (`!` marks a contended cell), or in a
# slow spell of the host (`↓`).
CONTENDED_PEAK, SLOW_HOST_PEAK = "(contended peak)", "(slow-host peak)"


def peak_flag(cell) -> str:
    """After a share of a peak that was measured while other processes ran, or the host ran slow."""
    if is_true(cell.get("peak_contended")):
        return f" {CONTENDED_PEAK}"
    return f" {SLOW_HOST_PEAK}" if is_true(cell.get("peak_slow_host")) else ""


def slow_host_peaks_text(cells: pd.DataFrame) -> str:
    """Why peaks measured in a slow spell are too low, with the roofline's probe."""
    share = cells["peak_host_speed_pct"].dropna().iloc[0]
    return (
        f"`{SLOW_HOST_PEAK}`: the roofline's speed probe read {share:.0f}% of the machine's speed, so the peaks are "
        f"too low: measure them again once the host is back to speed (`{REMEASURE_PEAKS}`)."
    )


def contended_peaks_text(roofline: dict) -> str:
    """What the peaks' measurements shared the host with, when every one of them was contended."""
    loads = "; ".join(
        f"others {load['foreign_cpu_pct']:.0f}%, steal {load['steal_pct']:.1f}%"
        for load in (attempt["contention"] for attempt in roofline["attempts"])
    )
    return (
        f"`{CONTENDED_PEAK}`: the CPU peaks were measured {len(roofline['attempts'])} times, the host contended each "
        f"time ({loads}), so they are too low: measure them again on a quiet host (`{REMEASURE_PEAKS}`)."
    )


@dataclass
class Report:
    model: str
    corpus: str
    frame: pd.DataFrame
    reference: str
    notes: list[str] = field(default_factory=list)
    rooflines: dict = field(default_factory=dict)  # machine -> its roofline.json
    differing: list[DifferingCell] = field(default_factory=list)
    # machine -> its drift between grids, in its ratios (machines side by side: the runs alone)
    drifts: dict = field(default_factory=dict)
    criterion: dict = field(default_factory=lambda: {"f1_points": 0.5, "agreement_pct": 99})  # accept:
    sentences: int = 0  # the corpus's
    overheads: dict = field(default_factory=dict)  # machine -> its serving harness's costs
    rounds: int = 1  # benchmark.rounds

    def machines(self) -> list[str]:
        return list(self.frame["machine"].unique())

    def machine_tables(self, machine: str) -> MachineTables:
        rows = self.process[self.process["machine"] == machine]
        drift = self.drifts.get(machine, 0.0)
        roofline = self.rooflines.get(machine, {})
        return MachineTables(rows, self.reference, roofline, drift, self.rounds, self.sentences)

    @property
    def process(self) -> pd.DataFrame:
        return self.frame[self.frame["scenario"] == "process"]

    def answer(self) -> list[str]:
        """The first lines: the method to use per machine, device and scenario, and the criterion."""
        several = len(self.machines()) > 1
        lines = []
        for machine in self.machines():
            rows = self.frame[self.frame["machine"] == machine]
            answer = Answer(rows, self.reference, self.sentences, self.drifts.get(machine, 0.0), machine * several)
            lines += answer.lines()
        if not lines:
            return ["No method was measured."]
        return [criterion_line(self.frame, self.criterion, self.reference), *lines]

    def side_by_side(self) -> str:
        """Each method's best cell on each machine and device: mean [s] at its best batch size."""
        columns = list(dict.fromkeys(zip(self.process["machine"], self.process["device"], strict=True)))
        best = {
            (row["machine"], row["device"], row["method"]): row
            for (machine, device), frame in self.process.groupby(["machine", "device"], sort=False)
            for _, row in best_process_cells(measured(frame)).iterrows()
        }
        first_machine = {device: machine for machine, device in reversed(columns)}
        rows = []
        for method in self.process["method"].unique():
            row = [f"`{method}`"]
            for machine, device in columns:
                cell = best.get((machine, device, method))
                if cell is None:
                    row.append("")
                    continue
                text = f"{seconds(cell['mean'])} s{flags(cell)} (bs {int(cell['batch_size'])}){agreement_flag(cell)}"
                anchor = best.get((first_machine[device], device, method))
                if anchor is not None and machine != first_machine[device]:
                    text += f", {ratio_text(times_of(anchor), times_of(cell))} vs {first_machine[device]}"
                row.append(text)
            rows.append(row)
        headers = ["Method"] + [f"{machine} {device.upper()}" for machine, device in columns]
        return tabulate(rows, headers=headers, tablefmt="github")

    def problems(self) -> list[str]:
        lines = []
        for _, row in self.frame.iterrows():
            if row["status"] not in ("ok", NOT_AVAILABLE):
                reason = row.get("reason")
                where = f"{row['machine']} " if len(self.machines()) > 1 else ""
                served = f" {row['scenario']}" if row["scenario"] != "process" else ""
                lines.append(
                    f"- `{row['method']}` {where}{row['device']} bs {row['batch_size']}{served}: {row['status']}"
                    + (f": {reason}" if isinstance(reason, str) else "")
                    + f" (log: `{row.get('log')}`)"
                )
        return lines

    def markdown(self) -> str:
        machines = self.machines()
        single = len(machines) == 1
        head = f"{machine_line(self.frame)}\n\n" if single else ""
        parts = ["# nerbench results\n", "\n\n".join(self.answer()) + "\n"]
        parts.append(f"{head}Model: {self.model}. Corpus: {self.corpus}.\n")
        parts += [f"> {note}\n" for note in self.notes]
        for machine in machines:
            if not single:
                rows = self.frame[self.frame["machine"] == machine]
                parts.append(f"## Machine `{machine}`\n\n{machine_line(rows)}\n")
            parts += self.machine_tables(machine).markdown("##" if single else "###")
            rows = self.frame[self.frame["machine"] == machine]
            parts += serving_sections(rows, "##" if single else "###", self.overheads.get(machine))
        if not single:
            parts.append("## Machines side by side (each method's best cell; mean at its best batch size)\n")
            parts.append(self.side_by_side() + "\n")
        problems = self.problems()
        if problems:
            parts.append("## Failed cells\n\n" + "\n".join(problems) + "\n")
        if self.differing:
            parts.append(differences_section(self.differing))
        parts.append(
            f"Agreement: share of entities identical to the reference run ({self.reference}, CPU, fp32, "
            "batch size 1). F1: entity-level against the CoNLL-2003 gold labels (seqeval). Times: whole "
            "process, measured by hyperfine, start-up and model load included.\n"
        )
        return "\n".join(parts)


def machine_line(frame: pd.DataFrame) -> str:
    done = measured(frame)
    if done.empty:
        return "Machine: no cell was measured."
    return f"Machine: {describe_machine(done.iloc[0])}."


def host_load_line(done: pd.DataFrame) -> str:
    """The host's load over the grid's timed runs (each cell weighted by its time), from the
    cells' contention records: what a reader needs to judge whether the machine was quiet."""
    if "steal_pct" not in done or done["steal_pct"].isna().all():
        return "Host load while timing: not recorded."
    weights = done["mean"] * done["runs"]
    steal = (done["steal_pct"] * weights).sum() / weights.sum()
    foreign = (done["foreign_cpu_pct"] * weights).sum() / weights.sum()
    waits = done["quiet_wait_s"].fillna(0)
    return (
        f"Host load while timing: steal {steal:.2f}% of the host's CPU, other processes {foreign:.2f}%; "
        f"{sum(map(is_true, done['contended']))} of {len(done)} cells contended, "
        f"{sum(map(is_true, done['unstable']))} unstable{slow_host_text(done)}; waited {waits.sum():.0f} s in all "
        f"for a quiet host ({sum(map(is_true, done['quiet_gave_up']))} gave up)."
    )


def slow_host_text(done: pd.DataFrame) -> str:
    """How many cells were timed while the host ran slow, their host speeds' range, and the cells
    with no probe (a probe that failed; a result from before the probes)."""
    if "host_speed_pct" not in done or done["host_speed_pct"].isna().all():
        return ", no speed probes"
    speeds = done["host_speed_gflops"].dropna()
    missing = len(done) - len(speeds)
    return (
        f", {sum(map(is_true, done['slow_host']))} on a slow host (host speed {speeds.min():.0f}–{speeds.max():.0f} "
        f"GFLOP/s, {done['host_speed_pct'].min():.0f}% of the machine's at worst"
        + (f"; {missing} without a probe" if missing else "")
        + ")"
    )


def model_text(name: str, model: dict) -> str:
    """The model in a line, from its model_info.json."""
    size = f", {model['parameters']:,} parameters" if "parameters" in model else ""
    source = f"hub `{model['hub_id']}` at {model['revision']}" if model["source"] == "hub" else model["source"]
    text = f"`{name}` ({source}{size}, {model.get('architecture', 'ONNX export')}"
    return text + (f", dev-set F1 {model['dev_f1']:.4f})" if "dev_f1" in model else ")")


def model_notes(model: dict) -> list[str]:
    """What a reader must know of the model before reading a number."""
    notes = []
    if "requested_revision" in model:  # a Hub branch or tag: the commit it was built at, which the branch may leave
        notes.append(
            f"The model was asked for at `{model['requested_revision']}`, not a commit: it was built at "
            f"{model['revision']}, that revision's commit then. Pin it (`model.hub.revision`, or "
            "`MODEL=hub:ORG/NAME@COMMIT`) for a grid others can repeat."
        )
    if model["source"] == "random":
        notes.append(
            "**The model has random weights: its predictions are meaningless.** Times are faithful to the "
            "model's shape; agreement still shows whether methods compute the same thing; F1 means nothing."
        )
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", required=True, help="the grid's manifest (grid.json, written by the grid rule)")
    parser.add_argument("--summary", required=True, help="summary.csv (report/gather.py)")
    parser.add_argument("--model-info", required=True)
    parser.add_argument("--corpus-info", required=True)
    args = parser.parse_args()
    grid = Grid.from_manifest(args.grid)
    results = Path(grid.results())
    rooflines = {machine: load_json(path) or {} for machine, path in grid.rooflines().items()}
    frame = read_summary(args.summary)
    corpus = json.loads(Path(args.corpus_info).read_text())
    model_info = Path(args.model_info)
    model = json.loads(model_info.read_text())
    report = Report(
        model_text(model_info.parent.parent.name, model),
        f"`{corpus['file']}`, {corpus['lines']} lines, {corpus['words']} words",
        frame,
        grid.reference().name,
        model_notes(model),
        rooflines,
        differing_cells(grid),
        {machine.name: grid.drift_pct(machine) for machine in grid.machines},
        grid.config["accept"],
        corpus["lines"],
        {machine.name: load_json(machine.path("serving_overhead", grid.results())) for machine in grid.machines},
        grid.rounds,
    )
    markdown = report.markdown()
    write_atomically(results / "tables.md", markdown)
    write_atomically(results / "tables.html", html_page(markdown))
    print(f"{len(frame)} cells: {results / 'tables.md'}, {results / 'tables.html'}")


# tables.html's look: readable tables, numbers in columns, the page as wide as its tables.
STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left;white-space:nowrap}
th{background:#f2f2f2}code{font-size:0.95em}blockquote{border-left:4px solid #c60;margin:0;padding-left:1em}"""


def html_page(markdown: str) -> str:
    """tables.md as one HTML page (the HTML report shows it; tables.md stays the text to paste)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    head = f'<meta charset="utf-8"><title>nerbench results</title><style>{STYLE}</style>'
    return f"<!DOCTYPE html>\n<html><head>{head}</head><body>\n{body}</body></html>\n"


if __name__ == "__main__":
    main()
