"""The Snakemake workflow end to end: its plan, what an edit re-times, the make targets, the README's commands.

The full grid's plan on any host, Snakemake stopping on a bad config before any job, re-running
one cell and regenerating the tables alone, what each edit of the config or of a method re-times,
several machines on one host, the profiles and Snakemake's scheduler, the Makefile's targets, and
every command the README gives, run as written."""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from conftest import (
    EVERY_CPU_FEATURE,
    REGISTRY,
    REPO,
    SMOKE,
    config_error_of,
    make_in,
    plan_after_edit,
    planned_jobs,
    run_make,
    run_snakemake,
    snakemake_command,
    workflow_environment,
)
from nerbench.config import extend
from test_grid import BAD_CONFIGS, query

# ---- the plan ----


DEFAULT_METHODS = yaml.safe_load((REPO / "config.yaml").read_text())["benchmark"]["methods"]


def devices_of(method: str) -> set[str]:
    """The devices the registry lets a method run on: its program's, variant's and options'."""
    return REGISTRY.parse(method).devices


@pytest.mark.e2e
def test_default_dry_run_lists_the_full_grid(tmp_path):
    every = {"NERBENCH_DEVICES": "cpu,cuda", "NERBENCH_CPU_FEATURES": ",".join(EVERY_CPU_FEATURE)}
    done = run_snakemake(tmp_path, "-n", "--cores", "1", configfile=None, env=every)
    jobs = planned_jobs(done.stdout)
    cells = sum(len(devices_of(method)) for method in DEFAULT_METHODS) * 5
    assert jobs["benchmark_cell"] == cells and jobs["check_cell"] == cells
    for method in DEFAULT_METHODS:
        for device in ("cpu", "cuda"):
            for size in (1, 8, 32, 64, 128):
                planned = f"results/cells/{method}/{device}-bs{size}.json" in done.stdout
                assert planned == (device in devices_of(method)), (method, device)
    for rule in ("conll_corpus", "build_model", "export_onnx", "build_rust", "roofline", "tables", "plots", "verify"):
        assert jobs[rule] == 1


@pytest.mark.e2e
def test_without_a_gpu_or_bf16_their_cells_are_skipped_and_said(tmp_path):
    """On a host without a GPU, and a CPU without bf16 instructions, whatever this host has."""
    env = {"NERBENCH_DEVICES": "cpu", "NERBENCH_CPU_FEATURES": ""}
    done = run_snakemake(tmp_path, "-n", "--cores", "1", configfile=None, env=env)
    runnable = [m for m in DEFAULT_METHODS if "cpu" in devices_of(m) and not REGISTRY.parse(m).cpu_features]
    assert planned_jobs(done.stdout)["benchmark_cell"] == len(runnable) * 5
    assert "cell(s): local lacks device cuda" in done.stderr
    assert "5 cell(s): local lacks CPU feature bf16" in done.stderr
    assert "/cuda-bs" not in done.stdout and "+bf16/" not in done.stdout
    with_bf16 = run_snakemake(
        tmp_path, "-n", "--cores", "1", configfile=None, env={**env, "NERBENCH_CPU_FEATURES": "bf16"}
    )
    assert planned_jobs(with_bf16.stdout)["benchmark_cell"] == (len(runnable) + 1) * 5


@pytest.mark.e2e
@pytest.mark.parametrize("override,message", [BAD_CONFIGS[3], BAD_CONFIGS[8]], ids=["schema", "path"])
def test_snakemake_stops_on_a_bad_config_before_any_job_with_one_line(tmp_path, override, message):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(override))
    done = run_snakemake(tmp_path, "-n", "--cores", "1", configfile=config, check=False)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if "config error" in line]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr and "Job stats" not in done.stdout


# ---- what re-runs and what an edit re-times ----


def test_rerunning_one_cell_plans_only_that_cell_and_the_tables(smoke):
    cell = "results/smoke/cells/ort-hf/cpu-bs8.json"
    done = run_snakemake(smoke["workdir"], "-n", "--cores", "1", "--forcerun", cell)
    assert planned_jobs(done.stdout) == {
        "benchmark_cell": 1,
        "check_cell": 1,
        "summary": 1,
        "tables": 1,
        "plots": 1,
        "verify": 1,
        "all": 1,
    }
    assert cell in done.stdout


