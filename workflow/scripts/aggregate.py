#!/usr/bin/env python3
"""Turn the per-cell results into results/tables.md and results/summary.csv.

tables.md: the machine in one line; per device, each method at its best batch size in the
original benchmark's format (mean ± σ, min … max) with agreement and F1 beside it; then the
full method × batch size grid with speed relative to baseline.py at the same batch size; then
cells that failed or could not run here. summary.csv: one row per cell with every hyperfine
statistic, the checks and the environment.
"""

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import common  # noqa: F401  (puts scripts/ on the path)
import pandas as pd
from nerlib.timings import PHASES
from tabulate import tabulate

REFERENCE_METHOD = "baseline"


def load_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def cell_row(results: Path, cell: dict, roofline: dict | None) -> dict:
    name = f"{cell['method']}/{cell['device']}-bs{cell['batch_size']}"
    row = {**{k: cell[k] for k in ("method", "device", "batch_size", "precision")}}
    if not cell["available"]:
        return {**row, "status": "not available on this host"}
    timing = load_json(results / "cells" / f"{name}.json")
    if timing is None:
        return {**row, "status": "missing", "log": str(results / "logs" / "cells" / f"{name}.log")}
    row.update(status=timing["status"], reason=timing.get("reason"), log=timing["cell"]["log"], command=timing["cell"]["command"])
    if timing["results"]:
        stats = timing["results"][0]
        row.update({key: stats.get(key) for key in ("mean", "stddev", "median", "min", "max", "user", "system")})
        row["runs"] = len(stats.get("times", []))
    check = load_json(results / "checks" / f"{name}.json") or {}
    if check.get("status", "ok") != "ok" and row["status"] == "ok":
        row["status"] = check["status"]
    for key in ("agreement_pct", "identical_sentences_pct", "precision", "recall", "f1"):
        if key in check:
            row["entity_" + key if key in ("precision",) else key] = check[key]
    if check.get("first_difference"):
        row["first_difference_line"] = check["first_difference"]["line"]
    row.update(flatten_environment(timing["environment"]))
    row.update(phase_columns(timing["cell"].get("phases"), cell, roofline))
    return row




def phase_columns(path: str | None, cell: dict, roofline: dict | None) -> dict:
    """Seconds per phase from the method's --timings file, and the inference phase's FLOP/s
    against the measured fp32 GEMM peak."""
    phases = load_json(Path(path)) if path else None
    if not phases:
        return {}
    columns = {f"phase_{name}": phases["phases"].get(name, 0.0) for name in PHASES}
    key = f"{cell['batch_size']}{'+sort' if cell['method'].endswith('+sort') else ''}"
    # The peak is the CPU's: a GPU cell's rate is not compared with it.
    work = (roofline or {}).get("corpus_flops", {}).get(key) if cell["device"] == "cpu" else None
    inference = phases["phases"].get("inference") or 0
    if work and inference > 0:
        columns["inference_gflops"] = work["flops"] / inference / 1e9
        columns["pct_of_fp32_peak"] = 100 * work["flops"] / inference / roofline["gemm"]["peak_flops"]
        columns["padding_overhead_pct"] = 100 * (work["flops"] / work["useful_flops"] - 1)
    return columns


def flatten_environment(env: dict) -> dict:
    flat = {f"pkg_{name}": version for name, version in env.get("packages", {}).items()}
    cpu = env.get("cpu", {})
    gpus = env.get("gpus") or []
    flat.update(
        python=env.get("python"), cpu_model=cpu.get("model"), cpu_flags=" ".join(cpu.get("flags", [])),
        physical_cores=cpu.get("physical_cores"), logical_cpus=cpu.get("logical_cpus"), threads=env.get("threads"),
        gpu=gpus[0]["name"] if gpus else None, gpu_driver=gpus[0]["driver"] if gpus else None,
        ort_providers=" ".join(env.get("onnxruntime_providers") or []), hyperfine=env.get("hyperfine"), rustc=env.get("rustc"),
        git_commit=env.get("git", {}).get("commit"), git_dirty=env.get("git", {}).get("dirty"),
        config_sha256=env.get("config_sha256"), model_sha256=env.get("model", {}).get("sha256"),
        onnx_sha256=env.get("model", {}).get("onnx_sha256"),
    )
    return flat


def seconds(value: float) -> str:
    return f"{value:.3f}"


