#!/usr/bin/env python3
"""Turn the per-cell results into results/tables.md and results/summary.csv.

tables.md: the machine in one line; per device, each method at its best batch size in the
original benchmark's format (mean ± σ, min … max) with agreement and F1 beside it; then the
full method × batch size grid with speed relative to baseline.py at the same batch size; then
cells that failed or could not run here, and where cells' entities differ from the reference.
summary.csv: one row per cell with every hyperfine statistic, the checks and the environment.
"""

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from common import REMEASURE_PEAKS, describe_machine, flags, flops_key, is_true, load_json, marks_legend, measured
from host_load import SLOW_HOST_PCT, cell_speed, contended, machine_speed, probe_rates
from nerbench import Cell, Grid, Status
from nerlib.atomic import write_text_atomically
from nerlib.timings import PHASES
from uncertainty import ALPHA, cv_pct, differ, parse_times, ratio_text, unstable, welch_p

NOT_AVAILABLE = Status.NOT_AVAILABLE
CHECK_COLUMNS = (
    "agreement_pct",
    "identical_sentences_pct",
    "differing_sentences",
    "near_tie_sentences",
    "entity_precision",
    "entity_recall",
    "f1",
)
TIME_COLUMNS = ("mean", "stddev", "median", "min", "max", "user", "system")  # hyperfine's, in seconds
SHOWN_DIFFERENCES = 5  # sentences listed per fp32 cell in tables.md; the check file has them all


def cell_row(cell: Cell, roofline: dict, flops: dict) -> dict:
    """One summary row: the cell as the grid describes it, its timing, check and environment."""
    row = {**cell.key._asdict(), "dtype": cell.method.dtype}
    if not cell.available:
        return {**row, "status": NOT_AVAILABLE, "reason": cell.unavailable_reason}
    timing = load_json(cell.path("result"))
    if timing is None:
        return {**row, "status": Status.MISSING, "log": cell.path("log")}
    row.update(status=timing["status"], reason=timing.get("reason"), log=cell.path("log"))
    row.update(command=timing["cell"]["command"])
    row.update(flatten_environment(timing["environment"]))
    if timing["status"] != Status.OK:
        return row
    stats = timing["results"][0]
    row.update({key: stats.get(key) for key in TIME_COLUMNS})
    row["runs"] = len(stats.get("times", []))
    row.update(memory_columns(timing))
    row.update(trust_columns(timing))
    check = load_json(cell.path("check")) or {"status": "not checked"}
    if check["status"] != Status.OK:
        row["status"] = check["status"]
    for key in CHECK_COLUMNS:
        if key in check:
            row[key] = check[key]
    if check.get("differences"):
        row["first_difference_line"] = check["differences"][0]["line"]
    row.update(phase_columns(cell, roofline, flops))
    if row.get("bound_s"):
        row["times_bound"] = row["mean"] / row["bound_s"]
    return row


def trust_columns(timing: dict) -> dict:
    """How far a cell's numbers can be trusted: the spread of its runs (hyperfine's warnings
    kept) and what else the host did while they ran (run_cell.py, host_load.py)."""
    times = timing["results"][0].get("times") or []
    contention = timing.get("contention") or {}
    quiet = timing.get("quiet_start") or {}
    return {
        "times": " ".join(f"{t:.6f}" for t in times),
        "cv_pct": cv_pct(times),
        "unstable": unstable(times),
        "steal_pct": contention.get("steal_pct"),
        "foreign_cpu_pct": contention.get("foreign_cpu_pct"),
        "load_before": (contention.get("load_before") or [None])[0],
        "contended": contended(contention),
        "quiet_wait_s": quiet.get("waited_seconds"),
        "quiet_gave_up": quiet.get("gave_up"),
        "host_speed_gflops": cell_speed(timing),
        "host_probes_gflops": " ".join(f"{rate:g}" for rate in probe_rates([timing.get("host_speed") or {}])) or None,
        "hyperfine_warnings": " | ".join(timing.get("hyperfine_warnings") or []) or None,
    }


