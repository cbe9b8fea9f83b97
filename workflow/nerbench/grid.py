"""The grid: which (machine, method, device, batch size) cells a config asks for, what each is
made of, and every file it owns.

A cell's key is `CellKey(machine, method, device, batch_size)`; everything that names, joins or
reports cells uses it, so two machines' cells never mix. The steps that cover the whole grid
(tables, verify) read it from the manifest (`Grid.manifest`, written by the `grid` rule), never
from a command line, which would grow with the grid.
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from nerbench import layout
from nerbench.config import minimum_runtime, model_format, validate, with_defaults
from nerbench.host import CPU_FEATURES, describe_host, host_cpu_features, host_identity, identity_of, same_host
from nerbench.registry import DEVICES, Method, Registry

# Every file a cell owns, under the results folder. Rules take their output patterns from here
# and `Cell.path` fills them in, so a path is spelled once.
MACHINE_FOLDER = "machines/{name}/"
CELL_FILES = {
    "result": "{where}cells/{method}/{device}-bs{batch_size}.json",
    "predictions": "{where}predictions/{method}/{device}-bs{batch_size}.jsonl",
    "phases": "{where}phases/{method}/{device}-bs{batch_size}.json",
    "check": "{where}checks/{method}/{device}-bs{batch_size}.json",
    "log": "{where}logs/cells/{method}/{device}-bs{batch_size}.log",
    "check_log": "{where}logs/checks/{method}/{device}-bs{batch_size}.log",
}
# With benchmark.rounds > 1, a cell's runs are timed in rounds spread over the grid; each round
# keeps its own files until they are combined into the cell's.
ROUND_FILES = {
    "result": "{where}rounds/{method}/{device}-bs{batch_size}/round-{round}.json",
    "predictions": "{where}rounds/{method}/{device}-bs{batch_size}/round-{round}.predictions.jsonl",
    "phases": "{where}rounds/{method}/{device}-bs{batch_size}/round-{round}.phases.json",
    "log": "{where}logs/rounds/{method}/{device}-bs{batch_size}/round-{round}.log",
}
# A serving cell's files (benchmark.scenarios offline, single-stream, server): {scenario} is the
# cell's scenario label (`server`, or `server@2x1` with its parallelism).
SERVING_FILES = {
    "result": "{where}serving/{scenario}/{method}/{device}-{batch}.json",
    "predictions": "{where}serving/{scenario}/{method}/{device}-{batch}.jsonl",
    "loadgen": "{where}serving/{scenario}/{method}/{device}-{batch}.loadgen",
    "check": "{where}checks/serving/{scenario}/{method}/{device}-{batch}.json",
    "log": "{where}logs/serving/{scenario}/{method}/{device}-{batch}.log",
    "check_log": "{where}logs/checks/serving/{scenario}/{method}/{device}-{batch}.log",
}
PROCESS = "process"  # the scenario of a whole-process hyperfine cell
BEST = "best"  # a serving cell's batch size: its method's fastest process cell's on the machine and device
# A machine's own files (its peaks are its own, and the serving harness's costs), under the results folder.
MACHINE_FILES = {
    "roofline": "{where}roofline.json",
    "roofline_log": "{where}logs/roofline.log",
    "serving_overhead": "{where}serving/overhead.json",
    "serving_overhead_log": "{where}logs/serving-overhead.log",
}
MACHINE_NAME = "[A-Za-z0-9][A-Za-z0-9._-]*"
HOST = "local"  # the machine's name when the config names none: the host Snakemake runs on
NVIDIA_SMI_TIMEOUT_S = 30  # a driver that hangs must not hang every Snakemake start


class CellKey(NamedTuple):
    machine: str
    method: str
    device: str
    batch_size: int | str  # a serving cell's may be BEST
    scenario: str = PROCESS  # a serving cell's scenario label: its scenario, @ its parallelism unless auto


# A machine's config keys that say where and how far, not what is measured.
NOT_MEASURED_MACHINE_KEYS = frozenset(
    {"cpu_features", "drift_pct", "price_per_hour"}
    # Where and how long its jobs may run, not what they measure: raising `runtime` after SLURM
    # killed a job, or moving to another account, re-times nothing.
    | {"runtime", "account", "mem_mb", "slurm_extra", "gres"}
)


@dataclass(frozen=True)
class Machine:
    """A kind of machine the grid is timed on: a SLURM partition's node, or the host (no partition)."""

    name: str
    where: str  # the folder of its files under the results folder ("" for the host alone)
    entry: dict = field(compare=False, hash=False)  # as configured

    @property
    def partition(self) -> str | None:
        return self.entry.get("partition")

    @property
    def on_scheduler(self) -> bool:
        """A machine with a partition is a kind of SLURM node; its cells run in SLURM jobs there."""
        return self.partition is not None

    def devices(self, default: list[str]) -> list[str]:
        return self.entry.get("devices") or default

    @property
    def measured_entry(self) -> dict:
        """Its config as far as a measurement on it depends on it: its CPU features say where a
        method runs, not how, its drift how far its numbers carry, its SLURM limits and account where
        and how long a job may run: none re-times anything."""
        return {key: value for key, value in self.entry.items() if key not in NOT_MEASURED_MACHINE_KEYS}

    def path(self, kind: str, results: str) -> str:
        return str(Path(results) / MACHINE_FILES[kind].format(where=self.where))


