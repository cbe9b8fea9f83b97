"""A cell's record: the typed form of what a timed job writes (`cells/<method>/<device>-bs<N>.json`)
and of summary.csv's row, which every step reads.

`CellRecord` is what `run_cell.py` and `combine_rounds.py` write and the report steps read: the
cell, hyperfine's statistics, what the host did around the runs, the settings that define the
measurement and the environment it ran in. `SummaryRow` is one row of summary.csv, built from a
record (and the cell's check and phases) by the gather step, and read back, typed, by compare,
repeatability and verify. Each field says its unit (`unit` in its metadata, "" for none).

The JSON keeps hyperfine's own layout (`results: [{mean, times, ...}]`), so a record is still a
hyperfine export. `from_json` reads every format written since the grid model (fixtures of each in
tests/data/records/); a field a format did not have reads as None. The format is versioned rather
than the records re-timed: editing this file re-times no cell (docs/contributing.md).

Standard library only: it runs in every method's environment (run_cell.py does).
"""

import csv
import json
import math
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

from nerbench import layout

# The record formats, each a fixture in tests/data/records/:
#   1  f1a3c00 (2026-12-01): hyperfine's export, the cell with its machine, status, settings, environment
#   2  93ffa3d (2026-12-01): + contention, quiet_start, hyperfine_warnings; rounds when combined
#   3  e0d137a (2026-12-06): + host_speed (probes before and after the runs)
#   4  this: + schema_version, threads (the intra-op threads it ran with), the CPU's family and model,
#      the cell's scenario and a serving cell's LoadGen runs (serving)
SCHEMA_VERSION = 4


class Status:
    """What became of a cell (its result file's `status`, summary.csv's too)."""

    OK = "ok"
    FAILED = "failed"
    MISSING = "missing"  # no result file: never run, or interrupted
    NOT_AVAILABLE = "not available"  # its machine lacks a device or a CPU feature: Cell.lacking says which
    NOT_CHECKED = "not checked: the cell failed"


def unit(name: str, default=None, **more):
    """A field with its unit, for the docs and summary.csv's column table."""
    return field(default=default, metadata={"unit": name, **more})


@dataclass
class Runs:
    """hyperfine's statistics of the timed runs (one entry of its export's `results`)."""

    command: str = ""
    times: list[float] = field(default_factory=list, metadata={"unit": "s"})
    mean: float | None = unit("s")
    stddev: float | None = unit("s")  # None for one run
    median: float | None = unit("s")
    min: float | None = unit("s")
    max: float | None = unit("s")
    user: float | None = unit("s")  # CPU time in user mode, per run
    system: float | None = unit("s")
    exit_codes: list[int] = field(default_factory=list, metadata={"unit": ""})
    memory_usage_byte: list[int] | None = unit("bytes")  # peak resident memory per run (hyperfine 1.20)
    parameters: dict | None = unit("")

    @classmethod
    def from_hyperfine(cls, export: dict) -> "Runs":
        """The first command's entry of a hyperfine --export-json file."""
        return from_dict(cls, export["results"][0])


@dataclass
class Contention:
    """The host's CPU accounting over the timed runs (timing/host_load.py)."""

    load_before: list[float] | None = unit("")  # 1, 5, 15-minute load averages before the runs
    wall_seconds: float | None = unit("s")
    host_cpus: int | None = unit("CPUs")
    steal_pct: float | None = unit("% of the host's CPU time")
    foreign_cpu_pct: float | None = unit("% of the host's CPU time")
    timed_cpu_seconds: float | None = unit("s")


@dataclass
class QuietStart:
    waited_seconds: float | None = unit("s")
    gave_up: bool | None = unit("")
    busy_cores: float | None = unit("cores")


@dataclass
class HostSpeed:
    """The host's speed probed before and after the runs (each probe: every CPU's GFLOP/s on a fixed
    product, the slowest CPU's, numpy's version; or its error), and the faster of the two."""

    probes: list[dict] = field(default_factory=list, metadata={"unit": "GFLOP/s"})
    gflops: float | None = unit("GFLOP/s")

    def rates(self) -> list[float]:
        return [probe["slowest_gflops"] for probe in self.probes if "slowest_gflops" in probe]