def test_regenerating_the_tables_runs_no_benchmark(smoke):
    done = run_snakemake(smoke["workdir"], "-n", "--cores", "1", "--forcerun", "summary", "tables")
    assert planned_jobs(done.stdout) == {"summary": 1, "tables": 1, "plots": 1, "verify": 1, "all": 1}
    before = (smoke["results"] / "cells/baseline/cpu-bs1.json").stat().st_mtime
    run_snakemake(smoke["workdir"], "--cores", "1", "--forcerun", "summary", "tables")
    assert (smoke["results"] / "cells/baseline/cpu-bs1.json").stat().st_mtime == before
    assert (smoke["results"] / "tables.md").stat().st_mtime > before


def test_editing_a_method_retimes_only_its_cells(smoke):
    done = plan_after_edit(smoke["workdir"], REPO / "scripts" / "ort-hf.py")
    jobs = planned_jobs(done.stdout)
    assert jobs["benchmark_cell"] == 2 and jobs["check_cell"] == 2
    planned_cells = set(re.findall(r"output: results/smoke/cells/([\w@+-]+)/", done.stdout))
    assert planned_cells == {"ort-hf"}


def test_nothing_left_to_do_after_the_smoke_run(smoke):
    done = run_snakemake(smoke["workdir"], "-n", "--cores", "1")
    assert "Nothing to be done" in done.stdout + done.stderr


def test_two_machines_without_a_partition_are_refused_in_one_line(tmp_path):
    """Each would be the host Snakemake runs on, which would time the same grid twice (and the tables
    would show it as two machines)."""
    machines = [{"name": "first", "devices": ["cpu"]}, {"name": "second", "devices": ["cpu"]}]
    error = config_error_of({"machines": machines}, tmp_path)
    assert error == (
        "nerbench: config error: machines[1]: second has no partition, nor has machines[0]: a machine without one "
        "is the host Snakemake runs on, which would time the same grid twice (give each kind of SLURM node its "
        "partition)"
    )


def smoke_with(edit: dict, tmp_path) -> Path:
    """The smoke config with an edit, as one config file."""
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(extend(yaml.safe_load(SMOKE.read_text()), edit)))
    return path


SMOKE_METHODS = yaml.safe_load(SMOKE.read_text())["benchmark"]["methods"]
# An edit of the smoke config -> the timed cells a dry run must plan after it.
EDITS = {
    "a batch size": ({"benchmark": {"batch_sizes": [1, 8, 4]}}, len(SMOKE_METHODS)),
    "a method": ({"benchmark": {"methods": [*SMOKE_METHODS, "ort-lean+sort"]}}, 2),
    "reordered lists": ({"benchmark": {"methods": SMOKE_METHODS[::-1], "batch_sizes": [8, 1]}}, 0),
    "the quiet start": ({"benchmark": {"quiet_start_s": 5, "quiet_share": 0.2}}, 0),
    "the drift between grids": ({"benchmark": {"drift_pct": 3}}, 0),
    "the warm-up": ({"benchmark": {"warmup": 1}}, 2 * len(SMOKE_METHODS)),
}


@pytest.mark.parametrize("edit", EDITS)
def test_an_edit_times_only_the_cells_it_changes(smoke, tmp_path, edit):
    change, timed = EDITS[edit]
    done = run_snakemake(smoke["workdir"], "-n", "--cores", "2", configfile=smoke_with(change, tmp_path))
    jobs = planned_jobs(done.stdout)
    assert jobs.get("benchmark_cell", 0) == timed, jobs
    assert jobs.get("check_cell", 0) == timed and "roofline" not in jobs and "build_model" not in jobs, jobs


def test_the_roofline_square_measures_the_peaks_again_and_times_no_cell(smoke, tmp_path):
    edited = smoke_with({"benchmark": {"roofline_square": 256}}, tmp_path)
    jobs = planned_jobs(run_snakemake(smoke["workdir"], "-n", "--cores", "2", configfile=edited).stdout)
    assert jobs.get("roofline") == 1 and "benchmark_cell" not in jobs and "build_model" not in jobs, jobs


