"""What the pipeline's steps share.

The steps (this folder) are what Snakemake runs around the timed programs; the timed programs
themselves and their shared core, `nerlib`, live in the repository's scripts/ folder, and the
model of the grid, `nerbench`, in workflow/. Importing this module puts both on the import path,
so a step can use them whether Snakemake or a person runs it.
"""

import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
METHOD_SCRIPTS = REPO / "scripts"
GRID_PACKAGE = REPO / "workflow"

for folder in (METHOD_SCRIPTS, GRID_PACKAGE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def cpu_flags() -> frozenset[str]:
    """The CPU's instruction-set flags (nerbench.host), imported when asked: the package imports
    PyYAML, which the corpus steps' environment (envs/data.yaml) does not have."""
    from nerbench.host import cpu_flags as host_cpu_flags

    return host_cpu_flags()


def load_json(path: str | Path) -> dict | None:
    """A JSON file, or None when it is missing or unreadable (a cell that never finished)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# The int8 dot-product instructions (vpdpbusd): with them a core's int8 products neither run at
# fp32's pace nor saturate their 16-bit sums as ONNX Runtime's U8S8 path can without them.
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})


def flops_key(batch_size: int, sort: bool, token_budget: bool = False) -> str:
    """How flops.json names the padded work of one way of batching the corpus."""
    return f"{batch_size}{'+sort' if sort else ''}{'+budget' if token_budget else ''}"


# ---- summary.csv: written by aggregate.py, read by plots.py and compare.py ---------------


# Columns of identifiers that only look like numbers.
TEXT_COLUMNS = {
    **{name: str for name in ("machine", "git_commit", "slurm_job_id", "slurm_node", "host")},
    "times": str,  # the runs' seconds, space-separated (one run would read as a number)
    "host_probes_gflops": str,  # likewise, the speed probes' rates
}
# A cell's identity in summary.csv: nerbench.CellKey's fields.
KEY_COLUMNS = ["machine", "method", "device", "batch_size"]


def read_summary(path: str | Path):
    import pandas as pd

    return pd.read_csv(path, dtype=TEXT_COLUMNS)


# What measures a machine's peaks again (a peak measured on a contended host is too low).
REMEASURE_PEAKS = "snakemake --forcerun roofline"


def is_true(value) -> bool:
    """True for a true flag of summary.csv, whether Python's or numpy's; False for NaN (a cell without it)."""
    import numpy as np

    return isinstance(value, bool | np.bool_) and bool(value)


# A cell's markers in the tables and compare: a number to read with care.
UNSTABLE_MARK, CONTENDED_MARK, SLOW_HOST_MARK = "*", "!", "↓"


def flags(row) -> str:
    """Markers of a number to read with care: unstable runs, timed under contention, timed while
    the host ran slow."""
    marks = {"unstable": UNSTABLE_MARK, "contended": CONTENDED_MARK, "slow_host": SLOW_HOST_MARK}
    return "".join(mark for column, mark in marks.items() if is_true(row.get(column)))


def marks_legend() -> str:
    from host_load import CONTENDED_FOREIGN_PCT, CONTENDED_STEAL_PCT, SLOW_HOST_PCT
    from uncertainty import UNSTABLE_CV_PCT

    return (
        f"`{UNSTABLE_MARK}`: unstable, the runs' coefficient of variation above {UNSTABLE_CV_PCT:g}%; "
        f"`{CONTENDED_MARK}`: contended, timed while the hypervisor stole ≥ {CONTENDED_STEAL_PCT:g}% of the host's "
        f"CPU or other processes used ≥ {CONTENDED_FOREIGN_PCT:g}% of it; `{SLOW_HOST_MARK}`: slow host, the host's "
        f"speed around its runs (probed before and after) more than {SLOW_HOST_PCT:g}% below the machine's."
    )


def measured(summary):
    """The cells that ran and were timed."""
    from nerbench import Status

    return summary[summary["status"] == Status.OK] if "mean" in summary else summary.iloc[0:0]


def text(value) -> str | None:
    """A text column's value, or None where the CSV has none (pandas reads it as NaN)."""
    return value if isinstance(value, str) else None


def describe_machine(row) -> str:
    """The machine, software and code a summary row was measured with, in one line."""
    ort = text(row.get("pkg_onnxruntime-gpu"))
    ort = f"{ort} (gpu build)" if ort else text(row.get("pkg_onnxruntime"))
    commit = text(row.get("git_commit")) or "unknown"
    dirty = " (uncommitted changes)" if row.get("git_dirty") is True else ""
    host, job = text(row.get("host")), text(row.get("slurm_job_id"))
    where = f"{host}{f' (SLURM job {job})' if job else ''}: " if host else ""
    return (
        f"{where}{row['cpu_model']}, {int(row['physical_cores'])} physical cores ({int(row['logical_cpus'])} logical), "
        f"{text(row.get('gpu')) or 'no GPU'}; {int(row['threads'])} intra-op threads per method; "
        f"Python {row['python']}, torch {row.get('pkg_torch')}, onnxruntime {ort}; code {commit[:10]}{dirty}"
    )