@dataclass
class Threads:
    """The threads a cell ran with, resolved on the node that timed it (benchmark.threads 0: its
    physical cores): `threads` in all, in `workers` sessions of `intra_op` threads each (+dp)."""

    threads: int | None = unit("threads")
    workers: int | None = unit("sessions")
    intra_op: int | None = unit("threads per session")


@dataclass
class Latency:
    """A LoadGen run's query latencies (issue to completion), in milliseconds."""

    mean_ms: float | None = unit("ms")
    p50_ms: float | None = unit("ms")
    p90_ms: float | None = unit("ms")
    p95_ms: float | None = unit("ms")
    p99_ms: float | None = unit("ms")
    p999_ms: float | None = unit("ms")
    max_ms: float | None = unit("ms")


@dataclass
class LoadgenRun:
    """One LoadGen performance run: what it was asked, what it measured, and whether LoadGen called
    it valid (the latency bound met at its percentile, long enough, early stopping met)."""

    target_qps: float | None = unit("queries/s")  # the server's arrival rate; others' expected rate
    valid: bool | None = unit("")
    invalid_reason: str | None = unit("")
    early_stopping: str | None = unit("")
    samples_per_second: float | None = unit("sentences/s")
    queries: int | None = unit("queries")
    samples: int | None = unit("sentences")  # an offline query holds many
    duration_s: float | None = unit("s")
    latency: Latency | None = None
    settings: dict = field(default_factory=dict)  # every effective setting LoadGen logged
    log_dir: str = ""

    @classmethod
    def from_loadgen(cls, target_qps: float, detail: dict, log_dir: str) -> "LoadgenRun":
        """From LoadGen's detail log (its results and effective settings, by key)."""
        percentile = {name: detail.get(f"result_{share}_percentile_latency_ns") for name, share in PERCENTILES.items()}
        to_ms = {key: ns_to_ms(value) for key, value in percentile.items()}
        rate = next((detail[key] for key in RATE_KEYS if key in detail), None)
        queries = detail.get("result_query_count")
        samples = detail.get("generated_query_count", 0) * detail.get("generated_samples_per_query", 1) or None
        return cls(
            target_qps=target_qps,
            valid=detail.get("result_validity") == "VALID",
            invalid_reason=detail.get("result_invalid_reason") or None,
            early_stopping=detail.get("early_stopping_result") or None,
            samples_per_second=rate,
            queries=queries,
            samples=samples,
            duration_s=samples / rate if samples and rate else None,
            latency=Latency(
                mean_ms=ns_to_ms(detail.get("result_mean_latency_ns")),
                max_ms=ns_to_ms(detail.get("result_max_latency_ns")),
                **to_ms,
            ),
            settings={key: value for key, value in detail.items() if key.startswith("effective_")},
            log_dir=log_dir,
        )


# LoadGen's percentile keys, and where each scenario reports its rate.
PERCENTILES = {
    "p50_ms": "50.00",
    "p90_ms": "90.00",
    "p95_ms": "95.00",
    "p99_ms": "99.00",
    "p999_ms": "99.90",
}
RATE_KEYS = ("result_samples_per_second", "result_completed_samples_per_sec", "result_qps_with_loadgen_overhead")


def ns_to_ms(value: float | None) -> float | None:
    return value / 1e6 if value is not None else None


@dataclass(frozen=True)
class Figure:
    """What a serving scenario's cells are ranked and compared by: a summary.csv column."""

    column: str
    unit: str
    lower_is_better: bool = False


SERVING_FIGURES = {
    "offline": Figure("sentences_per_s", "sentences/s"),
    "single-stream": Figure("latency_p90_ms", "ms p90", lower_is_better=True),  # MLPerf's metric
    "server": Figure("server_qps", "queries/s"),  # the highest valid rate
}


def serving_figure(scenario: str) -> Figure:
    """A serving cell's figure, from its scenario (`server@2x1`: the server's)."""
    return SERVING_FIGURES[scenario.partition("@")[0]]