def test_a_timed_cell_on_the_host_claims_every_core_whatever_cores(smoke, tmp_path):
    """Each timed cell asks for all of Snakemake's cores, so no two run at once, with --cores 32 too."""
    done = run_snakemake(
        smoke["workdir"], "-n", "--cores", "32", "--forcerun", "benchmark_cell", configfile=smoke_with({}, tmp_path)
    )
    blocks = re.findall(r"^rule benchmark_cell:\n(.*?)(?=^\S)", done.stdout, re.S | re.M)
    assert len(blocks) == 2 * len(SMOKE_METHODS)
    assert all("threads: 32" in block for block in blocks), blocks[0]


# ---- the profiles and Snakemake's scheduler ----


def test_every_local_run_reads_the_workflow_profile_that_resumes_interrupted_cells(smoke):
    """profiles/default, found beside the Snakefile from any working directory; the SLURM profile
    replaces it there, and leaves re-running incomplete jobs to the user (see the profile)."""
    assert re.search(r"Using workflow specific profile \S*profiles/default for", smoke["log"]), smoke["log"][:2000]
    assert yaml.safe_load((REPO / "profiles/default/config.yaml").read_text()) == {"rerun-incomplete": True}
    assert "rerun-incomplete" not in yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())


def test_snakemakes_scheduler_keeps_one_daemon_wakeup_however_many_jobs_finish():
    """workflow/snakemake_scheduler.py: Snakemake 9.27 started a wake-up timer per pass of its loop."""
    from snakemake.scheduling.job_scheduler import JobScheduler

    import snakemake_scheduler

    class Loop:
        _open_jobs = threading.Semaphore(0)

    loop = Loop()
    for _ in range(50):  # fifty finished jobs, each a pass of the loop
        snakemake_scheduler.schedule_reevaluation(loop, 0.2)
    timers = [thread for thread in threading.enumerate() if isinstance(thread, threading.Timer)]
    assert len(timers) == 1 and timers[0].daemon, "a daemon never keeps Snakemake alive after its last job"
    assert loop._open_jobs.acquire(timeout=5), "the pending wake-up wakes the loop"
    assert not loop._open_jobs.acquire(timeout=0.5), "once"
    snakemake_scheduler.schedule_reevaluation(loop, 0.1)  # the pass it woke starts the next one
    assert loop._open_jobs.acquire(timeout=5)
    assert snakemake_scheduler.mend()
    assert JobScheduler._schedule_reevalutation is snakemake_scheduler.schedule_reevaluation


# ---- the Makefile's targets ----


make = run_make


@pytest.mark.parametrize("target", ["cell", "tables"])
def test_make_quotes_the_results_path(target, tmp_path):
    results = tmp_path / "my results; touch PWNED"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"results": str(results), "benchmark": {"methods": ["ort-lean"]}}))
    args = ["METHOD=ort-lean", "DEVICE=cpu", "BS=8"] if target == "cell" else []
    done = make(target, f"CONFIG={config}", "SNAKEMAKE_ARGS=-n", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    if target == "cell":
        assert f"{results}/cells/ort-lean/cpu-bs8.json" in done.stdout
    assert f"{results}/tables.md" in done.stdout
    assert not list(tmp_path.rglob("PWNED")) and not (REPO / "PWNED").exists()


def test_make_cell_retimes_a_named_machines_cell(tmp_path):
    config = tmp_path / "config.yaml"
    machines = [
        {"name": "first", "devices": ["cpu"]},
        {"name": "second", "partition": "p2", "cpus": 2, "devices": ["cpu"]},
    ]
    config.write_text(yaml.safe_dump({"machines": machines, "benchmark": {"methods": ["ort-lean"]}}))
    cell = ["METHOD=ort-lean", "DEVICE=cpu", "BS=8"]
    done = make("cell", f"CONFIG={config}", "SNAKEMAKE_ARGS=-n", "MACHINE=second", *cell, cwd=tmp_path)
    assert done.returncode == 0 and "results/machines/second/cells/ort-lean/cpu-bs8.json" in done.stdout, done.stderr
    done = make("cell", f"CONFIG={config}", "SNAKEMAKE_ARGS=-n", "MACHINE=third", *cell, cwd=tmp_path)
    assert done.returncode != 0 and "nerbench: config error: MACHINE=third: not a machine of the config" in done.stderr


def test_make_clean_keeps_the_results_and_clean_results_removes_the_configs_folder(tmp_path):
    """In a folder laid out like a clone (the Makefile's own files linked), with a config whose
    results go elsewhere: clean keeps every result; clean-results removes that folder alone."""
    for name in ("Makefile", "workflow", "scripts", "config.yaml", "requirements.lock", "requirements-nodeps.txt"):
        (tmp_path / name).symlink_to(REPO / name)
    for folder in ("results/cells", "elsewhere/cells", ".snakemake/metadata", ".snakemake/conda/env"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "kept.json").write_text("{}")
    (tmp_path / "mine.yaml").write_text("results: elsewhere\n")
    venv = Path(sys.executable).parent.parent

    def make_here(*targets):
        command = ["make", "-s", "-o", "venv", f"VENV={venv}", *targets, "CONFIG=mine.yaml"]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)

    refused = make_here("clean-results")  # not a results folder: no grid.json
    assert refused.returncode != 0 and "elsewhere: not a results folder (no grid.json): not removed" in refused.stderr
    (tmp_path / "elsewhere/grid.json").write_text("{}")
    done = make_here("clean", "clean-results")
    assert done.returncode == 0, done.stderr
    assert "removing elsewhere (results: of config.yaml mine.yaml)" in done.stdout
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / ".snakemake/conda").exists()
    assert (tmp_path / "results/cells/kept.json").is_file() and (tmp_path / ".snakemake/metadata/kept.json").is_file()


