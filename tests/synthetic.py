"""A synthetic results tree shaped as real runs leave it, for any grid: every runnable cell's
result (hyperfine's JSON with the cell, settings and environment), check and phase files, each
machine's roofline, the corpus's FLOPs, the model's and corpus's descriptions, and the grid's
manifest. The steps that cover the whole grid (tables, plots, verify, compare) run over it
without timing anything. Times are drawn from a fixed seed; the first run's environment is
collected once and reused.

  python tests/synthetic.py DIR [--machines N]     a tree for N machines of the default grid
  python tests/synthetic.py DIR --time              how long Snakemake's plan and each step take
                                                    for 215 cells (2 machines) and 1,300 (10)
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for folder in (REPO / "scripts", REPO / "workflow", REPO / "workflow" / "scripts" / "timing"):
    sys.path.insert(0, str(folder))

import environment  # noqa: E402
from nerbench.config import extend, load  # noqa: E402
from nerbench.flops import flops_key  # noqa: E402
from nerbench.grid import Cell, Grid  # noqa: E402
from nerbench.host import CPU_FEATURES  # noqa: E402
from nerbench.record import CellIdentity, CellRecord, Contention, HostSpeed, QuietStart, Runs, Status, Threads  # noqa: E402
from nerlib.timings import PHASES  # noqa: E402

SENTENCES = 1000


def write_json(path: str | Path, record) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=1) + "\n")


def result_record(cell: Cell, env: dict, rng: random.Random, runs: int) -> CellRecord:
    base = {"baseline": 20.0, "pipelines": 21.0, "ort-hf": 16.0}.get(cell.method.program, 5.0) / (
        1 + 0.2 * len(cell.method.options)
    )
    times = [base * rng.uniform(0.97, 1.03) for _ in range(runs)]
    mean = sum(times) / runs
    stddev = (sum((t - mean) ** 2 for t in times) / (runs - 1)) ** 0.5 if runs > 1 else None
    stats = Runs(
        command=f"{cell.method} -d {cell.device} -b {cell.batch_size}",
        mean=mean,
        stddev=stddev,
        median=sorted(times)[runs // 2],
        user=mean * 1.6,
        system=mean * 0.1,
        min=min(times),
        max=max(times),
        times=times,
        memory_usage_byte=[int(rng.uniform(150, 1200) * 2**20) for _ in times],
        exit_codes=[0] * runs,
        parameters={},
    )
    return CellRecord(
        runs=stats,
        gpu_memory_peak_bytes=2**30 if cell.device == "cuda" else None,
        cell=CellIdentity(
            *cell.key, command=f"python {cell.method.executable} -b {cell.batch_size}", log=cell.path("log")
        ),
        status=Status.OK,
        wall_seconds=mean * (runs + 1),
        settings={"machine": cell.machine.entry},
        threads=Threads(threads=2, workers=1, intra_op=2),
        quiet_start=QuietStart(waited_seconds=0.5, gave_up=False, busy_cores=0.01),
        contention=Contention(load_before=[0.3, 0.2, 0.1], steal_pct=0.01, foreign_cpu_pct=rng.uniform(0, 2)),
        host_speed=HostSpeed(**host_speed(rng.uniform(98, 104), rng.uniform(98, 104))),
        environment={**env, "scheduler": {**env["scheduler"], "host": cell.machine.name}},
    )


def host_speed(*rates: float) -> dict:
    """A host-speed record (timing/host_load.HostSpeed's, as JSON) of probes with these slowest-CPU rates."""
    probes = [{"gflops_by_cpu": {"0": rate}, "slowest_gflops": rate, "numpy": "2.4.6"} for rate in rates]
    return {"probes": probes, "gflops": max(rates)}


def check_record(cell: Cell, rng: random.Random) -> dict:
    exact = cell.method.dtype == "fp32"
    differences = [] if exact else [difference(line, rng) for line in sorted(rng.sample(range(1, SENTENCES), 40))]
    near = sum(item["near_tie"] for item in differences)
    return {
        "cell": {**cell.key._asdict(), "log": cell.path("log")},
        "dtype": cell.method.dtype,
        "status": Status.OK,
        "agreement_pct": 100.0 if exact else rng.uniform(92, 96),
        "identical_sentences_pct": 100.0 - 100.0 * len(differences) / SENTENCES,
        "differing_sentences": len(differences),
        "near_tie_sentences": near,
        "near_tie_logits": 0.01 if cell.device == "cpu" else 0.1,
        "differences": differences,
        "entity_precision": 0.87,
        "entity_recall": 0.88,
        "f1": 0.874 if exact else rng.uniform(0.86, 0.874),
    }


def difference(line: int, rng: random.Random) -> dict:
    gap = rng.uniform(0, 3)
    entity = {"label": "ORG", "start": 0, "end": 2, "text": "EU", "gap": gap, "near_tie": gap < 0.01}
    return {
        "line": line,
        "text": "EU rejects German call to boycott British lamb .",
        "predicted": [{**entity, "label": "LOC"}],
        "reference": [entity],
        "gap": gap,
        "near_tie": gap < 0.01,
    }


def phases_record(rng: random.Random) -> dict:
    phases = {phase: rng.uniform(0.01, 0.5) for phase in PHASES}
    return {"phases": {**phases, "inference": rng.uniform(6.0, 9.0)}, "truncated_sentences": 0}


def roofline_record() -> dict:
    peak = {"peak_flops": 2e11, "by_candidate": {"torch": 2e11}}
    return {
        "model_shape": {"layers": 6, "hidden": 384, "ffn": 1536, "gated": False},
        "peaks": {
            "cpu": {"fp32": peak, "int8": {**peak, "peak_flops": 8e11}, "threads": 2},
            "cuda": {"fp32": {**peak, "peak_flops": 5e13}, "fp16": {**peak, "peak_flops": 5e14}},
        },
    }


def flops_record(batch_sizes: list[int]) -> dict:
    def work(size: int, sort: bool) -> dict:
        padding = 1.04 if sort else 1 + 0.3 * size**0.5
        removed = 1 + (padding - 1) / 10  # an engine that drops padding keeps the attention's
        return {
            "flops": 1e11 * padding,
            "flops_padding_removed": 1e11 * removed,
            "useful_flops": 1e11,
            "padded_tokens": 30000,
            "tokens": 25000,
        }

    return {"corpus_flops": {flops_key(size, sort): work(size, sort) for size in batch_sizes for sort in (False, True)}}


def build(directory: Path, override: dict, seed: int = 0) -> Grid:
    """A results tree for config.yaml extended by `override`, made in `directory` (the working
    directory of the steps that read it). Returns the grid."""
    previous = os.getcwd()
    os.chdir(directory)
    try:
        # Every device and CPU feature, whatever the host running the tests has; process cells alone
        # unless the override asks for serving scenarios (a tree has no LoadGen runs to show).
        config = extend(load([REPO / "config.yaml"]), {"benchmark": {"scenarios": ["process"]}})
        grid = Grid.from_config(extend(config, override), ("cpu", "cuda"), cpu_features=sorted(CPU_FEATURES))
        rng = random.Random(seed)
        env = environment.collect(None, None, 2)
        for cell in grid.runnable():
            result_record(cell, env, rng, grid.config["benchmark"]["runs"]).write(cell.path("result"))
            write_json(cell.path("check"), check_record(cell, rng))
            write_json(cell.path("phases"), phases_record(rng))
        for path in grid.rooflines().values():
            write_json(path, roofline_record())
        write_json(grid.results("flops.json"), flops_record(grid.config["benchmark"]["batch_sizes"]))
        write_json(grid.results("grid.json"), grid.manifest())
        write_json(grid.results("corpus.json"), {"file": "data/test-1k.txt", "lines": SENTENCES, "words": 13000})
        model = grid.normalised_model()
        write_json(f"{model}/model_info.json", {"source": "finetune", "architecture": "DistilBert", "dev_f1": 0.9})
        return grid
    finally:
        os.chdir(previous)


def rewrite_times(directory, grid, change):
    """In a tree made by build(directory, ...), give every cell's runs new times: change(cell, times) -> times."""
    for cell in grid.runnable():
        path = directory / cell.path("result")
        record = json.loads(path.read_text())
        stats = record["results"][0]
        stats["times"] = change(cell, stats["times"])
        stats["mean"] = sum(stats["times"]) / len(stats["times"])
        path.write_text(json.dumps(record))


def small_tree(directory: Path, seed: int = 0, **benchmark) -> Grid:
    """A tree of six CPU cells: three methods (the baseline, a Python and the Rust method on ONNX
    Runtime) at batch sizes 1 and 8, `benchmark` overriding any of the benchmark's settings."""
    settings = {"methods": ["baseline", "ort-lean", "onnxruntime-ner"], "batch_sizes": [1, 8], **benchmark}
    return build(directory, {"benchmark": {**settings, "devices": ["cpu"]}}, seed=seed)


def machines(count: int) -> dict:
    """`count` kinds of SLURM node (one machine alone is the host)."""
    # A SLURM machine's features are given, never read from the host: every one, so no cell is left out.
    features = sorted(CPU_FEATURES)
    nodes = [
        {"name": f"machine-{index:02d}", "partition": f"part-{index:02d}", "cpus": 2, "cpu_features": features}
        for index in range(count)
    ]
    return {"machines": nodes} if count > 1 else {}


# docs/cluster.md's two-machine example: a CPU node, and a GPU node timed on both devices.
TWO_MACHINES = {
    "machines": [
        {"name": "epyc", "partition": "cpu", "cpus": 64, "devices": ["cpu"]},
        {"name": "h200", "partition": "gpu", "cpus": 16, "devices": ["cpu", "cuda"]},
    ]
}


def step_commands(grid: Grid, other: Path) -> dict[str, list[str]]:
    """The whole-grid steps as the rules run them, from the tree's working directory."""
    steps = REPO / "workflow" / "scripts"
    python = sys.executable
    return {
        "summary": [
            *(python, str(steps / "report/gather.py"), "--grid", grid.results("grid.json")),
            *("--flops", grid.results("flops.json")),
        ],
        "tables": [
            *(python, str(steps / "report/tables.py"), "--grid", grid.results("grid.json")),
            *("--summary", grid.results("summary.csv")),
            *("--model-info", f"{grid.normalised_model()}/model_info.json", "--corpus-info"),
            grid.results("corpus.json"),
        ],
        "plots": [python, str(steps / "report/plots.py"), grid.results("summary.csv"), grid.results("plots")],
        "verify": [
            *(python, str(steps / "checks/verify.py"), "--grid", grid.results("grid.json")),
            *("--summary", grid.results("summary.csv"), grid.results("verified.txt")),
        ],
        "compare": [python, str(steps / "report/compare.py"), grid.results(), str(other)],
    }


def make_tables(grid: Grid, directory: Path) -> None:
    """summary.csv, then tables.md, as the rules make them, in the tree's working directory."""
    for step in ("summary", "tables"):
        subprocess.run(step_commands(grid, directory)[step], cwd=directory, check=True, capture_output=True)


def run_steps(directory: Path, grid: Grid, other: Path) -> dict[str, float]:
    """Seconds each whole-grid step took; a step that fails stops with its output."""
    seconds = {}
    for name, command in step_commands(grid, other).items():
        started = time.perf_counter()
        done = subprocess.run(command, cwd=directory, capture_output=True, text=True)
        seconds[name] = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return seconds


def plan_seconds(directory: Path, override: dict) -> float:
    """How long Snakemake takes to parse the workflow and plan the grid (a dry run from nothing)."""
    config = directory / "plan.json"
    config.write_text(json.dumps(override))
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", "--cores", "1"]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--configfile", str(config)],
        cwd=directory,
        capture_output=True,
        text=True,
        env={**os.environ, "NERBENCH_DEVICES": "cpu,cuda", "NERBENCH_CPU_FEATURES": ",".join(sorted(CPU_FEATURES))},
    )
    if done.returncode != 0:
        raise RuntimeError(f"the dry run failed:\n{done.stderr[-4000:]}")
    return time.perf_counter() - started