@dataclass(frozen=True)
class Cell:
    """One timed cell: a method on a device at a batch size, on a machine."""

    machine: Machine
    method: Method
    device: str
    batch_size: int
    results: str = field(compare=False)
    lacking: str = field(compare=False)  # what its machine lacks to run it (Grid.lacking); "" when nothing
    scenario: str = PROCESS
    parallelism: str = "auto"  # a serving cell's workers x threads (serving.parallelism)

    @property
    def available(self) -> bool:
        return not self.lacking

    @property
    def serving(self) -> bool:
        return self.scenario != PROCESS

    @property
    def scenario_label(self) -> str:
        return self.scenario if self.parallelism == "auto" else f"{self.scenario}@{self.parallelism}"

    @property
    def unavailable_reason(self) -> str:
        """Why it is not run, as summary.csv, the tables and Snakemake's message say it."""
        return f"{self.machine.name} lacks {self.lacking}"

    @property
    def key(self) -> CellKey:
        return CellKey(self.machine.name, self.method.name, self.device, self.batch_size, self.scenario_label)

    @property
    def label(self) -> str:
        """How messages name it: the method's command line, its scenario where it is served, the machine."""
        served = f" served {self.scenario_label}" if self.serving else ""
        return f"{self.method} -d {self.device} -b {self.batch_size}{served} on {self.machine.name}"

    @property
    def files(self) -> dict[str, str]:
        """The kinds of file it owns, by their patterns (a serving cell has no phases, but LoadGen's logs)."""
        return SERVING_FILES if self.serving else CELL_FILES

    def path(self, kind: str) -> str:
        return self._path(self.files[kind])

    def round_path(self, kind: str, round_number: int) -> str:
        return self._path(ROUND_FILES[kind], round=round_number)

    def _path(self, pattern: str, **more) -> str:
        fields = {"where": self.machine.where, "method": self.method.name, "device": self.device}
        batch = BEST if self.batch_size == BEST else f"bs{self.batch_size}"
        fields.update(scenario=self.scenario_label, batch_size=self.batch_size, batch=batch)
        return str(Path(self.results) / pattern.format(**fields, **more))

    def command(self, model: str, corpus: str, predictions: str, phases: str) -> list[str]:
        """The timed command line, built once here: the method's program (a script of the repository
        run by {python}, or a built program in the working directory), its shared options and its
        registry options. What only the node that times it knows is left to fill in there:
        {python}, the repository ({repo}) and the threads benchmark.threads resolves to ({threads}).
        "--": a corpus whose name starts with "-" is still a file."""
        method = self.method
        program = [method.executable] if method.built else ["{python}", f"{{repo}}/{method.executable}"]
        options = ["-d", self.device, "-b", str(self.batch_size), "-m", model, "-o", predictions]
        options += ["--timings", phases, "--threads", "{threads}", *method.arguments]
        return [*program, *options, "--", corpus]

    def serving_command(self, model: str, corpus: str, serving: dict) -> list[str]:
        """A serving cell's command: scripts/serve.py with the scenario's settings, then the
        method's own command line without its corpus (a Python method's script runs inside
        serve.py; a built program in its --serve mode). {batch_size} is filled in on the node
        where the cell's batch size is BEST, {threads} where benchmark.threads resolves."""
        engines, threads, arguments = self.serving_parallelism()
        method = self.method
        program = method.executable if method.built else f"{{repo}}/{method.executable}"
        batch = "{batch_size}" if self.batch_size == BEST else str(self.batch_size)
        loadgen = self.path("loadgen")
        serve = ["{python}", "{repo}/scripts/serve.py", "--scenario", self.scenario, "--corpus", corpus]
        serve += ["--out", f"{loadgen}/serve.json", "--predictions", self.path("predictions"), "--log-dir", loadgen]
        serve += ["--engines", engines]
        for key in SERVING_SETTINGS:
            serve += [f"--{key.replace('_', '-')}", str(serving[key])]
        own = ["-d", self.device, "-b", batch, "-m", model, "--threads", threads, *arguments]
        return [*serve, "--", program, *own]

    def serving_parallelism(self) -> tuple[str, str, list[str]]:
        """(predictors, threads each, the method's options) of a serving cell. Offline is one request
        of every sample: a +dp method's sessions share it as they share a corpus, and WxT gives it W
        sessions of T threads (another method: W predictors of T threads, each a share). The server
        answers many small requests at once: concurrency is predictors, so a +dp method's sessions
        serve as one predictor of one thread per thread. Single-stream has one request at a time:
        one predictor of every thread. WxT is W predictors of T threads there (+dp dropped).
        serving.parallelism thus wins over +dp and benchmark.threads."""
        method = self.method
        workers, each = parse_parallelism(self.parallelism)
        own = method.arguments_without_sessions
        if self.scenario == "offline":
            if not workers:
                return "1", "{threads}", method.arguments
            if method.data_parallel:
                return "1", str(workers * each), [arg.replace("{threads}", str(workers)) for arg in method.arguments]
            return str(workers), str(each), own
        if workers:
            return str(workers), str(each), own
        if self.scenario == "server" and method.data_parallel:
            return "{threads}", "1", own
        return "1", "{threads}", own


