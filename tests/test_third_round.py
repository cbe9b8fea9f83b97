"""The third hardening round: one test per defect a careful read found (each failed before its
fix), in the order of the issue that listed them."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import (
    REGISTRY,
    REPO,
    SMOKE,
    TRICKY,
    config_error_of,
    planned_jobs,
    poll_until,
    read_json,
    run_cell_arguments,
    run_rust,
    run_snakemake,
    workflow_environment,
)
from synthetic import build, step_commands

STEPS = REPO / "workflow" / "scripts"


def run_step(name: str, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(STEPS / name), *map(str, args)], capture_output=True, text=True, cwd=cwd)


# 5. The Rust binary loads the wheel's library, and nothing a working directory or a library's
#    ancestors happen to hold ----------------------------------------------------------------------


def environment_without_ort_dylib_path() -> dict:
    env = {key: value for key, value in os.environ.items() if key != "ORT_DYLIB_PATH"}
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}


def test_a_folder_named_onnxruntime_where_the_binary_runs_is_not_loaded(smoke_models, tmp_path):
    fake = tmp_path / "onnxruntime" / "capi"
    fake.mkdir(parents=True)
    (tmp_path / "onnxruntime" / "__init__.py").write_text("")
    (fake / "libonnxruntime.so.1.99.0").write_bytes(b"not a library")
    done = subprocess.run(
        [str(smoke_models["rust"]), "-m", str(smoke_models["onnx"]), str(TRICKY)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment_without_ort_dylib_path(),
    )
    assert done.returncode == 0 and "1.99.0" not in done.stderr, done.stderr


def test_a_library_outside_a_wheel_loads_nothing_from_its_ancestors(smoke_models, tmp_path):
    import ort_dylib

    library = tmp_path / "opt" / "ort" / "lib" / ort_dylib.library_path().name
    library.parent.mkdir(parents=True)
    library.symlink_to(ort_dylib.library_path())
    planted = tmp_path / "opt" / "nvidia" / "cuda_runtime" / "lib" / "libcudart.so.13"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"not a library")
    done = run_rust(
        smoke_models["rust"],
        "-d",
        "cuda",
        "-m",
        smoke_models["onnx"],
        TRICKY,
        check=False,
        env={"ORT_DYLIB_PATH": str(library)},
    )
    assert done.returncode != 0 and str(planted) not in done.stderr, done.stderr


# 6. The interpreter is part of the environment's key; versions sort as numbers; a non-UTF-8
#    argument to the Rust binary is one line -------------------------------------------------------


def test_a_venv_is_keyed_by_the_interpreter_that_builds_it():
    """HOST_TORCH=1 takes the interpreter's own site-packages (its torch): another interpreter,
    even of the same version, is another environment."""

    def venv_of(python: str) -> str:
        command = ["make", "--no-print-directory", "-C", str(REPO), "-n", "venv", "HOST_TORCH=1", f"PYTHON={python}"]
        done = subprocess.run(command, capture_output=True, text=True)
        return next(line for line in done.stdout.splitlines() if "install-venv" in line).split()[1]

    base = Path(sys.base_prefix) / "bin" / "python3"
    assert str(base) != sys.executable  # a virtual environment: another interpreter, its own site-packages
    assert venv_of(str(base)) != venv_of(sys.executable)


def test_the_newest_library_is_chosen_by_version_number(tmp_path, monkeypatch):
    import importlib.util

    import ort_dylib

    capi = tmp_path / "onnxruntime" / "capi"
    capi.mkdir(parents=True)
    for version in ("1.9.0", "1.31.1", "1.22.0"):
        (capi / f"libonnxruntime.so.{version}").write_bytes(b"")
    spec = importlib.util.spec_from_loader("onnxruntime", loader=None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path / "onnxruntime")]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    assert ort_dylib.library_path().name == "libonnxruntime.so.1.31.1"


def test_a_non_utf8_argument_to_the_rust_binary_is_one_line(smoke_models):
    done = subprocess.run([str(smoke_models["rust"]), b"corpus-\xff.txt"], capture_output=True)
    stderr = done.stderr.decode()
    assert done.returncode == 1 and stderr.count("\n") == 1, stderr
    assert stderr.startswith("onnxruntime-ner: error: argument corpus-\ufffd.txt is not UTF-8")


# 7. A user's files cannot be taken for the pipeline's ---------------------------------------------


@pytest.mark.e2e
def test_a_users_corpus_in_data_is_untouched_when_the_corpus_rule_is_newer(tmp_path):
    corpus = tmp_path / "data" / "news-2024.txt"
    corpus.parent.mkdir()
    corpus.write_text("Peter Blackburn visited Brussels .\n")
    config = tmp_path / "news.yaml"
    config.write_text(yaml.safe_dump({"corpus": {"file": "data/news-2024.txt"}, "results": "results/news"}))
    rule_script = STEPS / "corpus/conll.py"
    stat = rule_script.stat()
    os.utime(corpus, (stat.st_atime - 3600, stat.st_mtime - 3600))  # the rule's script is newer (a git pull)
    plan = run_snakemake(tmp_path, "-n", "--cores", "1", configfile=config)
    assert "conll_corpus" not in planned_jobs(plan.stdout), plan.stdout[-3000:]
    run_snakemake(tmp_path, "--cores", "1", "results/news/corpus.json", configfile=config)
    assert corpus.read_text() == "Peter Blackburn visited Brussels .\n"
    assert json.loads((tmp_path / "results/news/corpus.json").read_text())["lines"] == 1


@pytest.mark.parametrize(
    "override,message",
    [
        ({"corpus": {"file": "data/test-500.txt"}}, "corpus.file: data/test-500.txt: inside the CoNLL-2003 corpus"),
        (
            {"corpus": {"file": "./data/conll2003/mine.txt"}},
            "corpus.file: ./data/conll2003/mine.txt: inside data/conll",
        ),
        (
            {"model": {"source": "local", "local": {"path": "data/models/mine"}}},
            "model.local.path: data/models/mine: inside data/models/, which the pipeline writes",
        ),
        ({"corpus": {"file": "results/corpus.txt"}}, "corpus.file: results/corpus.txt: inside results/"),
    ],
    ids=["conll name", "conll folder", "models folder", "results folder"],
)
def test_a_user_path_where_the_pipeline_writes_is_refused_in_one_line(override, message, tmp_path):
    error = config_error_of(override, tmp_path)
    assert error and message in error and "\n" not in error, error


# 8. and 9. A cell under nohup survives a hang-up; a killed run_cell takes its children with it ----


def start_cell(tmp_path, smoke_models, *prefix, method="ort-lean", runs=10):
    model = smoke_models[REGISTRY.parse(method).model_kind]
    args = run_cell_arguments(tmp_path, method, model, TRICKY, 1, runs=runs)
    return subprocess.Popen(
        [*prefix, sys.executable, str(STEPS / "timing/run_cell.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        cwd=tmp_path,
    )


def timed_program_pids(tmp_path, program="ort-lean.py") -> list[int]:
    """The timed program's processes of this test (their command names this test's folder)."""
    found = subprocess.run(["pgrep", "-f", f"{program} -d cpu .* -o {tmp_path}"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_a_cell_under_nohup_is_timed_to_the_end_after_a_hang_up(smoke_models, tmp_path):
    process = start_cell(tmp_path, smoke_models, "nohup", runs=3)
    assert poll_until(lambda: timed_program_pids(tmp_path), 60), "the timed program never started"
    os.killpg(process.pid, signal.SIGHUP)  # what a closed terminal sends its session
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output[-2000:]
    assert json.loads((tmp_path / "cell.json").read_text())["status"] == "ok"


def test_a_killed_run_cell_leaves_no_hyperfine_or_timed_program_behind(smoke_models, tmp_path):
    """A run of baseline.py takes seconds (it imports torch): its process must go at once, not
    when hyperfine next writes to the dead run_cell's pipe."""
    process = start_cell(tmp_path, smoke_models, method="baseline")
    try:
        assert poll_until(lambda: timed_program_pids(tmp_path, "baseline.py"), 60), "the timed program never started"
        process.kill()  # SIGKILL: no handler runs
        process.communicate(timeout=30)
        # 3 s: under another pytest worker's load, yet well short of a run of baseline.py.
        gone = poll_until(lambda: not timed_program_pids(tmp_path, "baseline.py"), 3)
        assert gone, "the timed program outlived run_cell"
        hyperfines = subprocess.run(["pgrep", "-f", f"hyperfine .*{tmp_path}"], capture_output=True, text=True)
        assert not hyperfines.stdout.strip(), "hyperfine outlived run_cell"
        assert not (tmp_path / "cell.json").exists()
    finally:
        subprocess.run(["pkill", "-KILL", "-f", str(tmp_path)])


