"""The Snakemake workflow: the full grid's plan, config validation, the smoke run's tables,
re-running one cell and regenerating the tables alone."""

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import (
    EVERY_CPU_FEATURE,
    REGISTRY,
    REPO,
    SMOKE,
    config_error_of,
    grid_of,
    planned_jobs,
    read_json,
    run_snakemake,
)
from frames import read_summary
from nerbench.config import extend
from nerbench.record import Status

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


BAD_CONFIGS = [
    ({"benchmark": {"methods": ["baseline", "magic"]}}, "benchmark.methods[1]: 'magic' does not match"),
    (
        {"benchmark": {"methods": ["baseline@int8"]}},
        "benchmark.methods[0]: baseline@int8: @int8 applies to ort-hf, ort-lean, onnxruntime-ner, ct2-lean only",
    ),
    ({"benchmark": {"methods": ["baseline+dp"]}}, "benchmark.methods[0]: baseline+dp: +dp applies to ort-lean"),
    (
        {"benchmark": {"methods": ["ort-lean@int8+u8u8", "ort-lean@o2+u8u8"]}},
        "benchmark.methods[1]: ort-lean@o2+u8u8: +u8u8 applies to @int8, @int8s only",
    ),
    ({"benchmark": {"methods": ["ort-lean+u8u8"]}}, "benchmark.methods[0]: ort-lean+u8u8: +u8u8 applies to @int8"),
    (
        {"benchmark": {"methods": ["ov-lean"], "devices": ["cuda"]}},
        "benchmark.methods[0]: ov-lean runs on cpu only, and benchmark.devices is cuda",
    ),
    ({"machines": [{"name": "epyc", "partition": "cpu"}]}, "machines[0]: 'cpus' is a required property"),
    ({"benchmark": {"batch_sizes": [8, 0]}}, "benchmark.batch_sizes[1]: 0 is less than the minimum of 1"),
    ({"benchmark": {"devices": ["cpu", "tpu"]}}, "benchmark.devices[1]: 'tpu' is not one of"),
    ({"benchmark": {"runs": "three"}}, "benchmark.runs: 'three' is not of type 'integer'"),
    ({"benchmark": {"warp": 9}}, "benchmark: unknown key(s): warp"),
    ({"colour": "blue"}, "config: unknown key(s): colour"),
    ({"corpus": {"file": "no/such/corpus.txt"}}, "corpus.file: no/such/corpus.txt: no such file"),
    (
        {"model": {"source": "local", "local": {"path": "no/such/model"}}},
        "model.local.path: no/such/model: not a model directory",
    ),
    (
        {"model": {"source": "hub", "hub": {"id": "dslim/bert-base-NER", "revision": "main"}}},
        "model.hub.revision: 'main' does not match",
    ),
    ({"model": {"source": "hub"}}, "model: 'hub' is a required property"),
    ({"model": {"name": "a;rm -rf b"}}, "model.name: 'a;rm -rf b' does not match"),
    # Whole-number floats would name files bs8.0 or test-1.0k; braces would become wildcards.
    ({"benchmark": {"batch_sizes": [8.0]}}, "benchmark.batch_sizes[0]: 8.0 is not of type 'integer'"),
    ({"benchmark": {"runs": 3.0}}, "benchmark.runs: 3.0 is not of type 'integer'"),
    ({"corpus": {"sentences": 1000.0}}, "corpus.sentences: 1000.0 is not of type 'integer'"),
    ({"results": "out/{x}"}, "results: out/{x}: braces are not allowed in paths"),
    ({"corpus": {"file": "my{corpus}.txt"}}, "corpus.file: my{corpus}.txt: braces are not allowed in paths"),
    ({"model": {"source": "local", "local": {"path": "m{x}"}}}, "model.local.path: m{x}: braces are not allowed"),
]


@pytest.mark.parametrize("override,message", BAD_CONFIGS, ids=[m.split(":")[0] for _, m in BAD_CONFIGS])
def test_bad_config_is_one_line_naming_the_key(tmp_path, override, message):
    error = config_error_of(override, tmp_path)
    assert error is not None and error.startswith("nerbench: config error: ") and message in error, error
    assert "\n" not in error


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


def test_smoke_tables_have_every_method(smoke):
    tables = (smoke["results"] / "tables.md").read_text()
    assert tables.splitlines()[2].startswith("Machine: ")
    methods = yaml.safe_load(SMOKE.read_text())["benchmark"]["methods"]
    cpu = tables.split("## CPU")[1].split("## CUDA")[0]
    for method in methods:
        # name, its flags and tied batch sizes | mean ± σ | range | CV | agreement
        row = rf"`{re.escape(method)} -b \d+`[^|]* +\| [\d.]+ ± [\d.]+ +\| [\d.]+ … [\d.]+ +\| (?:[\d.]+%)?"
        row += r" +\| 100\.00%" if REGISTRY.parse(method).dtype == "fp32" else r" +\| [\d.]+%"  # int8: its own
        assert re.search(row, cpu), method
    if "cuda" not in os.environ.get("NERBENCH_DEVICES", ""):
        assert "cuda: not available (local lacks device cuda)" in tables
    assert (smoke["results"] / "verified.txt").is_file()