def status_text(row) -> str:
    """A cell with no time, as the tables say it: a skipped cell names what its machine lacks."""
    return f"{NOT_AVAILABLE} ({row['reason']})" if row["status"] == NOT_AVAILABLE else row["status"]


def flags_legend(drift_pct: float) -> str:
    drift = f", with the machine's drift between grids, {drift_pct:g}% (the config's drift_pct)" if drift_pct else ""
    return (
        f"{marks_legend()} Intervals are 95% (Welch, on the log of the runs' means{drift}); "
        f"`~`: within noise (the same test, p ≥ {ALPHA:g})."
    )


def host_speed_columns(frame: pd.DataFrame, rooflines: dict[str, dict]) -> pd.DataFrame:
    """Each cell's host speed (host_load.cell_speed) as a share of its machine's speed,
    `host_speed_pct`, and `slow_host` where that share is below 100 - SLOW_HOST_PCT: a host that ran
    slow in a way its CPU accounting cannot show. A CPU cell's `peak_host_speed_pct` is the
    roofline's fastest probe as such a share, and `peak_slow_host` says its peaks were measured in a
    slow spell, so are too low."""
    frame = frame.copy()
    if "host_probes_gflops" not in frame or frame["host_probes_gflops"].isna().all():
        return frame
    speed, roofline_best = {}, {}
    for machine, group in frame.groupby("machine"):
        probes = roofline_probes(rooflines.get(machine))
        every = [*probes, *(rate for text in group["host_probes_gflops"].dropna() for rate in parse_times(text))]
        speed[machine] = machine_speed(every) or math.nan
        roofline_best[machine] = max(probes, default=math.nan)
    machines_speed = frame["machine"].map(speed)
    frame["host_speed_pct"] = 100 * frame["host_speed_gflops"] / machines_speed
    frame["slow_host"] = frame["host_speed_pct"] < 100 - SLOW_HOST_PCT
    if "pct_of_peak" in frame:
        shares_peak = frame["pct_of_peak"].notna() & (frame["device"] == "cpu")
        peak_speed = 100 * frame["machine"].map(roofline_best) / machines_speed
        frame["peak_host_speed_pct"] = peak_speed.where(shares_peak)
        frame["peak_slow_host"] = frame["peak_host_speed_pct"] < 100 - SLOW_HOST_PCT
    return frame


def roofline_probes(roofline: dict | None) -> list[float]:
    return probe_rates([attempt.get("host_speed") or {} for attempt in (roofline or {}).get("attempts", [])])


def times_of(row) -> list[float]:
    return parse_times(row.get("times"))


def memory_columns(timing: dict) -> dict:
    """Peak resident memory of the timed process (hyperfine 1.20 measures it in every run; 1.15
    does not), and a CUDA cell's peak device memory (NVML, the whole process)."""
    columns = {}
    resident = timing["results"][0].get("memory_usage_byte")
    if resident:
        columns["peak_rss_mib"] = max(resident) / 2**20
    if timing.get("gpu_memory_peak_bytes"):
        columns["gpu_memory_peak_mib"] = timing["gpu_memory_peak_bytes"] / 2**20
    return columns


def number_format(dtype: str) -> str:
    """The format whose peak a method is measured against: fp32 for fp32-approx, int8 for int8-static."""
    return dtype.split("-")[0]