@dataclass
class Serving:
    """A serving cell's measurement: the method served under LoadGen in one warm process."""

    scenario: str = ""  # offline, single-stream or server
    batch_size: int | None = unit("sentences")  # what it served with (BEST: its fastest process cell's)
    parallelism: str = "auto"
    engines: int | None = unit("predictors")
    load_seconds: float | None = unit("s")  # the model's load, once, before any query
    warm_up_sentences_per_second: float | None = unit("sentences/s")
    sentences: int | None = unit("sentences")  # the query library: the corpus
    runs: list[LoadgenRun] = field(default_factory=list)
    result_run: int | None = None  # the run that is the result: the server's highest valid rate
    peak_rss_bytes: int | None = unit("bytes")
    settings: dict = field(default_factory=dict)  # the config's serving section, as it ran

    @property
    def result(self) -> LoadgenRun | None:
        return self.runs[self.result_run] if self.result_run is not None else None


@dataclass
class Round:
    """One round of a cell timed in rounds (benchmark.rounds > 1)."""

    status: str = ""
    mean: float | None = unit("s")
    contention: Contention | None = None
    quiet_start: QuietStart | None = None
    host_speed: HostSpeed | None = None


@dataclass
class CellIdentity:
    machine: str = "local"
    method: str = ""
    device: str = ""
    batch_size: int | str = 0  # a serving cell's may be "best"
    scenario: str = "process"
    command: str = ""  # the timed command line
    predictions: str = ""
    phases: str = ""
    log: str = ""


