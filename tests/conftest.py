"""Shared fixtures: the repository, a Snakemake runner, and one end-to-end smoke run that the
workflow and method tests reuse (it builds a small fine-tuned model, so it runs once)."""

import copy
import fcntl
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from _pytest.nodeid import coerce_node_id

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"  # the timed programs and nerlib
STEPS = REPO / "workflow" / "scripts"  # the pipeline's steps, by stage
STAGES = ("corpus", "model", "timing", "checks", "report")
SMOKE = REPO / "configs" / "smoke.yaml"
# nerlib, the steps (each stage's folder: a step imports its own stage's modules by name), the grid package nerbench
for folder in (SCRIPTS, STEPS, *(STEPS / stage for stage in STAGES), REPO / "workflow"):
    sys.path.insert(0, str(folder))

from nerbench.config import (  # noqa: E402
    ConfigError,  # noqa: E402
    extend,
    load,
)
from nerbench.grid import Grid  # noqa: E402
from nerbench.host import CPU_FEATURES  # noqa: E402
from nerbench.registry import Registry  # noqa: E402

# What the tests lay out a grid with, whatever the host running them has (Snakemake runs get the
# same through NERBENCH_CPU_FEATURES where they plan the default grid).
EVERY_CPU_FEATURE = sorted(CPU_FEATURES)

# The two tiers: `make check` runs the unit tier (no Snakemake run, no model build, no cluster),
# `make test` everything. A test is end to end when it uses one of these fixtures, or is marked.
END_TO_END_FIXTURES = {
    "smoke",
    "smoke_clone",
    "smoke_models",
    "tricky_predictions",
    "family_models",
    "family_predictions",
    "method_error_runs",
    "cluster",
}
UNIT_TIER = os.environ.get("NERBENCH_TIER") == "unit"
# `make check` and `make test` run their tiers in one pytest worker per core (pytest-xdist). The tests that
# take the smoke run's own folder (`smoke`) or start the cluster share one worker and run one after
# the other: they write beside each other there. A test whose grid can run in a copy of that folder
# takes `smoke_clone` instead, and runs beside the others.
SMOKE_WORKDIR_GROUP = "smoke-workdir"
# Tests that share a costly fixture share a worker too, which builds it once.
SHARED_FIXTURE_GROUPS = {
    "family_models": "families",
    "tricky_predictions": "tricky",
    "ten_machines": "scale",
    "method_error_runs": "method-errors",
}


def in_smoke_workdir(item) -> bool:
    direct = inspect.signature(item.function).parameters if hasattr(item, "function") else {}
    return "smoke" in direct or "cluster" in getattr(item, "fixturenames", ())


def needs_smoke(item) -> bool:
    return "smoke" in getattr(item, "fixturenames", ())


def worker_group(item) -> str | None:
    if in_smoke_workdir(item):
        return SMOKE_WORKDIR_GROUP
    fixtures = getattr(item, "fixturenames", ())
    return next((group for fixture, group in SHARED_FIXTURE_GROUPS.items() if fixture in fixtures), None)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if END_TO_END_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
        if (group := worker_group(item)) and getattr(config.option, "loadgroup", False):
            # What pytest-xdist's `xdist_group` mark does (a node id ending "@group"): xdist 3.8 sets
            # `_nodeid`, which pytest 9 no longer reads (it keeps the id in `_id`).
            item._id = coerce_node_id(f"{item.nodeid}@{group}")
    # The smoke run's group first, in its own order (its worker builds the run at once), then the
    # tests that need no smoke run (the other worker's work meanwhile), then a group whose costly
    # fixture needs none but some of whose tests do (the family models, built while the smoke run
    # goes on; its tests without the smoke run first), then the tests that read its model, the long
    # ones first (a grid in a copy of the smoke folder, a group's shared fixture), so that the
    # workers do not end with one of them while the other waits. The Makefile keeps pytest-xdist
    # from re-ordering the groups by size (--no-loadscope-reorder).
    needing = {}
    for item in items:
        needing.setdefault(worker_group(item) or item.nodeid, set()).add(needs_smoke(item))

    def order(item):
        if in_smoke_workdir(item):
            return (0,)
        long = worker_group(item) is not None or "smoke_clone" in getattr(item, "fixturenames", ())
        return (1, sorted(needing[worker_group(item) or item.nodeid]), needs_smoke(item), not long)

    items.sort(key=order)