def phase_columns(cell: Cell, roofline: dict, flops: dict) -> dict:
    """Seconds per phase from the method's --timings file, and the inference phase's FLOP/s
    against the measured peak of the method's own number format on its device (its machine's
    roofline.json; `peak_contended`: measured while other processes ran). A phases file
    that cannot be read (a program killed while writing it) gives no columns rather than
    stopping the tables."""
    phases = load_json(cell.path("phases"))
    if not phases or not isinstance(phases.get("phases"), dict):
        return {}
    columns = {f"phase_{name}": phases["phases"].get(name, 0.0) for name in PHASES}
    if phases.get("torch_max_memory_allocated_bytes"):
        columns["torch_gpu_allocated_mib"] = phases["torch_max_memory_allocated_bytes"] / 2**20
    dtype = cell.method.dtype
    work = flops.get(flops_key(cell.batch_size, cell.method.sort, cell.method.token_budget))
    done = work and work.get("flops_padding_removed" if cell.method.removes_padding else "flops")
    peak = roofline.get("peaks", {}).get(cell.device, {}).get(number_format(dtype))
    inference = phases["phases"].get("inference") or 0
    if done and inference > 0:
        columns["inference_gflops"] = done / inference / 1e9
        columns["padding_overhead_pct"] = 100 * (done / work["useful_flops"] - 1)
    if done and inference > 0 and peak:
        columns["peak_format"] = number_format(dtype)
        columns["pct_of_peak"] = 100 * done / inference / peak["peak_flops"]
        # The host's load says nothing of a GPU's: only CPU peaks are measured again and flagged.
        columns["peak_contended"] = bool(roofline.get("contended")) and cell.device == "cpu"
    if work and peak:
        # The machine's bound for the task: the corpus's own FLOPs (no padding) at the format's peak.
        columns["bound_s"] = work["useful_flops"] / peak["peak_flops"]
    return columns


def flatten_environment(env: dict) -> dict:
    flat = {f"pkg_{name}": version for name, version in env.get("packages", {}).items()}
    cpu = env.get("cpu", {})
    gpus = env.get("gpus") or []
    scheduler = env.get("scheduler") or {}
    slurm = scheduler.get("slurm") or {}
    flat.update(
        python=env.get("python"),
        cpu_model=cpu.get("model"),
        cpu_flags=" ".join(cpu.get("flags", [])),
        physical_cores=cpu.get("physical_cores"),
        logical_cpus=cpu.get("logical_cpus"),
        threads=env.get("threads"),
        gpu=gpus[0]["name"] if gpus else None,
        gpu_driver=gpus[0]["driver"] if gpus else None,
        ort_providers=" ".join(env.get("onnxruntime_providers") or []),
        hyperfine=env.get("hyperfine"),
        rustc=env.get("rustc"),
        git_commit=env.get("git", {}).get("commit"),
        git_dirty=env.get("git", {}).get("dirty"),
        settings_sha256=env.get("settings_sha256"),
        model_sha256=env.get("model", {}).get("sha256"),
        onnx_sha256=env.get("model", {}).get("onnx_sha256"),
        ct2_sha256=env.get("model", {}).get("ct2_sha256"),
        host=scheduler.get("host"),
        allowed_cpus=scheduler.get("allowed_cpus"),
        cpu_list=scheduler.get("cpu_list"),
        slurm_job_id=slurm.get("job_id"),
        slurm_node=slurm.get("node"),
        gpu_driver_cuda=gpus[0].get("driver_cuda") if gpus else None,
    )
    return flat


def seconds(value: float) -> str:
    return f"{value:.3f}"


def mebibytes(row, column: str) -> str:
    value = row.get(column)
    return "" if value is None or pd.isna(value) else f"{value:.0f}"


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