# 10. Predictions and phases are the timed rule's outputs: a stale one is removed, a late one waited for


def test_a_failed_cell_leaves_no_stale_predictions_or_phases(smoke_clone, tmp_path):
    settings = yaml.safe_load(SMOKE.read_text())
    settings["results"] = "results/stale"
    settings["benchmark"].update(methods=["ort-lean"], devices=["cuda"], batch_sizes=[4])
    config = tmp_path / "stale.yaml"
    config.write_text(yaml.safe_dump(settings))
    results = smoke_clone["workdir"] / "results" / "stale"
    stale = {
        kind: results / f"{kind}/ort-lean/cuda-bs4.{ext}"
        for kind, ext in (("predictions", "jsonl"), ("phases", "json"))
    }
    for path in stale.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("from an earlier run\n")
    done = run_snakemake(
        smoke_clone["workdir"],
        "--cores",
        "1",
        "--forcerun",
        "benchmark_cell",
        "--keep-going",
        configfile=config,
        check=False,
        env={"NERBENCH_DEVICES": "cpu,cuda"},
    )
    assert read_json(results / "cells/ort-lean/cuda-bs4.json")["status"] == "failed", done.stderr[-3000:]
    for path in stale.values():
        assert not path.exists() or path.read_text() != "from an earlier run\n", path