HELD_LOCKS = set()  # this process's: a test holding a lock may call a helper that takes it too


@contextmanager
def exclusive(name: str):
    """A lock that every pytest worker of this machine shares, by name."""
    if name in HELD_LOCKS:
        yield
        return
    folder = Path(tempfile.gettempdir()) / f"nerbench-test-locks-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    with open(folder / (hashlib.sha256(name.encode()).hexdigest()[:16] + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        HELD_LOCKS.add(name)
        try:
            yield
        finally:
            HELD_LOCKS.discard(name)


def workdir_lock(workdir):
    """One Snakemake run at a time in a working directory, whichever worker starts it (Snakemake
    refuses a second run whose files the first has locked)."""
    return exclusive(f"workdir:{Path(workdir).resolve()}")


@contextmanager
def cpu_burner():
    """Another process that keeps one core busy."""
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        yield burner
    finally:
        burner.kill()
        burner.wait()


@contextmanager
def cpu_quota(share: float):
    """A cgroup whose processes may use `share` of each allowed CPU's time (a CPU quota: the
    host's accounting shows them idle, not others busy); yields a command prefix that runs a
    command in it. Skips the test where this kernel's cgroups cannot be written (not root)."""
    period, cpus = 100_000, len(os.sched_getaffinity(0))
    quota = int(share * cpus * period)
    name = f"nerbench-test-{os.getpid()}"
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():  # cgroup v2
        group, limits = root / name, {"cpu.max": f"{quota} {period}"}
    else:  # cgroup v1's cpu controller
        group, limits = root / "cpu" / name, {"cpu.cfs_period_us": str(period), "cpu.cfs_quota_us": str(quota)}
    enable = root / "cgroup.subtree_control"
    turn_on_cpu = enable.exists() and "cpu" not in enable.read_text().split()
    try:
        if turn_on_cpu:
            enable.write_text("+cpu")
        group.mkdir()
        for limit, value in limits.items():
            (group / limit).write_text(value)
    except OSError as error:
        with suppress(OSError):
            group.rmdir()
        pytest.skip(f"cannot set a CPU quota in a cgroup here: {error}")
    try:
        # The shell moves itself into the group, then becomes the command.
        yield ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(group / "cgroup.procs")]
    finally:
        # A process that is still exiting keeps the group busy for a moment.
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)
        if turn_on_cpu:
            with suppress(OSError):
                enable.write_text("-cpu")


def poll_until(check, seconds: float, interval: float = 0.1):
    """What `check` returns once it is true, polled every `interval`; False after `seconds`."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if found := check():
            return found
        time.sleep(interval)
    return False


def process_running(pattern: str) -> bool:
    """Whether a process whose command line matches `pattern` runs (a test's own: name its paths)."""
    return bool(subprocess.run(["pgrep", "-f", pattern], capture_output=True).stdout)


def snakemake_command(workdir, configfile=SMOKE) -> list[str]:
    assert not UNIT_TIER, "this test starts Snakemake: mark it @pytest.mark.e2e (make check runs the unit tier)"
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir)]
    return command + (["--configfile", str(configfile)] if configfile else [])