def only_near_ties(row) -> bool:
    """Every differing entity of every differing sentence is a near-tie: rounding, not a fault."""
    return row.get("near_tie_sentences") == row.get("differing_sentences")


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

    def best_cells(self, device: str) -> pd.DataFrame:
        """Each method's fastest measured cell on the device."""
        return best_cells(self.frame[self.frame["device"] == device])

    def best_table(self, device: str) -> str:
        best = {row["method"]: row for _, row in self.best_cells(device).iterrows()}
        headers = ["Method (best batch size)", "Mean [s]", "Range [s]", "CV", "Agreement", "F1", "Peak RSS [MiB]"]
        headers += ["GPU memory [MiB]"] if device == "cuda" else []
        rows = []
        for method, group in self.frame[self.frame["device"] == device].groupby("method", sort=False):
            if method not in best:
                rows.append([f"`{method}`", status_text(group.iloc[0])] + [""] * (len(headers) - 2))
                continue
            cell = best[method]
            agreement, f1 = accuracy_text(cell)
            stddev = 0 if pd.isna(cell["stddev"]) else cell["stddev"]
            name = f"`{method} -b {int(cell['batch_size'])}`{flags(cell)}{self.tied_batch_sizes(group, cell)}"
            cv = "" if pd.isna(cell.get("cv_pct")) else f"{cell['cv_pct']:.1f}%"
            row = [
                name,
                f"{seconds(cell['mean'])} ± {seconds(stddev)}",
                f"{seconds(cell['min'])} … {seconds(cell['max'])}",
            ]
            row += [cv, agreement, f1, mebibytes(cell, "peak_rss_mib")]
            rows.append(row + ([mebibytes(cell, "gpu_memory_peak_mib")] if device == "cuda" else []))
        return tabulate(rows, headers=headers, tablefmt="github")

    def tied_batch_sizes(self, group: pd.DataFrame, best) -> str:
        """ " ~ bs 32" where another batch size of the method is not significantly slower."""
        others = measured(group)
        tied = [
            str(int(row["batch_size"]))
            for _, row in others.iterrows()
            if row["batch_size"] != best["batch_size"]
            and differ(times_of(row), times_of(best), self.drift_pct) is False
        ]
        return f" ~ bs {', '.join(tied)}" if tied else ""

    def ratio(self, a, b) -> str:
        """Cell a's mean time over cell b's, with its interval."""
        return ratio_text(times_of(a), times_of(b), self.drift_pct)

    def headline(self, device: str) -> str:
        """The fastest cell, whether the runner-up is significantly slower, and its speed-up over
        the reference method at the reference's best batch size."""
        best = self.best_cells(device).sort_values("mean")
        if best.empty:
            return ""
        first = best.iloc[0]
        text = f"Fastest: `{first['method']} -b {int(first['batch_size'])}`{flags(first)}, {seconds(first['mean'])} s"
        if len(best) > 1:
            second = best.iloc[1]
            p = welch_p(times_of(second), times_of(first), self.drift_pct)
            runner = f"`{second['method']} -b {int(second['batch_size'])}`"
            if p is None:
                text += f"; the runner-up {runner} ({seconds(second['mean'])} s) has too few runs to tell apart"
            elif p >= ALPHA:
                text += f" ~ {runner} ({seconds(second['mean'])} s, within noise: Welch p = {p:.2f})"
            else:
                text += f"; the runner-up {runner} is slower by {self.ratio(second, first)}"
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
        rows = []
        for method, group in frame.groupby("method", sort=False):
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
                    text += f" ({ratio_text(reference[size], times_of(cell), self.drift_pct)})"
                if agreement_flag(cell):
                    text += f" {accuracy_text(cell)[0]}"
                row.append(text)
            rows.append(row)
        return tabulate(rows, headers=["Method"] + [f"bs {s}" for s in sizes], tablefmt="github")

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
            parts.append(flags_legend(self.drift_pct) + "\n")
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


def best_cells(frame: pd.DataFrame) -> pd.DataFrame:
    done = measured(frame)
    return done.loc[done.groupby("method", sort=False)["mean"].idxmin()] if not done.empty else done


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

    def machines(self) -> list[str]:
        return list(self.frame["machine"].unique())

    def machine_tables(self, machine: str) -> MachineTables:
        rows = self.frame[self.frame["machine"] == machine]
        return MachineTables(rows, self.reference, self.rooflines.get(machine, {}), self.drifts.get(machine, 0.0))

    def side_by_side(self) -> str:
        """Each method's best cell on each machine and device: mean [s] at its best batch size."""
        columns = list(dict.fromkeys(zip(self.frame["machine"], self.frame["device"], strict=True)))
        best = {
            (row["machine"], row["device"], row["method"]): row
            for (machine, device), frame in self.frame.groupby(["machine", "device"], sort=False)
            for _, row in best_cells(frame).iterrows()
        }
        first_machine = {device: machine for machine, device in reversed(columns)}
        rows = []
        for method in self.frame["method"].unique():
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
                lines.append(
                    f"- `{row['method']}` {where}{row['device']} bs {row['batch_size']}: {row['status']}"
                    + (f": {reason}" if isinstance(reason, str) else "")
                    + f" (log: `{row.get('log')}`)"
                )
        return lines

    def markdown(self) -> str:
        machines = self.machines()
        single = len(machines) == 1
        head = f"{machine_line(self.frame)}\n\n" if single else ""
        parts = [f"# nerbench results\n\n{head}Model: {self.model}. Corpus: {self.corpus}.\n"]
        parts += [f"> {note}\n" for note in self.notes]
        for machine in machines:
            if not single:
                rows = self.frame[self.frame["machine"] == machine]
                parts.append(f"## Machine `{machine}`\n\n{machine_line(rows)}\n")
            parts += self.machine_tables(machine).markdown("##" if single else "###")
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