def accuracy_text(row) -> tuple[str, str]:
    agreement = row.get("agreement_pct")
    f1 = row.get("f1")
    agreement_text = "n/a" if pd.isna(agreement) else f"{agreement:.2f}%"
    if not pd.isna(agreement) and agreement < 100 and row["precision"] == "fp32":
        agreement_text += " **DISAGREES**"
    return agreement_text, ("n/a" if pd.isna(f1) else f"{f1:.4f}")


@dataclass
class Report:
    machine: str
    model: str
    corpus: str
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    peak_gflops: float | None = None

    def measured(self) -> pd.DataFrame:
        return self.frame[self.frame["status"] == "ok"] if "mean" in self.frame else self.frame.iloc[0:0]

    def best_table(self, device: str) -> str:
        rows = []
        for method, group in self.frame[self.frame["device"] == device].groupby("method", sort=False):
            done = group[(group["status"] == "ok")]
            if done.empty:
                rows.append([f"`{method}`", group["status"].iloc[0], "", "", ""])
                continue
            best = done.loc[done["mean"].idxmin()]
            agreement, f1 = accuracy_text(best)
            rows.append([
                f"`{method} -b {int(best['batch_size'])}`",
                f"{seconds(best['mean'])} ± {seconds(best['stddev'] if not pd.isna(best['stddev']) else 0)}",
                f"{seconds(best['min'])} … {seconds(best['max'])}", agreement, f1,
            ])
        return tabulate(rows, headers=["Method (best batch size)", "Mean [s]", "Range [s]", "Agreement", "F1"], tablefmt="github")

    def best_cells(self, device: str) -> pd.DataFrame:
        done = self.measured()
        done = done[done["device"] == device]
        return done.loc[done.groupby("method", sort=False)["mean"].idxmin()] if not done.empty else done

    def phase_table(self, device: str) -> str:
        """Where each method's time goes, at its best batch size."""
        rows = []
        for _, cell in self.best_cells(device).iterrows():
            if pd.isna(cell.get("phase_inference")):
                continue
            row = [f"`{cell['method']} -b {int(cell['batch_size'])}`"]
            row += [f"{cell[f'phase_{name}']:.2f}" for name in PHASES]
            row.append(f"{cell['mean']:.2f}")
            if not pd.isna(cell.get("pct_of_fp32_peak", float("nan"))):
                row += [f"{cell['inference_gflops']:.1f}", f"{cell['pct_of_fp32_peak']:.0f}%", f"{cell['padding_overhead_pct']:.0f}%"]
            else:
                row += ["", "", ""]
            rows.append(row)
        headers = ["Method (best batch size)"] + [f"{name} [s]" for name in PHASES] + [
            "hyperfine mean [s]", "inference GFLOP/s", "of fp32 peak", "padding FLOPs"]
        return tabulate(rows, headers=headers, tablefmt="github")

    def grid_table(self, device: str) -> str:
        frame = self.frame[self.frame["device"] == device]
        sizes = sorted(frame["batch_size"].unique())
        reference = {
            r["batch_size"]: r["mean"] for _, r in frame.iterrows()
            if r["method"] == REFERENCE_METHOD and r["status"] == "ok"
        }
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
                    row.append(cell["status"] if cell["status"] == "not available on this host" else "failed")
                    continue
                text = f"{seconds(cell['mean'])} s"
                if size in reference:
                    text += f" ({reference[size] / cell['mean']:.2f}×)"
                agreement, _ = accuracy_text(cell)
                if "DISAGREES" in agreement:
                    text += f" {agreement}"
                row.append(text)
            rows.append(row)
        return tabulate(rows, headers=["Method"] + [f"bs {s}" for s in sizes], tablefmt="github")

    def problems(self) -> list[str]:
        lines = []
        for _, row in self.frame.iterrows():
            if row["status"] not in ("ok", "not available on this host"):
                reason = row.get("reason")
                lines.append(f"- `{row['method']}` {row['device']} bs {row['batch_size']}: {row['status']}"
                             + (f": {reason}" if isinstance(reason, str) else "") + f" (log: `{row.get('log')}`)")
        return lines

    def markdown(self) -> str:
        parts = [f"# nerbench results\n\n{self.machine}\n\nModel: {self.model}. Corpus: {self.corpus}.\n"]
        parts += [f"> {note}\n" for note in self.notes]
        for device in self.frame["device"].unique():
            subset = self.frame[self.frame["device"] == device]
            parts.append(f"## {device.upper()}\n")
            if (subset["status"] == "not available on this host").all():
                parts.append(f"{device}: not available on this host; these cells were not run.\n")
                continue
            parts.append(self.best_table(device) + "\n")
            parts.append(f"### {device.upper()}: every batch size (mean; in brackets, speed relative to "
                         f"`{REFERENCE_METHOD}` at the same batch size)\n")
            parts.append(self.grid_table(device) + "\n")
            phases = self.phase_table(device)
            if phases.count("\n") > 1:
                peak = f" against the measured fp32 GEMM peak of {self.peak_gflops:.0f} GFLOP/s" if self.peak_gflops else ""
                parts.append(f"### {device.upper()}: where the time goes (seconds per phase, as each program measured "
                             f"itself; inference FLOP/s{peak}, padding included)\n")
                parts.append(phases + "\n")
        problems = self.problems()
        if problems:
            parts.append("## Failed cells\n\n" + "\n".join(problems) + "\n")
        parts.append("Agreement: share of entities identical to the reference run (baseline, CPU, fp32, batch size 1). "
                     "F1: entity-level against the CoNLL-2003 gold labels (seqeval). Times: whole process, "
                     "measured by hyperfine, start-up and model load included.\n")
        return "\n".join(parts)


