"""The second hardening round: one test per defect a careful read found (each failed before its
fix), in the order of the issue that listed them."""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import (
    PYTHON_METHODS,
    REPO,
    TRICKY,
    Run,
    run_cell_arguments,
    run_method,
    run_rust,
    run_snakemake,
    small_grid,
)

LEAN = "scripts/ort-lean.py"


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


# 1. Unicode line breaks inside a corpus line ----------------------------------------------------


def test_json_lines_are_split_at_newline_only(tmp_path):
    from nerlib.output import format_entities, read_json_lines

    records = [[{"label": "PER", "start": 0, "end": 15, "text": f"Peter{brk}Blackburn"}] for brk in "\u2028\u2029\x85"]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(format_entities(r) + "\n" for r in records), encoding="utf-8")
    assert "\u2028" in path.read_text(encoding="utf-8")  # written raw, as serde_json does
    assert read_json_lines(path) == records


def test_a_line_break_inside_a_line_is_checked_without_error(smoke_models, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("Peter\u2028Blackburn visited Brussels .\nEU rejects\u0085German call .\n", encoding="utf-8")
    predictions = tmp_path / "rust.jsonl"
    run_rust(smoke_models["rust"], "-m", smoke_models["onnx"], "-o", predictions, corpus)
    reference, gaps = tmp_path / "reference.jsonl", tmp_path / "gaps.jsonl"
    subprocess.run(
        [sys.executable, REPO / "workflow/scripts/checks/reference.py", "--program", LEAN, "-m", smoke_models["onnx"]]
        + ["--predictions", reference, "--gaps", gaps, corpus],
        check=True,
        cwd=REPO,
    )
    cell = tmp_path / "cell.json"
    cell.write_text(json.dumps({"status": "ok", "cell": {}}))
    out = tmp_path / "check.json"
    done = subprocess.run(
        [sys.executable, REPO / "workflow/scripts/checks/check_cell.py", "--cell", cell, "--predictions", predictions]
        + ["--reference", reference]
        + ["--gaps", gaps, "--corpus", corpus, "--dtype", "fp32", "--device", "cpu", "--out", out],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    check = json.loads(out.read_text())
    assert check["status"] == "ok" and check["agreement_pct"] == 100


# 2. model.allow_pickle: true also loads safetensors -----------------------------------------------


def test_allow_pickle_still_loads_a_safetensors_model(smoke_models, tmp_path):
    assert not list(smoke_models["torch"].glob("*.bin"))
    done = subprocess.run(
        [sys.executable, REPO / "workflow/scripts/model/build_model.py", "--source", "local", "--allow-pickle"]
        + ["--path", smoke_models["torch"], "--out", tmp_path / "out"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "model.safetensors").is_file()


# 3. and 4. The Makefile: the results path quoted, offline only where meant -----------------------


def make(*args, **kwargs):
    venv = Path(sys.executable).parent.parent
    command = ["make", "--no-print-directory", "-C", str(REPO), f"VENV={venv}", *args]
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


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
    machines = [{"name": "first", "devices": ["cpu"]}, {"name": "second", "devices": ["cpu"]}]
    config.write_text(yaml.safe_dump({"machines": machines, "benchmark": {"methods": ["ort-lean"]}}))
    cell = ["METHOD=ort-lean", "DEVICE=cpu", "BS=8"]
    done = make("cell", f"CONFIG={config}", "SNAKEMAKE_ARGS=-n", "MACHINE=second", *cell, cwd=tmp_path)
    assert done.returncode == 0 and "results/machines/second/cells/ort-lean/cpu-bs8.json" in done.stdout, done.stderr
    done = make("cell", f"CONFIG={config}", "SNAKEMAKE_ARGS=-n", "MACHINE=third", *cell, cwd=tmp_path)
    assert done.returncode != 0 and "nerbench: config error: MACHINE=third: not a machine of the config" in done.stderr


def test_only_the_tests_run_offline():
    """The hub source downloads under `make bench`; the tests never reach the hub."""
    bench, test = make("-n", "bench"), make("-n", "test")
    assert "snakemake --cores" in bench.stdout and "HF_HUB_OFFLINE" not in bench.stdout
    assert "HF_HUB_OFFLINE=1" in test.stdout


# 5. and 8. Whole-number floats and braces: config errors (tests/test_workflow.py, BAD_CONFIGS) ----
# 6. hyperfine missing ----------------------------------------------------------------------------


def run_cell(tmp_path, corpus, *, env=None, cwd=None, method="ort-lean", model):
    out = tmp_path / "cell.json"
    args = run_cell_arguments(tmp_path, method, model, corpus, timeout_s=120)
    done = subprocess.run(
        [sys.executable, REPO / "workflow/scripts/timing/run_cell.py", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    return done, (json.loads(out.read_text()) if out.is_file() else None)


def test_a_host_without_hyperfine_gets_a_failed_cell_record(smoke_models, tmp_path):
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    assert shutil.which("hyperfine", path=env["PATH"]) is None
    done, record = run_cell(tmp_path, TRICKY, env=env, model=smoke_models["onnx"])
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert record["status"] == "failed" and "hyperfine is not on the PATH" in record["reason"]


def test_a_slurm_cell_in_another_partitions_job_is_refused(smoke_models, tmp_path):
    """Its job must run on its machine's partition: another partition's nodes are another machine."""
    machine = {"name": "epyc", "partition": "cpu,cpu-long", "cpus": 2}
    args = run_cell_arguments(tmp_path, "ort-lean", smoke_models["onnx"], TRICKY, machines=[machine])
    env = {**os.environ, "SLURM_JOB_ID": "77", "SLURM_JOB_PARTITION": "gpu"}
    done = subprocess.run(
        [sys.executable, REPO / "workflow/scripts/timing/run_cell.py", *args], env=env, capture_output=True
    )
    record = json.loads((tmp_path / "cell.json").read_text())
    assert done.returncode == 0 and record["status"] == "failed", done.stderr
    assert (
        record["reason"] == "machine epyc runs on SLURM partition cpu,cpu-long, and this job 77 runs in partition gpu"
    )


# 7. Phases: written atomically; a failed cell's or an unreadable phases file gives no columns -----


def test_the_tables_take_phases_only_from_cells_that_ran(tmp_path):
    from gather import cell_row

    grid = small_grid(tmp_path, batch_sizes=[1, 2, 3])
    good = json.dumps({"phases": {"inference": 0.5}})
    for cell, (status, phases) in zip(grid.cells, [("ok", good), ("failed", good), ("ok", good[:12])], strict=True):
        result = {"status": status, "results": [{"mean": 1.0, "times": [1.0]}], "cell": {"command": "x"}}
        for kind, text in (("result", json.dumps({**result, "environment": {}})), ("phases", phases)):
            Path(cell.path(kind)).parent.mkdir(parents=True, exist_ok=True)
            Path(cell.path(kind)).write_text(text)
        Path(cell.path("check")).parent.mkdir(parents=True, exist_ok=True)
        Path(cell.path("check")).write_text(json.dumps({"status": "ok", "agreement_pct": 100.0}))
    ran, stale, truncated = (cell_row(cell, {}, {}) for cell in grid.cells)
    assert ran.phase_inference == 0.5
    assert stale.phase_inference is None
    assert truncated.phase_inference is None


# 9. A corpus whose name starts with "-" --------------------------------------------------------


def test_a_corpus_named_like_an_option_is_read_by_every_program(smoke_models, tmp_path):
    shutil.copy(TRICKY, tmp_path / "-x.txt")
    done, record = run_cell(tmp_path, "-x.txt", cwd=tmp_path, model=smoke_models["onnx"])
    assert record["status"] == "ok", done.stdout + done.stderr
    lean = run_method(LEAN, "-m", smoke_models["onnx"], "-o", tmp_path / "lean.jsonl", "--", "-x.txt", cwd=tmp_path)
    rust = run_rust(smoke_models["rust"], "-m", smoke_models["onnx"], "-o", "rust.jsonl", "--", "-x.txt", cwd=tmp_path)
    assert lean.returncode == rust.returncode == 0
    assert (tmp_path / "rust.jsonl").read_bytes() == (tmp_path / "lean.jsonl").read_bytes()


@pytest.mark.e2e
def test_a_corpus_named_like_an_option_passes_the_config_check(tmp_path):
    (tmp_path / "-corpus.txt").write_text("Peter Blackburn\n")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"corpus": {"file": "-corpus.txt"}, "results": "-results"}))
    run_snakemake(tmp_path, "--cores", "1", "./-results/corpus.json", configfile=config)
    assert json.loads((tmp_path / "-results" / "corpus.json").read_text())["lines"] == 1


# 10. An empty corpus given to a method by hand -------------------------------------------------


@pytest.mark.parametrize("method", [*PYTHON_METHODS, "onnxruntime-ner"])
def test_an_empty_corpus_gives_an_empty_predictions_file_in_every_method(
    method, smoke_models, method_error_runs, tmp_path
):
    if method == "onnxruntime-ner":
        corpus, out = tmp_path / "empty.txt", tmp_path / "p.jsonl"
        corpus.write_bytes(b"")
        done = run_rust(smoke_models["rust"], "-m", smoke_models["onnx"], "-o", out, corpus, check=False)
        run = Run(done.returncode, done.stderr, out)
    else:
        run = method_error_runs[method, "empty corpus"]
    assert run.status == 0 and "Traceback" not in run.stderr, run.stderr
    assert run.output.read_bytes() == b""


# 11. A write that fails leaves nothing behind ----------------------------------------------------


def small_file_limit():
    """In the child: files may not grow past 200 bytes (as on a full disk), and the write fails
    with EFBIG rather than the signal ending the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))


@pytest.mark.parametrize("method", ["ort-lean", "onnxruntime-ner"])
def test_a_failing_write_leaves_no_partial_file(method, smoke_models, tmp_path):
    out = tmp_path / "out" / "p.jsonl"
    args = ["-m", smoke_models["onnx"], "-o", out, TRICKY]
    if method == "onnxruntime-ner":
        done = run_rust(smoke_models["rust"], *args, check=False, preexec_fn=small_file_limit)
    else:
        done = run_method(LEAN, *args, check=False, preexec_fn=small_file_limit)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "p.jsonl" in done.stderr.strip().splitlines()[-1]
    assert list(out.parent.iterdir()) == []


def test_the_atomic_writer_removes_its_temporary_file_on_any_error(tmp_path):
    from nerlib.atomic import atomic_file

    with pytest.raises(RuntimeError), atomic_file(tmp_path / "r.json") as stream:
        stream.write("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


# 12. Two builds of the shared virtual environment at once ------------------------------------------


def tiny_wheel(folder: Path) -> Path:
    """A real, minimal wheel, so that the install needs no package index."""
    wheel = folder / "nerbench_probe-1.0-py3-none-any.whl"
    info = "nerbench_probe-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("nerbench_probe.py", "ANSWER = 42\n")
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: nerbench-probe\nVersion: 1.0\n")
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def test_two_concurrent_venv_builds_take_turns(tmp_path):
    tiny_wheel(tmp_path)
    (tmp_path / "lock.txt").write_text("nerbench-probe==1.0\n")
    (tmp_path / "nodeps.txt").write_text("")
    venv = tmp_path / "venv"
    command = [REPO / "tools/install-venv", venv, tmp_path / "lock.txt", tmp_path / "nodeps.txt", venv / ".installed"]
    env = {**os.environ, "WHEELS": str(tmp_path), "PYTHON": sys.executable}
    builds = [
        subprocess.Popen(list(map(str, command)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for _ in range(2)
    ]
    outputs = [build.communicate(timeout=300)[0] for build in builds]
    assert [build.returncode for build in builds] == [0, 0], outputs
    assert sum("creating" in output for output in outputs) == 1, outputs
    assert sum("being built by another process" in output for output in outputs) == 1, outputs
    probe = subprocess.run(
        [venv / "bin/python", "-c", "import nerbench_probe; print(nerbench_probe.ANSWER)"],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "42", probe.stderr