def summary_frame(rows: list[dict]) -> pd.DataFrame:
    """summary.csv's table: its time columns are there even when no cell ran (all failed)."""
    frame = pd.DataFrame(rows)
    for column in TIME_COLUMNS:
        if column not in frame:
            frame[column] = float("nan")
    return frame


def environments(grid: Grid) -> dict[str, list[dict]]:
    """Where the measurements came from: per machine, once per interpreter (each cell file keeps
    its own). Every node of a cluster shares the environment's path, so the machine is the key."""
    found: dict[str, dict] = {machine.name: {} for machine in grid.machines}
    for cell in grid.runnable():
        timing = load_json(cell.path("result"))
        if timing and timing["status"] == Status.OK:
            found[cell.machine.name].setdefault(timing["environment"]["python_executable"], timing["environment"])
    return {machine: list(by_python.values()) for machine, by_python in found.items()}


def machine_line(frame: pd.DataFrame) -> str:
    done = measured(frame)
    if done.empty:
        return "Machine: no cell was measured."
    return f"Machine: {describe_machine(done.iloc[0])}.\n\n{host_load_line(done)}"


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


def model_text(model_info: Path) -> str:
    model = json.loads(model_info.read_text())
    size = f", {model['parameters']:,} parameters" if "parameters" in model else ""
    text = f"`{model_info.parent.parent.name}` ({model['source']}{size}, {model.get('architecture', 'ONNX export')}"
    return text + (f", dev-set F1 {model['dev_f1']:.4f})" if "dev_f1" in model else ")")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", required=True, help="the grid's manifest (grid.json, written by the grid rule)")
    parser.add_argument("--model-info", required=True)
    parser.add_argument("--corpus-info", required=True)
    parser.add_argument("--flops", required=True, help="flops.json: the corpus's FLOPs at each batch size")
    args = parser.parse_args()
    grid = Grid.from_manifest(args.grid)
    results = Path(grid.results())
    rooflines = {machine: load_json(path) or {} for machine, path in grid.rooflines().items()}
    flops = (load_json(args.flops) or {}).get("corpus_flops", {})
    frame = summary_frame([cell_row(cell, rooflines[cell.machine.name], flops) for cell in grid.cells])
    frame = host_speed_columns(frame, rooflines)
    corpus = json.loads(Path(args.corpus_info).read_text())
    notes = []
    if json.loads(Path(args.model_info).read_text())["source"] == "random":
        notes.append(
            "**The model has random weights: its predictions are meaningless.** Times are faithful to the "
            "model's shape; agreement still shows whether methods compute the same thing; F1 means nothing."
        )
    report = Report(
        model_text(Path(args.model_info)),
        f"`{corpus['file']}`, {corpus['lines']} lines, {corpus['words']} words",
        frame,
        grid.reference().name,
        notes,
        rooflines,
        differing_cells(grid),
        {machine.name: grid.drift_pct(machine) for machine in grid.machines},
    )
    markdown = report.markdown()
    write_text_atomically(results / "tables.md", markdown)
    write_text_atomically(results / "environment.json", json.dumps(environments(grid), indent=1) + "\n")
    write_text_atomically(results / "summary.csv", frame.to_csv(index=False))
    print(f"{len(grid.cells)} cells: {results / 'tables.md'}, {results / 'summary.csv'}")


if __name__ == "__main__":
    main()