def write_environment(results: Path, grid: list[dict]) -> None:
    """environment.json: where the measurements came from, for the report (each cell file keeps its own)."""
    environments = {}
    for cell in grid:
        timing = load_json(results / "cells" / f"{cell['method']}/{cell['device']}-bs{cell['batch_size']}.json")
        if timing and timing["status"] == "ok":
            environments.setdefault(timing["environment"]["python_executable"], timing["environment"])
    (results / "environment.json").write_text(json.dumps(list(environments.values()), indent=1) + "\n")


def ort_version(row) -> str:
    """onnxruntime-gpu when installed (it is the one imported), else onnxruntime."""
    gpu = row.get("pkg_onnxruntime-gpu")
    return f"{gpu} (gpu build)" if isinstance(gpu, str) else str(row.get("pkg_onnxruntime"))


def machine_line(frame: pd.DataFrame) -> str:
    measured = frame[frame["status"] == "ok"] if "cpu_model" in frame else frame.iloc[0:0]
    if measured.empty:
        return "Machine: no cell was measured."
    row = measured.iloc[0]
    gpu = row.get("gpu") if isinstance(row.get("gpu"), str) else "no GPU"
    commit = row.get("git_commit") or "unknown"
    dirty = " (uncommitted changes)" if row.get("git_dirty") is True else ""
    return (f"Machine: {row['cpu_model']}, {int(row['physical_cores'])} physical cores ({int(row['logical_cpus'])} logical), "
            f"{gpu}; {int(row['threads'])} intra-op threads per method; Python {row['python']}, "
            f"torch {row.get('pkg_torch')}, onnxruntime {ort_version(row)}; "
            f"code {commit[:10]}{dirty}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", required=True)
    parser.add_argument("--grid", required=True, help="JSON list of cells with their availability")
    parser.add_argument("--model-info", required=True)
    parser.add_argument("--corpus-info", required=True)
    parser.add_argument("--roofline", help="roofline.json: GEMM peak and the corpus's FLOPs")
    args = parser.parse_args()
    results = Path(args.results)
    roofline = load_json(Path(args.roofline)) if args.roofline else None
    frame = pd.DataFrame([cell_row(results, cell, roofline) for cell in json.loads(args.grid)])
    model = json.loads(Path(args.model_info).read_text())
    corpus = json.loads(Path(args.corpus_info).read_text())
    model_text = f"`{Path(args.model_info).parent.parent.name}` ({model['source']}, {model['parameters']:,} parameters"
    model_text += f", dev-set F1 {model['dev_f1']:.4f})" if "dev_f1" in model else ")"
    notes = []
    if model["source"] == "random":
        notes.append("**The model has random weights: its predictions are meaningless.** Times are faithful to the "
                     "model's shape; agreement still shows whether methods compute the same thing; F1 means nothing.")
    peak = roofline["gemm"]["peak_flops"] / 1e9 if roofline else None
    report = Report(machine_line(frame), model_text, f"`{corpus['file']}`, {corpus['lines']} lines, {corpus['words']} words",
                    frame, notes, peak)
    (results / "tables.md").write_text(report.markdown())
    write_environment(results, json.loads(args.grid))
    frame.to_csv(results / "summary.csv", index=False)
    print(report.markdown())


if __name__ == "__main__":
    main()
