"""The three classes of files and their re-run rules (docs/contributing.md, nerbench.sources): timed
code re-times its methods' cells, the timing harness every cell, analysis only the steps that
import it; each rule's inputs follow what its code imports."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REGISTRY, REPO, SMOKE, STAGES, grid_of, plan_after_edit, planned_jobs
from nerbench import sources

PYTHON_PROGRAMS = {name: entry["program"] for name, entry in REGISTRY.methods.items() if not entry["built"]}
HARNESS_ONLY = {
    "workflow/scripts/timing/run_cell.py",
    "workflow/scripts/timing/host_load.py",
    "workflow/scripts/timing/gpu_memory.py",
    "workflow/scripts/timing/environment.py",
    "scripts/ort_dylib.py",
}


def test_a_methods_timed_code_is_its_program_and_every_module_it_imports():
    for name, program in PYTHON_PROGRAMS.items():
        found = set(sources.code_dependencies(program))
        assert program in found and "scripts/nerlib/frame.py" in found, name
        # The input rule reads a file beside it: the scanner counts the file, as the cells must.
        assert "scripts/nerlib/positions.json" in found, name
        assert not any(path.startswith("workflow/") for path in found), (name, found)
    assert "scripts/nerlib/hf.py" in sources.dependencies("scripts/baseline.py")
    assert "scripts/nerlib/hf.py" not in sources.dependencies("scripts/ort-lean.py")


def test_the_harness_is_small_apart_and_leaves_out_the_versioned_record():
    harness = set(sources.harness_files())
    assert harness >= HARNESS_ONLY
    assert "workflow/scripts/timing/speed_probe.py" in harness  # run as a subprocess, found by its name
    assert "workflow/nerbench/record.py" not in harness  # versioned: older records stay valid
    assert "workflow/nerbench/record.py" in sources.dependencies(sources.HARNESS[0])
    # Nothing of the grid model, the registry or the report: editing those re-times no cell.
    for module in ("grid.py", "registry.py", "config.py", "trust.py", "stats.py", "sources.py"):
        assert f"workflow/nerbench/{module}" not in harness, module
    assert not any(path.startswith(("workflow/scripts/report/", "workflow/scripts/checks/")) for path in harness)
    assert len(harness) <= 14, harness


def every_step() -> list[str]:
    return sorted(
        str(path.relative_to(REPO))
        for stage in STAGES
        for path in (REPO / "workflow/scripts" / stage).glob("*.py")
        if not path.is_symlink()  # each stage's link to common.py
    )


@pytest.mark.parametrize("step", every_step())
def test_each_step_depends_on_itself_and_on_what_it_imports(step):
    found = sources.dependencies(step)
    assert step in found
    text = (REPO / step).read_text()
    for module in re.findall(r"^\s*from nerbench\.(\w+) import", text, re.M):
        assert f"workflow/nerbench/{module}.py" in found, (step, module)
    for module in re.findall(r"^\s*from nerlib\.(\w+) import", text, re.M):
        assert f"scripts/nerlib/{module}.py" in found, (step, module)
    if "from nerbench.registry import" in text:
        assert "workflow/methods.yaml" in found, step


def test_a_module_that_names_a_file_in_a_docstring_does_not_depend_on_it(tmp_path, monkeypatch):
    folder = REPO / "workflow" / "scripts" / "report"
    module = folder / ".probe_scanner_test.py"
    module.write_text('"""Reads workflow/methods.yaml, they say."""\nNAME = "scripts/nerlib/positions.json"\n')
    try:
        found = sources.read_files(module)
    finally:
        module.unlink()
    assert [str(path.relative_to(REPO)) for path in found] == ["scripts/nerlib/positions.json"]


# ---- edits on the finished smoke grid: the dry run's jobs per class of file ---------------------


def edited_plan(smoke, path: Path) -> dict[str, int]:
    """The jobs a dry run plans after a content edit of `path`."""
    jobs = planned_jobs(plan_after_edit(smoke["workdir"], path).stdout)
    print(f"{path.relative_to(REPO)}: {jobs}", file=sys.stderr)
    return jobs


def smoke_cells(smoke) -> list:
    grid = grid_of(yaml.safe_load(SMOKE.read_text()), smoke["workdir"], devices=("cpu",))
    return grid.runnable()


@pytest.mark.e2e
def test_editing_timed_code_retimes_the_cells_of_the_methods_that_import_it(smoke):
    edited = "scripts/nerlib/tokenizer.py"
    importing = [
        cell
        for cell in smoke_cells(smoke)
        if not cell.method.built and edited in sources.dependencies(cell.method.executable)
    ]
    assert importing and len(importing) < len(smoke_cells(smoke))
    jobs = edited_plan(smoke, REPO / edited)
    assert jobs.get("benchmark_cell") == len(importing), jobs
    assert "roofline" not in jobs and "build_model" not in jobs, jobs


@pytest.mark.e2e
def test_editing_the_timing_harness_retimes_every_cell(smoke):
    jobs = edited_plan(smoke, REPO / "workflow/scripts/timing/gpu_memory.py")
    assert jobs.get("benchmark_cell") == len(smoke_cells(smoke)), jobs
    assert "build_model" not in jobs and "reference_predictions" not in jobs, jobs


@pytest.mark.e2e
@pytest.mark.parametrize(
    "edited, steps",
    [
        ("workflow/nerbench/stats.py", {"summary", "tables"}),
        ("workflow/scripts/corpus/inspect_corpus.py", {"inspect_corpus", "tables"}),
        ("workflow/nerbench/score.py", {"check_cell", "summary", "tables"}),
    ],
)
def test_editing_analysis_reruns_its_steps_and_times_no_cell(smoke, edited, steps):
    jobs = edited_plan(smoke, REPO / edited)
    assert steps <= set(jobs), jobs
    assert "benchmark_cell" not in jobs and "roofline" not in jobs, jobs


def test_the_rules_take_their_steps_inputs_from_what_the_steps_import():
    """Every rule that runs a step of workflow/scripts/ takes it through step() (its imports as
    inputs), never as a bare path."""
    for rules in (REPO / "workflow" / "rules").glob("*.smk"):
        text = rules.read_text()
        assert not re.search(r"script=step\(", text), rules.name
        for name in re.findall(r'\*\*step\("([\w/]+\.py)"\)', text):
            assert (REPO / "workflow/scripts" / name).is_file(), (rules.name, name)


def test_a_step_runs_by_hand_from_anywhere(tmp_path):
    done = subprocess.run(
        [sys.executable, REPO / "workflow/scripts/report/compare.py", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "Compare two results directories" in done.stdout, done.stderr
