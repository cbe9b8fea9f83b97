"""summary.csv as a pandas table, for the report steps that compute over whole grids (the tables,
plots, compare, repeatability): its columns typed as nerbench.record.SummaryRow says."""

from pathlib import Path

import pandas as pd

import common  # noqa: F401  (puts the grid package on the path)
from nerbench.record import TEXT_COLUMNS, Status
from nerbench.stats import observations
from nerbench.trust import is_true

# A cell's identity in summary.csv: nerbench.grid.CellKey's fields.
KEY_COLUMNS = ["machine", "method", "device", "batch_size"]


def read_summary(path: str | Path) -> pd.DataFrame:
    """Typed as SummaryRow says; a batch size is a number but a serving cell's `best`. A summary
    from before the serving scenarios holds process cells alone."""
    frame = pd.read_csv(path, dtype={**TEXT_COLUMNS, "batch_size": str})
    frame["batch_size"] = frame["batch_size"].map(lambda value: int(value) if str(value).isdigit() else value)
    if "scenario" not in frame:
        frame["scenario"] = "process"
    return frame


def measured(summary: pd.DataFrame) -> pd.DataFrame:
    """The process cells that ran and were timed (a serving cell's figures are its own: served())."""
    if "mean" not in summary:
        return summary.iloc[0:0]
    return summary[(summary["status"] == Status.OK) & (summary["scenario"] == "process")]


def text(value) -> str | None:
    """A text column's value, or None where the CSV has none (pandas reads it as NaN)."""
    return value if isinstance(value, str) else None


def describe_machine(row) -> str:
    """The machine, software and code a summary row was measured with, in one line."""
    ort = text(row.get("pkg_onnxruntime-gpu"))
    ort = f"{ort} (gpu build)" if ort else text(row.get("pkg_onnxruntime"))
    commit = text(row.get("git_commit")) or "unknown"
    dirty = " (uncommitted changes)" if is_true(row.get("git_dirty")) else ""
    host, job = text(row.get("host")), text(row.get("slurm_job_id"))
    where = f"{host}{f' (SLURM job {job})' if job else ''}: " if host else ""
    return (
        f"{where}{row['cpu_model']}, {int(row['physical_cores'])} physical cores ({int(row['logical_cpus'])} logical), "
        f"{text(row.get('gpu')) or 'no GPU'}; {int(row['threads'])} intra-op threads per method; "
        f"Python {row['python']}, torch {row.get('pkg_torch')}, onnxruntime {ort}; code {commit[:10]}{dirty}"
    )


def times_of(row) -> list[float]:
    """A cell's observations: its round means in rounds, else its runs."""
    return observations(row.get("times"), row.get("round_means"))