# 11. When every cell fails, the tables still list every failure --------------------------------


def test_a_grid_whose_every_cell_failed_gets_tables_that_list_each_failure(tmp_path):
    grid = build(tmp_path, {"benchmark": {"methods": ["ort-lean", "baseline"], "batch_sizes": [1, 8]}})
    for cell in grid.runnable():
        path = tmp_path / cell.path("result")
        record = json.loads(path.read_text())
        record.update(status="failed", reason="hyperfine is not on the PATH", results=[])
        path.write_text(json.dumps(record))
    for name, command in step_commands(grid, tmp_path).items():
        if name in ("summary", "tables"):
            done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
            assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    tables = (tmp_path / grid.results("tables.md")).read_text()
    failed = tables.split("## Failed cells")[1]
    for cell in grid.runnable():
        assert f"`{cell.method}` {cell.device} bs {cell.batch_size}: failed: hyperfine is not on the PATH" in failed


# 4. Clones sharing a cargo target folder each get the binary of their own sources ---------------


def test_clones_sharing_a_target_folder_each_copy_their_own_binary(tmp_path):
    """The mechanism of the build_rust rule, on a crate that compiles in a second (a library that
    says which clone, a binary that prints it): clone B builds, then clone A (another library),
    then B with only its binary's source edited (Cargo alone finds B's library fresh, A's record,
    and links A's), B again, then C, a fresh clone of B's sources, which compiles nothing."""
    shared = tmp_path / "shared-target"
    shared.mkdir()
    main = 'fn main() { println!("clone {}", tiny::says()); }\n'
    for clone in ("a", "b", "c"):
        (tmp_path / clone / "src").mkdir(parents=True)
        (tmp_path / clone / "Cargo.toml").write_text('[package]\nname = "tiny"\nversion = "0.1.0"\nedition = "2021"\n')
        says = "a" if clone == "a" else "b"
        (tmp_path / clone / "src" / "lib.rs").write_text(f'pub fn says() -> &\'static str {{ "{says}" }}\n')
        (tmp_path / clone / "src" / "main.rs").write_text(main + ("// edited\n" if clone == "c" else ""))
        subprocess.run(
            ["cargo", "generate-lockfile", "--offline"], cwd=tmp_path / clone, check=True, capture_output=True
        )
        (tmp_path / clone / "target").symlink_to(shared)
    compiled = []
    for step, clone in enumerate(("b", "a", "b", "b", "c")):
        if step == 2:
            (tmp_path / "b" / "src" / "main.rs").write_text(main + "// edited\n")
        out = tmp_path / f"{clone}.bin"
        sources = [tmp_path / clone / name for name in ("Cargo.lock", "src/lib.rs", "src/main.rs")]
        done = subprocess.run(
            [STEPS / "timing/build_rust.sh", tmp_path / clone / "Cargo.toml", "tiny", out, *sources],
            check=True,
            capture_output=True,
            text=True,
        )
        says = "a" if clone == "a" else "b"
        assert subprocess.run([out], capture_output=True, text=True).stdout == f"clone {says}\n", step
        compiled.append("Compiling tiny" in done.stderr)
    # B's sources again, in B and then in a fresh clone: nothing to compile.
    assert compiled == [True, True, True, False, False]