@dataclass
class CellRecord:
    cell: CellIdentity = field(default_factory=CellIdentity)
    status: str = ""  # nerbench.Status
    reason: str | None = None  # why it failed
    runs: Runs | None = None  # None where it failed
    wall_seconds: float | None = unit("s")  # the whole job, quiet start and probes included
    settings: dict = field(default_factory=dict)  # what defines the measurement (Grid.timing_settings)
    environment: dict = field(default_factory=dict)  # where it ran (timing/environment.py)
    threads: Threads | None = None
    gpu_memory_peak_bytes: int | None = unit("bytes")
    contention: Contention | None = None
    quiet_start: QuietStart | None = None
    host_speed: HostSpeed | None = None
    hyperfine_warnings: list[str] = field(default_factory=list)
    rounds: list[Round] | None = None
    serving: Serving | None = None  # a serving cell's (benchmark.scenarios offline, single-stream, server)
    schema_version: int = SCHEMA_VERSION

    # ---- the JSON file ----

    def to_json(self) -> dict:
        record = {key: value for key, value in asdict(self).items() if key != "runs"}
        return {"results": [drop_none(asdict(self.runs))] if self.runs else [], **record}

    @classmethod
    def from_json(cls, data: dict) -> "CellRecord":
        """Any format since 1; a field it lacks is None (formats 1-3 have no schema_version)."""
        data = dict(data)
        results = data.pop("results", None) or []
        record = from_dict(cls, {**data, "schema_version": data.get("schema_version", format_of(data))})
        record.runs = from_dict(Runs, results[0]) if results else None
        return record

    def write(self, path: str | Path) -> None:
        write_atomically(path, json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> "CellRecord | None":
        """The record at `path`, or None when it is missing or unreadable (a cell that never finished)."""
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    # ---- its summary.csv columns ----

    def summary_columns(self) -> dict:
        """The SummaryRow columns this record gives as it is (gather.py adds the judgments: the
        runs' spread, contention, host speed, the check and the phases)."""
        columns = environment_columns(self.environment)
        if self.status == Status.OK and self.serving:
            columns.update(self.serving_columns())
        if self.threads:
            columns.update(intra_op_threads=self.threads.intra_op, workers=self.threads.workers)
        if self.status != Status.OK or not self.runs:
            return columns
        runs = self.runs
        columns.update({key: getattr(runs, key) for key in TIME_COLUMNS})
        columns.update(runs=len(runs.times), times=" ".join(f"{t:.6f}" for t in runs.times))
        if self.rounds:
            columns["round_means"] = " ".join(f"{one.mean:.6f}" for one in self.rounds if one.mean is not None)
        if runs.memory_usage_byte:
            columns["peak_rss_mib"] = max(runs.memory_usage_byte) / 2**20
        if self.gpu_memory_peak_bytes:
            columns["gpu_memory_peak_mib"] = self.gpu_memory_peak_bytes / 2**20
        load, quiet = self.contention or Contention(), self.quiet_start or QuietStart()
        columns.update(steal_pct=load.steal_pct, foreign_cpu_pct=load.foreign_cpu_pct)
        columns.update(load_before=(load.load_before or [None])[0])
        columns.update(quiet_wait_s=quiet.waited_seconds, quiet_gave_up=quiet.gave_up)
        probes = (self.host_speed or HostSpeed()).rates()
        columns["host_probes_gflops"] = " ".join(f"{rate:g}" for rate in probes) or None
        columns["hyperfine_warnings"] = " | ".join(self.hyperfine_warnings or []) or None
        return columns

    def serving_columns(self) -> dict:
        """A serving cell's columns: its result run's rate and latencies, LoadGen's verdict."""
        serving = self.serving
        result = serving.result
        shown = result or (serving.runs[-1] if serving.runs else None)
        latency = (shown.latency if shown else None) or Latency()
        settings = serving.settings
        columns = {
            "served_batch_size": serving.batch_size,
            "load_s": serving.load_seconds,
            "latency_bound_ms": settings.get("latency_bound_ms"),
            "latency_percentile": settings.get("latency_percentile"),
            "serving_min_duration_s": settings.get("min_duration_s"),
            "loadgen_runs": len(serving.runs),
            "loadgen_valid": result is not None and bool(result.valid),
            "loadgen_invalid_reason": None if result and result.valid else (shown.invalid_reason if shown else None),
            "latency_mean_ms": latency.mean_ms,
            "latency_p50_ms": latency.p50_ms,
            "latency_p90_ms": latency.p90_ms,
            "latency_p99_ms": latency.p99_ms,
        }
        if result is not None:
            columns["sentences_per_s"] = result.samples_per_second
            columns["server_qps"] = result.target_qps if serving.scenario == "server" else None
        if serving.peak_rss_bytes:
            columns["peak_rss_mib"] = serving.peak_rss_bytes / 2**20
        return columns

    # ---- what the steps ask of it ----

    @property
    def times(self) -> list[float]:
        return self.runs.times if self.runs else []

    def host_speeds(self) -> list["HostSpeed"]:
        """The host-speed records of its stretches of timing: each round's, or the one around its runs."""
        if self.rounds:
            return [one.host_speed or HostSpeed() for one in self.rounds]
        return [self.host_speed or HostSpeed()]


def environment_columns(env: dict) -> dict:
    """SummaryRow's columns of where a cell ran (timing/environment.py's record)."""
    cpu, gpus = env.get("cpu", {}), env.get("gpus") or []
    scheduler = env.get("scheduler") or {}
    slurm, git, model = scheduler.get("slurm") or {}, env.get("git", {}), env.get("model", {})
    gpu = gpus[0] if gpus else {}
    return {
        "packages": dict(env.get("packages", {})),
        "python": env.get("python"),
        "cpu_model": cpu.get("model"),
        "cpu_flags": " ".join(cpu.get("flags", [])),
        "physical_cores": cpu.get("physical_cores"),
        "logical_cpus": cpu.get("logical_cpus"),
        "threads": env.get("threads"),
        "gpu": gpu.get("name"),
        "gpu_driver": gpu.get("driver"),
        "ort_providers": " ".join(env.get("onnxruntime_providers") or []),
        "hyperfine": env.get("hyperfine"),
        "rustc": env.get("rustc"),
        "git_commit": git.get("commit"),
        "git_dirty": git.get("dirty"),
        "settings_sha256": env.get("settings_sha256"),
        "model_sha256": model.get("sha256"),
        "onnx_sha256": model.get("onnx_sha256"),
        "ct2_sha256": model.get("ct2_sha256"),
        "host": scheduler.get("host"),
        "allowed_cpus": scheduler.get("allowed_cpus"),
        "cpu_list": scheduler.get("cpu_list"),
        "slurm_job_id": slurm.get("job_id"),
        "slurm_node": slurm.get("node"),
        "gpu_driver_cuda": gpu.get("driver_cuda"),
    }


def format_of(data: dict) -> int:
    """The format of a record written before formats carried their number."""
    if "host_speed" in data:
        return 3
    return 2 if "contention" in data else 1


# ---- summary.csv ---------------------------------------------------------------------------------


def column(name: str, default=None, about: str = ""):
    return field(default=default, metadata={"unit": name, "about": about})


@dataclass
class SummaryRow:
    """One row of summary.csv: a cell, its timing, its check and where it ran. `packages` is
    written as one `pkg_<name>` column per package."""

    machine: str = column("", "local", "the machine's name (the host alone: local)")
    method: str = column("", "", "PROGRAM[@VARIANT][+OPTION...]")
    device: str = column("", "")
    batch_size: int | str = column("sentences", 0, "a serving cell's as configured: a number, or best")
    dtype: str = column("", "", "the method's number format")
    scenario: str = column("", "process", "process (hyperfine), or a serving scenario, @ its parallelism")
    status: str = column("", "", "ok, failed, missing, not available, or the check's status")
    reason: str | None = column("", None, "why it failed or was not run")
    log: str | None = column("")
    command: str | None = column("", None, "the timed command line")
    packages: dict = field(
        default_factory=dict, metadata={"unit": "version", "about": "pkg_<name>: each package's version"}
    )
    python: str | None = column("")
    cpu_model: str | None = column("")
    cpu_flags: str | None = column("", None, "the CPU flags that matter here, space-separated")
    physical_cores: int | None = column("cores")
    logical_cpus: int | None = column("CPUs")
    threads: int | None = column("threads", None, "intra-op threads per method (the cell's whole count)")
    gpu: str | None = column("")
    gpu_driver: str | None = column("")
    ort_providers: str | None = column("")
    hyperfine: str | None = column("")
    rustc: str | None = column("")
    git_commit: str | None = column("")
    git_dirty: bool | None = column("")
    settings_sha256: str | None = column("", None, "the hash of what defines the measurement")
    model_sha256: str | None = column("")
    onnx_sha256: str | None = column("")
    ct2_sha256: str | None = column("")
    host: str | None = column("")
    allowed_cpus: int | None = column("CPUs", None, "the CPUs the timed job could use (its affinity mask)")
    cpu_list: str | None = column("")
    slurm_job_id: str | None = column("")
    slurm_node: str | None = column("")
    gpu_driver_cuda: str | None = column("")
    mean: float | None = column("s")
    stddev: float | None = column("s")
    median: float | None = column("s")
    min: float | None = column("s")
    max: float | None = column("s")
    user: float | None = column("s")
    system: float | None = column("s")
    runs: int | None = column("runs")
    peak_rss_mib: float | None = column("MiB", None, "the timed process's peak resident memory, its largest run")
    gpu_memory_peak_mib: float | None = column("MiB", None, "a CUDA cell's peak device memory (NVML)")
    torch_gpu_allocated_mib: float | None = column("MiB", None, "torch's allocator peak (torch methods on CUDA)")
    times: str | None = column("s", None, "every run's seconds, space-separated")
    round_means: str | None = column("s", None, "in rounds: each round's mean, space-separated (the intervals' unit)")
    cv_pct: float | None = column("%", None, "the runs' coefficient of variation")
    unstable: bool | None = column("", None, "cv_pct above 10%")
    steal_pct: float | None = column("%")
    foreign_cpu_pct: float | None = column("%")
    load_before: float | None = column("", None, "the 1-minute load average before the runs")
    contended: bool | None = column("")
    quiet_wait_s: float | None = column("s")
    quiet_gave_up: bool | None = column("")
    host_speed_gflops: float | None = column("GFLOP/s", None, "the cell's host speed (slowest CPU)")
    host_probes_gflops: str | None = column("GFLOP/s", None, "every probe's rate, space-separated")
    hyperfine_warnings: str | None = column("", None, "hyperfine's warnings, ' | '-separated")
    intra_op_threads: int | None = column("threads", None, "threads per session (threads / workers)")
    workers: int | None = column("sessions", None, "sessions side by side (+dp), 1 otherwise")
    agreement_pct: float | None = column("%", None, "entities identical to the reference's")
    identical_sentences_pct: float | None = column("%")
    differing_sentences: int | None = column("sentences")
    near_tie_sentences: int | None = column("sentences")
    entity_precision: float | None = column("")
    entity_recall: float | None = column("")
    f1: float | None = column("", None, "entity F1 against the gold labels (seqeval)")
    reference_f1: float | None = column("", None, "the reference run's F1 on the same gold labels")
    accepted: bool | None = column("", None, "meets the acceptance criterion (accept:)")
    first_difference_line: int | None = column("line")
    phase_startup: float | None = column("s")
    phase_load: float | None = column("s")
    phase_tokenize: float | None = column("s")
    phase_transfer: float | None = column("s")
    phase_inference: float | None = column("s")
    phase_decode: float | None = column("s")
    phase_output: float | None = column("s")
    inference_gflops: float | None = column("GFLOP/s", None, "the inference phase's rate, padding included")
    padding_overhead_pct: float | None = column("%")
    peak_format: str | None = column("")
    pct_of_peak: float | None = column("%", None, "of the measured peak of the method's number format")
    pct_of_theoretical: float | None = column(
        "%", None, "of the format's theoretical peak: cores × the reported clock × operations per cycle"
    )
    peak_contended: bool | None = column("")
    bound_s: float | None = column(
        "s", None, "the least time for the corpus: each part's FLOPs at its format's peak, or the weights' reads"
    )
    bound_by: str | None = column("", None, "compute, or memory where reading the weights bounds it")
    times_bound: float | None = column("×", None, "mean / bound_s")
    served_batch_size: int | None = column("sentences", None, "the batch size a serving cell served at")
    sentences_per_s: float | None = column(
        "sentences/s", None, "serving: the result run's rate (offline, server) or queries per second (single-stream)"
    )
    tokens_per_s: float | None = column("tokens/s", None, "sentences_per_s times the corpus's tokens per sentence")
    server_qps: float | None = column("queries/s", None, "the server's highest arrival rate within its latency bound")
    latency_mean_ms: float | None = column("ms")
    latency_p50_ms: float | None = column("ms")
    latency_p90_ms: float | None = column("ms")
    latency_p99_ms: float | None = column("ms")
    loadgen_valid: bool | None = column("", None, "LoadGen called the result run VALID")
    loadgen_invalid_reason: str | None = column("", None, "LoadGen's words, where no run was valid")
    loadgen_runs: int | None = column("runs")
    mlperf_compliant: bool | None = column("", None, "long enough, with enough queries, for MLPerf's rules")
    load_s: float | None = column("s", None, "a serving cell's model load, once")
    latency_bound_ms: float | None = column("ms", None, "serving.latency_bound_ms, as the cell ran")
    latency_percentile: float | None = column("%", None, "serving.latency_percentile, as the cell ran")
    serving_min_duration_s: float | None = column("s", None, "serving.min_duration_s, as the cell ran")
    core_seconds_per_1k: float | None = column("core-s", None, "offline: its cores' seconds per 1,000 sentences")
    cost_per_million: float | None = column("price units", None, "offline: a million sentences at price_per_hour")
    host_speed_pct: float | None = column("%", None, "the cell's host speed, of its machine's")
    slow_host: bool | None = column("")
    peak_host_speed_pct: float | None = column("%")
    peak_slow_host: bool | None = column("")

    def as_columns(self) -> dict:
        """Its summary.csv columns, in order, `packages` spread into pkg_<name>."""
        columns = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "packages":
                columns.update({f"{PACKAGE_PREFIX}{name}": version for name, version in value.items()})
            else:
                columns[item.name] = value
        return columns

    @classmethod
    def from_columns(cls, columns: dict) -> "SummaryRow":
        """A row read back from summary.csv (empty cells as None, types as the fields say)."""
        known = {item.name: item for item in fields(cls)}
        values, packages = {}, {}
        for name, text in columns.items():
            value = None if text is None or text == "" or (isinstance(text, float) and math.isnan(text)) else text
            if name.startswith(PACKAGE_PREFIX):
                if value is not None:
                    packages[name[len(PACKAGE_PREFIX) :]] = str(value)
            elif name in known:
                values[name] = None if value is None else as_type(known[name].type, value)
        return cls(**values, packages=packages)

    @property
    def key(self) -> tuple:
        """nerbench.grid.CellKey's fields: machine, method, device, batch size, scenario."""
        return (self.machine, self.method, self.device, self.batch_size, self.scenario or "process")

    @property
    def process(self) -> bool:
        """A whole-process cell, timed by hyperfine (not a serving scenario's LoadGen run)."""
        return (self.scenario or "process") == "process"


PACKAGE_PREFIX = "pkg_"
TIME_COLUMNS = ("mean", "stddev", "median", "min", "max", "user", "system")  # hyperfine's, in seconds
# Columns that hold text however they look (identifiers, space-separated numbers).
TEXT_COLUMNS = {
    item.name: str for item in fields(SummaryRow) if item.type in (str, str | None) and item.name != "packages"
}


def summary_columns(packages: list[str]) -> list[str]:
    """summary.csv's columns, in order, with these packages' columns."""
    names = []
    for item in fields(SummaryRow):
        names += [PACKAGE_PREFIX + name for name in packages] if item.name == "packages" else [item.name]
    return names


def write_summary(path: str | Path, rows: list[SummaryRow]) -> None:
    """summary.csv: every column always (a cell without a value leaves it empty)."""
    packages = list(dict.fromkeys(name for row in rows for name in row.packages))
    columns = summary_columns(packages)
    lines = [csv_line(columns)]
    for row in rows:
        values = row.as_columns()
        lines.append(csv_line([csv_value(values.get(name)) for name in columns]))
    write_atomically(path, "".join(lines))


def read_rows(path: str | Path) -> list[SummaryRow]:
    with open(path, newline="", encoding="utf-8") as stream:
        return [SummaryRow.from_columns(row) for row in csv.DictReader(stream)]


def csv_line(values: list[str]) -> str:
    import io

    buffer = io.StringIO()
    # A lone "\r" ends a line for every CSV reader, and QUOTE_MINIMAL leaves it unquoted (it looks
    # only for the "\n" line terminator): such a line quotes every field.
    quoting = csv.QUOTE_ALL if any("\r" in value for value in values) else csv.QUOTE_MINIMAL
    csv.writer(buffer, lineterminator="\n", quoting=quoting).writerow(values)
    return buffer.getvalue()


def csv_value(value) -> str:
    """As pandas wrote summary.csv: empty for None and NaN, True/False, floats in full."""
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


# ---- typed reading of plain JSON -----------------------------------------------------------------


def from_dict(cls, data: dict):
    """A dataclass from a JSON object: nested dataclasses and lists of them typed, unknown keys
    left out, missing ones at their defaults."""
    hints = typing.get_type_hints(cls)
    values = {}
    for item in fields(cls):
        if item.name in data:
            values[item.name] = typed(hints[item.name], data[item.name])
        elif item.default is MISSING and item.default_factory is MISSING:
            values[item.name] = None
    return cls(**values)


def typed(hint, value):
    if value is None:
        return None
    for option in options_of(hint):
        if is_dataclass(option) and isinstance(value, dict):
            return from_dict(option, value)
        if typing.get_origin(option) is list and isinstance(value, list):
            (inner,) = typing.get_args(option) or (object,)
            return [typed(inner, element) for element in value]
    return value


def options_of(hint) -> tuple:
    return typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)


def as_type(hint, value):
    """A CSV cell's text as its column's type (the first of a union's types it reads as)."""
    for kind in (option for option in options_of(hint) if option is not type(None)):
        try:
            return read_as(kind, value)
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a {hint}")


def read_as(kind, value):
    if kind is bool:
        return value if isinstance(value, bool) else str(value) == "True"
    if kind is int:
        return int(float(value))
    if kind is float:
        return float(value)
    return str(value)


def drop_none(data: dict) -> dict:
    """hyperfine leaves out what it did not measure (memory before 1.20): so does the record."""
    return {key: value for key, value in data.items() if value is not None or key == "stddev"}


def write_atomically(path: str | Path, text: str) -> None:
    """Written to a sibling and renamed once complete, so a half-written record never looks done:
    nerlib's writer, which every result file of the project goes through (and its 0644 mode)."""
    layout.nerlib_importable()
    from nerlib.atomic import write_text_atomically

    write_text_atomically(path, text)