def workflow_environment(**extra) -> dict:
    """Rules call `python` and `hyperfine`: the interpreter running the tests, as `make test` arranges."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "HF_HUB_OFFLINE": "1", **extra}


def run_snakemake(workdir, *args, configfile=SMOKE, env=None, check=True):
    with workdir_lock(workdir):
        done = subprocess.run(
            snakemake_command(workdir, configfile) + list(args),
            capture_output=True,
            text=True,
            env=workflow_environment(**(env or {})),
        )
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}")
    return done


def run_make(*args, **kwargs):
    """A make target of the repository, with the environment the tests run in (VENV=)."""
    venv = Path(sys.executable).parent.parent
    command = ["make", "--no-print-directory", "-C", str(REPO), f"VENV={venv}", *args]
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def make_in(workdir, config: dict, tmp_path, *args, env=None):
    """A make target run as a user runs it in the repository, its Snakemake working in `workdir`
    (a smoke folder) and its results in `config`'s folder there (made absolute: the Makefile's
    queries run in the repository)."""
    settings = {**config, "results": str(Path(workdir) / config["results"])}
    path = tmp_path / "config-for-make.yaml"
    path.write_text(yaml.safe_dump(settings))
    extra = ["CORES=2", f"CONFIG={path}", f"SNAKEMAKE_ARGS=--directory {workdir}"]
    return run_make(*args, *extra, env=workflow_environment(**(env or {})))


def config_of(override: dict) -> dict:
    """config.yaml extended by `override`, as Snakemake extends it with a further config file."""
    return extend(load([REPO / "config.yaml"]), copy.deepcopy(override))


def grid_of(override: dict, workdir=None, devices=("cpu", "cuda"), cpu_features=EVERY_CPU_FEATURE) -> Grid:
    """The grid the workflow lays out for config.yaml extended by `override` (relative paths taken
    from `workdir`), in this process: what the rules import, without starting Snakemake."""
    previous = os.getcwd()
    os.chdir(workdir or previous)
    try:
        return Grid.from_config(config_of(override), devices, cpu_features=cpu_features)
    finally:
        os.chdir(previous)


def small_grid(results, methods=("ort-lean",), batch_sizes=(8,), machines=(), **benchmark) -> Grid:
    """A CPU grid of a few cells whose files go to `results` (an absolute path)."""
    settings = {"methods": list(methods), "devices": ["cpu"], "batch_sizes": list(batch_sizes), **benchmark}
    return grid_of({"results": str(results), "machines": list(machines), "benchmark": settings}, devices=("cpu",))


def write_manifest(grid: Grid) -> Path:
    """The grid.json a step reads, as the grid rule writes it."""
    path = Path(grid.results("grid.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(grid.manifest()))
    return path


def replace_bytes(path: Path, data: bytes) -> None:
    """Rewrite a file in one step: other pytest workers run it meanwhile and must never read half of it."""
    temporary = path.with_name(f".{path.name}.edit")
    temporary.write_bytes(data)
    shutil.copymode(path, temporary)
    os.replace(temporary, path)


def plan_after_edit(workdir: Path, path: Path) -> subprocess.CompletedProcess:
    """A dry run in `workdir` after a content edit of `path` (Snakemake compares checksums, so a
    touch alone would not count), the file restored afterwards with its times."""
    original, stat = path.read_bytes(), path.stat()
    try:
        replace_bytes(path, original + b"\n# edited\n")
        return run_snakemake(workdir, "-n", "--cores", "1")
    finally:
        replace_bytes(path, original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def run_cell_arguments(tmp_path, method, model, corpus, batch_size=4, machines=(), **benchmark) -> list[str]:
    """run_cell.py's command line for one cell, with the settings the rule would give it."""
    benchmark = {"warmup": 0, "runs": 1, **benchmark}
    grid = small_grid(tmp_path / "results", [method], [batch_size], machines, **benchmark)
    cell = grid.cells[0]
    predictions, phases = tmp_path / "p.jsonl", tmp_path / "t.json"
    command = cell.command(str(model), str(corpus), str(predictions), str(phases))
    args = ["--settings", grid.timing_settings(cell, "test"), "--cell", json.dumps(cell.key._asdict())]
    args += ["--command", json.dumps(command), "--model", model]
    args += ["--out", tmp_path / "cell.json", "--predictions", predictions]
    args += ["--phases", phases, "--log", tmp_path / "log"]
    return [str(arg) for arg in args]