def test_make_activate_is_this_clones_environment():
    venv = Path(sys.executable).parent.parent
    line = make("-s", "activate").stdout.strip()
    assert line.startswith(f'source "{venv}/bin/activate"'), line
    found = subprocess.run(["bash", "-c", f"{line} && command -v python"], capture_output=True, text=True)
    assert found.stdout.strip() == f"{venv}/bin/python", found


@pytest.mark.e2e  # make shell makes sure of hyperfine first (a build, on a fresh machine)
def test_make_shell_is_this_clones_environment():
    venv = Path(sys.executable).parent.parent
    shell = make("-s", "shell", input="command -v python hyperfine\nexit\n")
    assert f"{venv}/bin/python\n" in shell.stdout and "/hyperfine\n" in shell.stdout, shell.stdout + shell.stderr


@pytest.mark.parametrize(
    "model, line",
    [
        ("no/such/folder", "MODEL=no/such/folder: no such directory (a Hub model is MODEL=hub:org/name[@revision])"),
        ("hub:not an id", "MODEL=hub:not an id: model.hub.id: 'not an id' does not match"),
        ("hub:org/name@v1;rm", "MODEL=hub:org/name@v1;rm: model.hub.revision: 'v1;rm' does not match"),
    ],
)
def test_a_model_that_cannot_be_is_one_line(model, line, tmp_path):
    done = query("model", model, str(REPO / "config.yaml"), cwd=tmp_path)
    assert done.returncode != 0 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"nerbench: config error: {line}") and not list(tmp_path.iterdir())


def test_a_model_gets_a_results_folder_of_its_own(tmp_path):
    """Beside the config's results, never over them, named by where the model comes from: two folders
    of one name, or two revisions of one Hub model, never share a model folder or results."""
    written_to = []
    for parent in ("a", "b"):
        mine = tmp_path / parent / "minilm-conll"  # the config's own model's name, twice
        mine.mkdir(parents=True)
        (mine / "config.json").write_text('{"model_type": "distilbert"}')
        written = query("model", str(mine), str(REPO / "config.yaml"), cwd=tmp_path)
        assert written.returncode == 0, written.stderr
        name = f"minilm-conll-{hashlib.sha256(str(mine).encode()).hexdigest()[:6]}"
        assert written.stdout.strip() == f"results/models/{name}/model.yaml"
        assert yaml.safe_load((tmp_path / written.stdout.strip()).read_text()) == {
            "results": f"results/models/{name}",
            "model": {"name": name, "source": "local", "local": {"path": str(mine)}, "allow_pickle": False},
        }
        written_to.append(written.stdout)
    assert len(set(written_to)) == 2, written_to
    for revision, spec in (("main", "hub:org/name"), ("v2", "hub:org/name@v2")):
        hub = query("model", spec, str(REPO / "config.yaml"), cwd=tmp_path)
        name = f"org--name-{hashlib.sha256(f'org/name@{revision}'.encode()).hexdigest()[:6]}"
        assert yaml.safe_load((tmp_path / hub.stdout.strip()).read_text())["model"] == {
            "name": name,
            "source": "hub",
            "hub": {"id": "org/name", "revision": revision},  # never the config's own model's revision
            "allow_pickle": False,
        }