def time_everything(directory: Path) -> None:
    steps = ("summary", "tables", "plots", "verify", "compare")
    print("| cells | machines | plan (snakemake -n) [s] | " + " | ".join(f"{step} [s]" for step in steps) + " |")
    print("|---" * (3 + len(steps)) + "|")
    for label, override in (("2", TWO_MACHINES), ("10", machines(10))):
        here, other = directory / f"{label}-a", directory / f"{label}-b"
        for folder in (here, other):
            folder.mkdir(parents=True, exist_ok=True)
        grid = build(here, override, seed=0)
        build(other, override, seed=1)
        make_tables(grid, other)
        seconds = run_steps(here, grid, other / grid.results())
        (directory / f"{label}-plan").mkdir(exist_ok=True)
        plan = plan_seconds(directory / f"{label}-plan", override)
        row = [len(grid.cells), label, plan, *(seconds[step] for step in steps)]
        print("| " + " | ".join(f"{value:.1f}" if isinstance(value, float) else str(value) for value in row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--time", action="store_true", help="time the plan and the steps at two sizes")
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    if args.time:
        time_everything(args.directory)
        return
    grid = build(args.directory, machines(args.machines))
    print(f"{len(grid.cells)} cells in {args.directory / grid.results()}")


if __name__ == "__main__":
    main()