def run_cell(tmp_path, corpus, *, env=None, cwd=None, method="ort-lean", model, machines=()):
    """run_cell.py on one cell of `method` (its rule's command line) on the first of `machines`
    (the host without them): the finished process and the record it wrote, or None."""
    out = tmp_path / "cell.json"
    args = run_cell_arguments(tmp_path, method, model, corpus, machines=machines, timeout_s=120)
    done = subprocess.run(
        [sys.executable, REPO / "workflow/scripts/timing/run_cell.py", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    return done, (json.loads(out.read_text()) if out.is_file() else None)


def config_error_of(override: dict, workdir) -> str | None:
    """The one-line error the workflow stops with for config.yaml extended by `override`, or None.
    tests/test_workflow.py checks that Snakemake itself stops with this line."""
    try:
        grid_of(override, workdir)
    except ConfigError as error:
        return error.line
    return None


def planned_jobs(output: str) -> dict[str, int]:
    """Snakemake's dry-run 'Job stats' table as {rule: count}."""
    jobs, in_table = {}, False
    for line in output.splitlines():
        if line.startswith("job ") and "count" in line:
            in_table, jobs = True, {}
            continue
        if in_table:
            parts = line.split()
            if parts and parts[0] == "total":
                in_table = False
            elif len(parts) == 2 and parts[1].isdigit():
                jobs[parts[0]] = int(parts[1])
    return jobs


# The method registry: which programs the grid can time, and which model directory each reads.
REGISTRY = Registry.load()
PYTHON_METHODS = {name: entry["model"] for name, entry in REGISTRY.methods.items() if not entry["built"]}


def run_method(program: str, *args, check=True, python_flags=(), **kwargs):
    path = REPO / program
    command = [sys.executable, *python_flags, str(path)] if program.endswith(".py") else [str(path)]
    done = subprocess.run(command + [str(a) for a in args], capture_output=True, text=True, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{program} failed: {done.stderr[-3000:]}")
    return done


LEAN = "scripts/ort-lean.py"  # the Python method the Rust binary's bytes are compared with
PREDICT_MANY = REPO / "tests" / "predict_many.py"
TRICKY = REPO / "tests" / "data" / "tricky.txt"


@dataclass
class Run:
    status: int
    stderr: str
    output: Path | None = None  # the predictions file it was given, where a test reads it


def run_in_one_process(runs: list[tuple[str, list]], folder: Path, **kwargs) -> list[Run]:
    """Method programs' runs, [(program, argv)], in one Python process (tests/predict_many.py), each
    as its own command line would run: torch and transformers are imported once, not per run."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = [
        {"program": str(REPO / program), "argv": [str(a) for a in argv], "stderr": str(folder / f"{i}.stderr")}
        for i, (program, argv) in enumerate(runs)
    ]
    (folder / "runs.json").write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, PREDICT_MANY, folder / "runs.json", folder / "statuses.json"],
        capture_output=True,
        text=True,
        **kwargs,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    statuses = read_json(folder / "statuses.json")
    return [Run(status, Path(run["stderr"]).read_text()) for status, run in zip(statuses, spec, strict=True)]


def run_rust(binary, *args, check=True, **kwargs):
    """The Rust binary, on the ONNX Runtime library of this environment's wheel."""
    import ort_dylib

    env = {**os.environ, "ORT_DYLIB_PATH": str(ort_dylib.library_path()), **kwargs.pop("env", {})}
    done = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, env=env, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{binary} failed: {done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """The smoke config run end to end in a scratch working directory, once for all pytest
    workers: the first to need it runs it, the others wait and reuse it (NERBENCH_SMOKE_WORKDIR
    names one to reuse between runs while developing: Snakemake redoes only what changed)."""
    reuse = os.environ.get("NERBENCH_SMOKE_WORKDIR")
    # Under pytest-xdist each worker's temporary folder lies in one the workers share.
    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared
    workdir = Path(reuse) if reuse else shared / "smoke"
    done, failed = shared / "smoke.done", shared / "smoke.failed"
    with exclusive(f"smoke:{shared}"):
        if failed.exists():
            raise AssertionError(f"the smoke run failed in another worker:\n{failed.read_text()}")
        if not done.exists():
            workdir.mkdir(parents=True, exist_ok=True)
            try:
                done.write_text(run_snakemake(workdir, "--cores", "2").stderr)
            except AssertionError as error:
                failed.write_text(str(error))
                raise
    return {
        "workdir": workdir,
        "results": workdir / "results" / "smoke",
        "log": done.read_text(),
        **smoke_reference(workdir),
    }


def smoke_reference(workdir: Path) -> dict:
    """Where the smoke run's reference predictions and gaps lie (with the model, not the results)."""
    grid = grid_of(yaml.safe_load(SMOKE.read_text()), workdir, devices=("cpu",))
    return {"reference": workdir / grid.reference_file("predictions"), "gaps": workdir / grid.reference_file("gaps")}


@pytest.fixture
def smoke_clone(smoke, tmp_path):
    """The smoke run's folder copied for one test, files hard-linked and Snakemake's records copied:
    a grid run there finds the model built and runs beside the other workers' grids, in no one's way
    (Snakemake replaces a file rather than writing into it, so the smoke run's own stay as they are)."""
    source, clone = smoke["workdir"], tmp_path / "workdir"
    (clone / ".snakemake").mkdir(parents=True)
    with workdir_lock(source):  # a copy between two runs, not in the middle of one
        for name in ("data", "bin", "results"):
            subprocess.run(["cp", "-al", str(source / name), str(clone / name)], check=True)
        shutil.copytree(source / ".snakemake" / "metadata", clone / ".snakemake" / "metadata")
    return {"workdir": clone, "results": clone / "results" / "smoke", **smoke_reference(clone)}


@pytest.fixture(scope="session")
def smoke_models(smoke):
    workdir = smoke["workdir"]
    return {
        "torch": workdir / "data/models/smoke-minilm/torch",
        "onnx": workdir / "data/models/smoke-minilm/onnx",
        "ct2": workdir / "data/models/smoke-minilm/ct2",
        "rust": workdir / "bin" / "onnxruntime-ner",
    }


@pytest.fixture(scope="session")
def method_error_runs(smoke_models, tmp_path_factory):
    """Every Python method on bad input (-d cuda without a GPU, a model without its tokenizer, an
    empty corpus; the pipeline given a token budget): {(method, case): Run}. Each program's runs
    share one process, the programs side by side."""
    folder = tmp_path_factory.mktemp("method-errors")
    empty = folder / "empty.txt"
    empty.write_bytes(b"")
    cases, empty_outputs = {}, {method: folder / f"{method}-empty.jsonl" for method in PYTHON_METHODS}
    for method, kind in PYTHON_METHODS.items():
        broken = shutil.copytree(smoke_models[kind], folder / f"{method}-no-tokenizer")
        (broken / "tokenizer.json").unlink()
        cases[method] = {
            "no tokenizer": ["-m", broken, TRICKY],
            "empty corpus": ["-m", smoke_models[kind], "-o", empty_outputs[method], empty],
        }
        if shutil.which("nvidia-smi") is None:
            cases[method]["cuda"] = ["-d", "cuda", "-m", smoke_models[kind], TRICKY]
    cases["pipelines"]["token budget"] = ["--token-budget", "-m", smoke_models["torch"], TRICKY]

    def run(method: str) -> dict:
        program = REGISTRY.methods[method]["program"]
        runs = run_in_one_process([(program, argv) for argv in cases[method].values()], folder / method)
        return {(method, case): found for case, found in zip(cases[method], runs, strict=True)}

    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        found = {key: run for part in pool.map(run, cases) for key, run in part.items()}
    for method, output in empty_outputs.items():
        found[method, "empty corpus"].output = output
    return found


def read_json(path):
    return json.loads(Path(path).read_text())


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