@pytest.mark.e2e
def test_make_bench_with_a_model_folder_says_its_plan_and_runs_into_its_own_folder(smoke_clone, smoke_models, tmp_path):
    """make bench MODEL=<folder>: the plan first, then the grid on that model, its results in their own folder."""
    workdir = smoke_clone["workdir"]
    settings = yaml.safe_load(SMOKE.read_text())
    settings["benchmark"].update(methods=["baseline", "ort-lean"], batch_sizes=[8])
    model = tmp_path / "my-ner"
    shutil.copytree(smoke_models["torch"], model)
    done = make_in(workdir, settings, tmp_path, "bench", f"MODEL={model}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    plan = done.stdout.split("nerbench plan", 1)[1].splitlines()[:5]
    name = f"my-ner-{hashlib.sha256(str(model).encode()).hexdigest()[:6]}"
    assert plan[1] == f"  model {name}: copied from model.local.path first", plan
    assert plan[2].startswith("  cells: 2 process, 0 serving on local"), plan
    results = workdir / "results/smoke/models" / name
    tables = (results / "tables.md").read_text()
    assert f"Model: `{name}` (local" in tables and (results / "verified.txt").is_file()
    assert (workdir / f"data/models/{name}/torch/model_info.json").is_file()
    assert not (REPO / "results/smoke/models").exists()


def test_make_cell_retimes_a_serving_cell(tmp_path):
    config = tmp_path / "config.yaml"
    settings = {"benchmark": {"methods": ["ort-lean"], "scenarios": ["process", "server"]}}
    config.write_text(yaml.safe_dump({**settings, "serving": {"methods": ["ort-lean"]}}))
    cell = ["METHOD=ort-lean", "DEVICE=cpu", "SCENARIO=server"]
    done = make("cell", f"CONFIG={config}", "SNAKEMAKE_ARGS=-n", "BS=best", *cell, cwd=tmp_path)
    assert done.returncode == 0 and "results/serving/server/ort-lean/cpu-best.json" in done.stdout, done.stderr
    done = make("cell", f"CONFIG={config}", "SNAKEMAKE_ARGS=-n", "BS=large", *cell, cwd=tmp_path)
    assert done.returncode != 0 and "nerbench: config error: BS=large: a batch size is a number, or best" in done.stderr


def test_only_the_tests_run_offline():
    """The hub source downloads under `make bench`; the tests never reach the hub."""
    bench, test = make("-n", "bench"), make("-n", "test")
    assert "snakemake --cores" in bench.stdout and "HF_HUB_OFFLINE" not in bench.stdout
    assert "HF_HUB_OFFLINE=1" in test.stdout


# ---- every command the README gives runs as written ----


README = (REPO / "README.md").read_text()
TASK_TABLE = README.split("| task | command |")[1].split("\n\n")[0]
PROGRAMS = ("make", "snakemake", "python", "snakefmt", "ruff", "cargo")
COMMANDS = [
    command
    for row in TASK_TABLE.splitlines()[2:]
    for command in re.findall(r"`([^`]+)`", row.split("|")[2])
    if command.split()[0] in PROGRAMS  # not `MACHINE=name` or `-n`, which complete another command
]
REPORT_TEST = "tests/test_tables.py::test_the_report_shows_the_answer_the_tables_and_the_plots_in_a_browser"
# Forms run for real elsewhere (too long here, or needing results first), by what runs them.
RUN_ELSEWHERE = {
    "make test": ".ci/run",
    "make check": "make test",
    "make test-slow": "tests/test_model.py, its own target",
    "make test-install": "tests/test_install.py, its own target",
    "make fuzz": "tests/test_fuzz.py, its own target",
    "make scale": "tests/test_scale.py",
    "make families": "tests/test_families.py (every family through every method)",
    "make report": REPORT_TEST,
    "snakemake --cores 1 --report results/report.html": REPORT_TEST,
    "make compare A=results/old B=results": "tests/test_statistics.py::test_compare_prints_ratios",
    "python workflow/scripts/report/compare.py A B": "tests/test_statistics.py::test_compare_prints_ratios",
    "make wheels WHEELS=dir [HOST_TORCH=1]": "tests/test_install.py",
    "make bench WHEELS=dir": "tests/test_install.py",
    "make bench MODEL=/data/my-ner": "test_make_bench_with_a_model_folder_says_its_plan_and_runs_into_its_own_folder",
    "make bench MODEL=hub:org/name@revision": "tests/test_model.py::test_make_bench_runs_a_hub_model",
    "make shell": "test_make_shell_is_this_clones_environment",
    "make clean": "test_make_clean_keeps_the_results_and_clean_results_removes_the_configs_folder",
    "make clean-results": "test_make_clean_keeps_the_results_and_clean_results_removes_the_configs_folder",
    **dict.fromkeys(
        ["make lint", "snakemake --lint", "snakefmt --check", "ruff check", "ruff format --check"], "make check"
    ),
    **dict.fromkeys(["cargo fmt --check", "cargo clippy -D warnings"], "make check"),
}
DRY_RUNS = [command for command in COMMANDS if command not in RUN_ELSEWHERE]


def words(command: str) -> list[str]:
    return command.split()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "command", [c for c in COMMANDS if c not in RUN_ELSEWHERE and c.split()[0] in ("make", "snakemake")]
)
def test_each_readme_command_runs_as_written(command):
    """In the repository, where the README runs them, as a dry run."""
    env = workflow_environment(NERBENCH_DEVICES="cpu")
    if command.startswith("snakemake"):
        argv = [sys.executable, "-m", *words(command), "-n"]
    else:
        venv = Path(sys.executable).parent.parent
        argv = ["make", "--no-print-directory", f"VENV={venv}", *words(command)[1:], "SNAKEMAKE_ARGS=-n"]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, env=env)
    assert done.returncode == 0, f"{command}: {done.stderr[-3000:]}"
    assert "Job stats" in done.stdout or "Nothing to be done" in done.stdout + done.stderr, done.stdout[-2000:]