def test_summary_has_one_row_per_cell_with_statistics_and_environment(smoke):
    import pandas as pd

    summary = pd.read_csv(smoke["results"] / "summary.csv")
    config = yaml.safe_load(SMOKE.read_text())
    assert len(summary) == len(grid_of(config, devices=("cpu", "cuda")).cells)  # CPU-only methods: no CUDA rows
    measured = summary[summary["status"] == "ok"]
    assert len(measured) == len(grid_of(config, devices=("cpu",)).runnable())
    for column in (
        "mean",
        "stddev",
        "median",
        "min",
        "max",
        "user",
        "system",
        "agreement_pct",
        "f1",
        "pkg_torch",
        "pkg_onnxruntime-gpu",
        "cpu_model",
        "git_commit",
        "threads",
    ):
        assert column in summary.columns, column
    assert (measured[measured["dtype"] == "fp32"]["agreement_pct"] == 100).all()  # int8 reports its own
    assert (measured["f1"] > 0).all()
    skipped = summary[summary["status"] == Status.NOT_AVAILABLE]
    assert set(skipped["reason"]) <= {"local lacks device cuda", "local lacks CPU feature bf16"}, "what it lacks"


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


def replace_bytes(path: Path, data: bytes) -> None:
    """Rewrite a file in one step: other pytest workers run it meanwhile and must never read half of it."""
    temporary = path.with_name(f".{path.name}.edit")
    temporary.write_bytes(data)
    shutil.copymode(path, temporary)
    os.replace(temporary, path)


def test_editing_a_method_retimes_only_its_cells(smoke):
    script = REPO / "scripts" / "ort-hf.py"
    original, stat = script.read_bytes(), script.stat()
    try:
        # An edit: Snakemake compares checksums too, so touching the file alone would not count.
        replace_bytes(script, original + b"# edited\n")
        done = run_snakemake(smoke["workdir"], "-n", "--cores", "1")
    finally:
        replace_bytes(script, original)
        os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    jobs = planned_jobs(done.stdout)
    assert jobs["benchmark_cell"] == 2 and jobs["check_cell"] == 2
    planned_cells = set(re.findall(r"output: results/smoke/cells/([\w@+-]+)/", done.stdout))
    assert planned_cells == {"ort-hf"}


def test_nothing_left_to_do_after_the_smoke_run(smoke):
    done = run_snakemake(smoke["workdir"], "-n", "--cores", "1")
    assert "Nothing to be done" in done.stdout + done.stderr


def schema_leaves(schema, path=()):
    """Every settable key of the config schema, as a path of keys."""
    properties = schema.get("properties", {})
    if not properties:
        yield path
    for name, subschema in properties.items():
        yield from schema_leaves(subschema, path + (name,))


SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
# Siblings a leaf needs so that its own error is the first one (hub needs both id and revision).
COMPLETE = {("model", "hub"): {"id": "dslim/bert-base-NER", "revision": "0" * 40}}


@pytest.mark.parametrize("leaf", list(schema_leaves(SCHEMA)), ids=".".join)
def test_every_config_key_rejects_a_wrong_type_naming_the_key(tmp_path, leaf):
    override = node = {}
    for depth, name in enumerate(leaf[:-1]):
        node[name] = dict(COMPLETE.get(leaf[: depth + 1], {}))
        node = node[name]
    node[leaf[-1]] = {"not": "a valid value"}
    error = config_error_of(override, tmp_path)
    assert error is not None and error.startswith(f"nerbench: config error: {'.'.join(leaf)}: "), error


def test_several_machines_locally_each_get_their_grid_and_a_side_by_side_table(smoke_clone, tmp_path):
    """Machines without a partition run where Snakemake runs: their cells, rooflines and tables
    are kept apart under results/machines/<name>/, and one table puts their best cells side by side."""
    settings = yaml.safe_load(SMOKE.read_text())
    settings["results"] = "results/machines-local"
    settings["machines"] = [{"name": "first", "devices": ["cpu"]}, {"name": "second", "devices": ["cpu"]}]
    settings["benchmark"].update(methods=["ort-lean", "onnxruntime-ner"], batch_sizes=[4])
    config = tmp_path / "machines.yaml"
    config.write_text(yaml.safe_dump(settings))
    run_snakemake(smoke_clone["workdir"], "--cores", "2", configfile=config)
    results = smoke_clone["workdir"] / "results" / "machines-local"
    for machine in ("first", "second"):
        assert (results / "machines" / machine / "roofline.json").is_file()
        for method in ("ort-lean", "onnxruntime-ner"):
            record = read_json(results / "machines" / machine / "cells" / method / "cpu-bs4.json")
            assert record["status"] == "ok" and record["cell"]["machine"] == machine
    tables = (results / "tables.md").read_text()
    assert "## Machine `first`" in tables and "## Machine `second`" in tables
    side_by_side = tables.split("## Machines side by side")[1]
    assert "| first CPU" in side_by_side and "second CPU" in side_by_side
    assert set(read_summary(results / "summary.csv")["machine"]) == {"first", "second"}
    environments = read_json(results / "environment.json")
    assert set(environments) == {"first", "second"}, "the environment is kept per machine"
    # A third machine: only its cells and its roofline are timed; the others' stay as they are.
    settings["machines"].append({"name": "third", "devices": ["cpu"]})
    config.write_text(yaml.safe_dump(settings))
    done = run_snakemake(smoke_clone["workdir"], "-n", "--cores", "2", configfile=config)
    jobs = planned_jobs(done.stdout)
    assert jobs["benchmark_cell"] == 2 and jobs["roofline"] == 1, jobs
    assert set(re.findall(r"output: results/machines-local/machines/(\w+)/cells/", done.stdout)) == {"third"}


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