# What serve.py takes from the config's serving section (all of it defines a serving cell's measurement).
SERVING_SETTINGS = (
    "min_duration_s",
    "latency_bound_ms",
    "latency_percentile",
    "batching_delay_ms",
    "server_runs",
    "seed",
)


def parse_parallelism(text: str) -> tuple[int, int] | tuple[None, None]:
    """(workers, threads each) of "WxT"; (None, None) for auto."""
    if text == "auto":
        return None, None
    workers, each = text.split("x")
    return int(workers), int(each)


def parse_scenario_label(label: str) -> tuple[str, str]:
    """(scenario, parallelism) of a scenario label: "server@2x1" -> ("server", "2x1")."""
    scenario, _, parallelism = label.partition("@")
    return scenario, parallelism or "auto"


class Grid:
    """The cells a validated config asks for, and the paths of what they need."""

    def __init__(
        self,
        config: dict,
        available_devices,
        model_format: str,
        registry: Registry | None = None,
        cpu_features=None,
    ):
        self.config = config
        self.registry = registry or Registry.load()
        self.available_devices = sorted(available_devices)
        # The host's CPU features (nerbench/host.py), for the methods that need some.
        self.cpu_features = sorted(host_cpu_features() if cpu_features is None else cpu_features)
        self.model_format = model_format
        self.machines = self._machines()
        self._machines_by_where = {machine.where: machine for machine in self.machines}
        bench = config["benchmark"]
        self.methods = [self.registry.parse(name) for name in bench["methods"]]
        self.served = [self.registry.parse(name) for name in config["serving"]["methods"] if not self.unserved(name)]
        self.cells = [
            self.make_cell(machine, method, device, batch_size)
            for machine in self.machines
            for method in self.methods
            for device in machine.devices(bench["devices"])
            if device in method.devices
            for batch_size in bench["batch_sizes"]
            if PROCESS in bench["scenarios"]
        ] + self._serving_cells()
        self._cells = {cell.key: cell for cell in self.cells}
        self._positions: dict = {}

    @classmethod
    def from_config(
        cls, config: dict, available_devices=None, registry: Registry | None = None, cpu_features=None
    ) -> "Grid":
        """Validate the config (filling in its defaults) and lay out its grid; ConfigError on a problem.
        Devices and CPU features: the host's where not given."""
        registry = registry or Registry.load()
        validate(config, registry)
        devices = host_devices() if available_devices is None else available_devices
        return cls(config, devices, model_format(config), registry, cpu_features)

    # ---- the manifest: the grid handed to a step in a file ----

    def manifest(self) -> dict:
        """What a step needs to lay out the same grid: the validated config, the devices and CPU
        features this host has (only where a machine runs on it: a grid run all on SLURM is the
        same from any login node) and the kind of model."""
        on_host = not all(machine.on_scheduler for machine in self.machines)
        return {
            "config": self.config,
            "available_devices": self.available_devices if on_host else [],
            "cpu_features": self.cpu_features if on_host else [],
            "model_format": self.model_format,
        }

    @classmethod
    def from_manifest(cls, path: str | Path) -> "Grid":
        manifest = json.loads(Path(path).read_text())
        return cls(
            with_defaults(manifest["config"]),
            manifest["available_devices"],
            manifest["model_format"],
            # A manifest from before CPU features gated no method: it had them all.
            cpu_features=manifest.get("cpu_features", sorted(CPU_FEATURES)),
        )

    # ---- machines and cells ----

    def _serving_cells(self) -> list[Cell]:
        """Each served method on each machine and device, in each serving scenario it takes, at each
        serving batch size (single-stream: one sentence at a time) and parallelism."""
        bench, serving = self.config["benchmark"], self.config["serving"]
        return [
            self.make_cell(machine, method, device, batch_size, scenario, parallelism)
            for machine in self.machines
            for method in self.served
            for device in machine.devices(bench["devices"])
            if device in method.devices
            for scenario in bench["scenarios"]
            if scenario != PROCESS and scenario in method.scenarios
            for batch_size in ([1] if scenario == "single-stream" else serving["batch_sizes"])
            for parallelism in serving["parallelism"]
        ]

    def unserved(self, name: str) -> str:
        """Why a method of serving.methods is not served: with BEST among the batch sizes, a served
        method is one timed as a process (BEST is its fastest process cell's), so that a config
        which replaces benchmark.methods does not serve config.yaml's methods at its other sizes;
        "" when it is served."""
        bench = self.config["benchmark"]
        if BEST in self.config["serving"]["batch_sizes"] and (
            name not in bench["methods"] or PROCESS not in bench["scenarios"]
        ):
            return f"{name} is not timed as a process (benchmark.methods), whose fastest cell gives its batch size"
        return ""

    def best_candidates(self, cell: Cell) -> list[Cell]:
        """The process cells a BEST serving cell takes its batch size from: its method's on its
        machine and device, at every batch size the grid times."""
        return [
            self.make_cell(cell.machine, cell.method, cell.device, batch_size)
            for batch_size in self.config["benchmark"]["batch_sizes"]
        ]

    def _machines(self) -> list[Machine]:
        """Without `machines:` the one machine is the host Snakemake runs on, and its files stay
        where they always were (no machines/<name>/ folder)."""
        named = self.config["machines"]
        if not named:
            return [Machine(HOST, "", {"name": HOST})]
        return [Machine(entry["name"], MACHINE_FOLDER.format(name=entry["name"]), entry) for entry in named]

    def machine(self, name: str) -> Machine:
        for machine in self.machines:
            if machine.name == name:
                return machine
        raise KeyError(f"no machine {name!r} in the config (machines: {', '.join(m.name for m in self.machines)})")

    def machine_at(self, where: str) -> Machine:
        return self._machines_by_where[where]

    def make_cell(
        self, machine: Machine, method: Method, device: str, batch_size, scenario=PROCESS, parallelism="auto"
    ) -> Cell:
        lacking = self.lacking(machine, method, device)
        batch_size = batch_size if batch_size == BEST else int(batch_size)
        return Cell(machine, method, device, batch_size, self.results(), lacking, scenario, parallelism)

    def machine_has_device(self, machine: Machine, device: str) -> bool:
        """A scheduler's node has the devices its machine names; the host only those it has."""
        return machine.on_scheduler or device in self.available_devices

    def machine_cpu_features(self, machine: Machine) -> set[str]:
        """A scheduler's node has what its machine names; the host only what its CPU has."""
        return set(machine.entry.get("cpu_features", []) if machine.on_scheduler else self.cpu_features)

    def cell(self, key: CellKey) -> Cell:
        """A cell of the grid, or one the config does not list (a file asked for by name)."""
        key = CellKey(*key)
        batch_size = key.batch_size if key.batch_size == BEST else int(key.batch_size)
        found = self._cells.get(key._replace(batch_size=batch_size))
        if found:
            return found
        machine, method = self.machine(key.machine), self.registry.parse(key.method)
        scenario, parallelism = parse_scenario_label(key.scenario)
        return self.make_cell(machine, method, key.device, batch_size, scenario, parallelism)

    def cell_at(self, where: str, method: str, device: str, batch_size, scenario: str = PROCESS) -> Cell:
        """The cell of a rule's wildcards."""
        return self.cell(CellKey(self.machine_at(where).name, method, device, batch_size, scenario))

    def runnable(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.available]

    def unavailable(self) -> list[Cell]:
        return [cell for cell in self.cells if not cell.available]

    def timed_elsewhere(self) -> str | None:
        """Why this host may not time into the results folder: its local cells were timed on another
        host (another CPU, or fewer CPUs allowed), and a folder holds one host's, never two mixed."""
        host = next((machine for machine in self.machines if not machine.on_scheduler), None)
        if host is None:
            return None
        here = host_identity(physical_cores())
        for cell in self.runnable():
            if cell.machine != host:
                continue
            try:
                environment = json.loads(Path(cell.path("result")).read_text())["environment"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            recorded = identity_of(environment)
            if not same_host(recorded, here):
                return (
                    f"results: {self.results()} holds cells timed on {describe_host(recorded)}; this host is "
                    f"{describe_host(here)}: give another results folder (results:), or name this host in "
                    "machines:, so that two hosts' cells are never mixed"
                )
        return None

    def price_per_hour(self, machine: Machine) -> float | None:
        """What an hour of the machine costs, where the config says: its own, else the grid's."""
        return machine.entry.get("price_per_hour", self.config["benchmark"].get("price_per_hour"))

    def drift_pct(self, machine: Machine) -> float:
        """The machine's drift between grids, held in its ratios' intervals: its own, else the grid's."""
        return machine.entry.get("drift_pct", self.config["benchmark"].get("drift_pct", 0.0))

    def lacking(self, machine: Machine, method: Method, device: str) -> str:
        """What a machine lacks to run a method on a device: the device, or a CPU feature the method
        needs; "" when nothing."""
        if not self.machine_has_device(machine, device):
            return f"device {device}"
        missing = method.cpu_features - self.machine_cpu_features(machine)
        return f"CPU feature {', '.join(sorted(missing))}" if missing else ""

    def several_machines(self) -> bool:
        return len(self.machines) > 1

    # ---- paths of what the cells need ----

    def results(self, path: str = "") -> str:
        return str(Path(self.config["results"]) / path)

    def corpus_name(self) -> str:
        corpus = self.config["corpus"]
        if corpus["file"]:
            return Path(corpus["file"]).stem
        return layout.corpus_name(corpus["split"], corpus["sentences"])

    def corpus_text(self) -> str:
        return self.config["corpus"]["file"] or f"{layout.CORPUS.format(**self._conll_corpus())}.txt"

    def corpus_gold(self) -> str | None:
        """Gold IOB2 tags exist for CoNLL-2003 only; a user's own text has none."""
        return None if self.config["corpus"]["file"] else f"{layout.CORPUS.format(**self._conll_corpus())}.gold"

    def _conll_corpus(self) -> dict:
        split, _, size = self.corpus_name().partition("-")
        return {"split": split, "size": size}

    def model_dir(self, folder: str = "torch") -> str:
        return layout.model_dir(self.config["model"]["name"], folder)

    def normalised_model(self) -> str:
        """The directory build_model.py writes, with model_info.json (the provenance) in it."""
        return self.model_dir(self.model_format)

    def method_model(self, method: Method) -> str:
        return self.model_dir(method.model_folder)

    def reference(self) -> Method:
        return self.registry.reference_method(self.model_format)

    def reference_file(self, kind: str) -> str:
        """The reference run's "predictions", "gaps" or "log" for this model and corpus. A user's
        corpus is named by its file's stem and its path as the config gives it (not made absolute:
        a cluster node may see the working directory elsewhere), so two files of one name stay apart."""
        corpus = self.corpus_name()
        if self.config["corpus"]["file"]:
            where = os.path.normpath(self.config["corpus"]["file"])
            corpus += "-" + hashlib.sha256(where.encode()).hexdigest()[:8]
        return layout.REFERENCE_FILES[kind].format(model=self.config["model"]["name"], corpus=corpus)

    def rooflines(self) -> dict[str, str]:
        """Each machine's roofline.json, by machine name."""
        return {machine.name: machine.path("roofline", self.results()) for machine in self.machines}

    # ---- what a cell's measurement depends on ----

    def timing_settings(self, cell: Cell, hyperfine: str) -> str:
        """Everything besides its input files that changes a cell's measurement, as canonical
        JSON: a cell is re-timed when, and only when, this or an input changes. Nothing of other
        cells is in it, so adding a method, a batch size or a machine times only the new cells."""
        bench = self.config["benchmark"]
        settings = {
            "method": cell.method.definition(),
            "machine": cell.machine.measured_entry,
            **{key: bench[key] for key in ("warmup", "runs", "threads", "timeout_s")},
            "hyperfine": hyperfine,
        }
        if cell.serving:
            # hyperfine, warm-up and runs time process cells only; LoadGen's runs are the serving section's.
            settings = {key: value for key, value in settings.items() if key not in ("hyperfine", "warmup", "runs")}
            settings["serving"] = {key: self.config["serving"][key] for key in SERVING_SETTINGS}
        return json.dumps(settings, sort_keys=True)

    # ---- runs spread over the grid ----

    @property
    def rounds(self) -> int:
        return self.config["benchmark"]["rounds"]

    def round_sequence(self, machine: Machine) -> list[tuple[Cell, int]]:
        """The order a machine times its rounds: round after round, each in its own shuffled order
        of the machine's runnable cells (seeded by the machine and round, so a plan is repeatable)."""
        cells = [cell for cell in self.runnable() if cell.machine == machine and not cell.serving]
        cells = sorted(cells, key=lambda cell: cell.key)
        sequence = []
        for round_number in range(self.rounds):
            order = list(cells)
            random.Random(f"{machine.name}/{round_number}").shuffle(order)
            sequence += [(cell, round_number) for cell in order]
        return sequence

    def round_priority(self, cell: Cell, round_number: int) -> int:
        """The Snakemake priority of a round's job: the earlier in its machine's sequence, the
        higher (1 for the last), so that the scheduler times the rounds in that order."""
        if cell.machine not in self._positions:
            sequence = self.round_sequence(cell.machine)
            self._positions[cell.machine] = {step: len(sequence) - i for i, step in enumerate(sequence)}
        return self._positions[cell.machine][(cell, round_number)]

    def job_runtime(self, machine: Machine) -> int:
        """A timed job's SLURM time limit in minutes: the machine's, else the least that lets a
        hung cell be recorded as timed out."""
        bench = self.config["benchmark"]
        return machine.entry.get("runtime") or minimum_runtime(bench["timeout_s"], bench["quiet_start_s"])


def grid(config: dict, available_devices=DEVICES) -> list[Cell]:
    """Every cell a config asks for (validated, defaults filled in), on a host with every CPU feature."""
    return Grid.from_config(config, available_devices, cpu_features=sorted(CPU_FEATURES)).cells


def physical_cores() -> int:
    """The methods' own count of this process's cores (scripts/nerlib/cores.py)."""
    layout.nerlib_importable()
    from nerlib.cores import physical_cores as count

    return count()


def host_devices() -> set[str]:
    """cpu always; cuda when nvidia-smi lists a GPU. Asked without importing torch, which would
    cost seconds on every Snakemake start. NERBENCH_DEVICES=cpu,cuda overrides."""
    override = os.environ.get("NERBENCH_DEVICES")
    if override:
        return set(override.split(","))
    devices = {"cpu"}
    if shutil.which("nvidia-smi"):
        try:
            listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print(
                f"nerbench: nvidia-smi -L gave no answer within {NVIDIA_SMI_TIMEOUT_S} s: taking this host to have "
                "no GPU (NERBENCH_DEVICES=cpu,cuda says otherwise)",
                file=sys.stderr,
            )
            return devices
        if listed.returncode == 0 and "GPU" in listed.stdout:
            devices.add("cuda")
    return devices