def test_a_compile_error_fails_the_build_once(tmp_path):
    """A crate that does not compile: the step fails with cargo's error, said once (not cleaned
    and built a second time as if the build had been another clone's)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "broken"\nversion = "0.1.0"\nedition = "2021"\n')
    (tmp_path / "src" / "main.rs").write_text('fn main() { let x: u8 = "no"; }\n')
    subprocess.run(["cargo", "generate-lockfile", "--offline"], cwd=tmp_path, check=True, capture_output=True)
    done = subprocess.run(
        [STEPS / "timing/build_rust.sh", tmp_path / "Cargo.toml", "broken", tmp_path / "out", tmp_path / "src/main.rs"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and not (tmp_path / "out").exists()
    assert done.stderr.count("Compiling broken") == 1 and "mismatched types" in done.stderr, done.stderr


# 12. Every command the README gives runs as written ----------------------------------------------

README = (REPO / "README.md").read_text()
TASK_TABLE = README.split("| task | command |")[1].split("\n\n")[0]
PROGRAMS = ("make", "snakemake", "python", "snakefmt", "ruff", "cargo")
COMMANDS = [
    command
    for row in TASK_TABLE.splitlines()[2:]
    for command in re.findall(r"`([^`]+)`", row.split("|")[2])
    if command.split()[0] in PROGRAMS  # not `MACHINE=name` or `-n`, which complete another command
]
# Forms run for real elsewhere (too long here, or needing results first), by what runs them.
RUN_ELSEWHERE = {
    "make test": ".ci/run",
    "make check": "make test",
    "make test-slow": "tests/test_model.py, its own target",
    "make test-install": "tests/test_install.py, its own target",
    "make fuzz": "tests/test_fuzz.py, its own target",
    "make scale": "tests/test_scale.py",
    "make families": "tests/test_families.py (every family through every method)",
    "make report": "tests/test_hardening.py::test_report_builds",
    "snakemake --cores 1 --report results/report.html": "tests/test_hardening.py::test_report_builds",
    "make compare A=results/old B=results": "tests/test_hardening.py::test_compare_prints_ratios",
    "python workflow/scripts/report/compare.py A B": "tests/test_hardening.py::test_compare_prints_ratios",
    "make wheels WHEELS=dir [HOST_TORCH=1]": "tests/test_install.py",
    "make bench WHEELS=dir": "tests/test_install.py",
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