def test_every_readme_command_is_run_somewhere():
    assert len(COMMANDS) > 20 and all(command.split()[0] in ("make", "snakemake") for command in DRY_RUNS)


@pytest.mark.e2e
def test_a_slurm_machine_run_without_the_cluster_profile_is_refused_before_any_job(tmp_path):
    """Its cells would be recorded as failed and its peaks measured on this host, looking finished."""
    config = smoke_with({"machines": [{"name": "epyc", "partition": "cpu", "cpus": 2, "devices": ["cpu"]}]}, tmp_path)
    done = run_snakemake(tmp_path, "--cores", "1", configfile=config, check=False)
    assert done.returncode != 0
    assert (
        "nerbench: config error: machine epyc runs on SLURM partition cpu, and this run has no cluster executor"
        in done.stderr
    )
    assert not (tmp_path / "results").exists(), "nothing was run"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to allow one fewer")
def test_the_smoke_folder_planned_again_on_fewer_cpus_is_refused_naming_both_hosts(smoke_clone):
    """2d70120 said "Nothing to be done" under `taskset -c 0`, and would have taken the 2-CPU cells as
    this host's."""
    first = str(min(os.sched_getaffinity(0)))
    command = ["taskset", "-c", first, *snakemake_command(smoke_clone["workdir"]), "-n", "--cores", "1"]
    done = subprocess.run(command, capture_output=True, text=True, env=workflow_environment())
    assert done.returncode != 0, done.stdout[-2000:]
    refusal = [line for line in done.stderr.splitlines() if line.startswith("nerbench: config error: results:")]
    assert refusal and "1 CPU(s) allowed: give another results folder" in refusal[0], done.stderr[-2000:]
