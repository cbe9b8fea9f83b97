"""Bad input, faults and interruptions: each gives one clear line or keeps every other result."""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from conftest import (
    REPO,
    TRICKY,
    config_error_of,
    planned_jobs,
    poll_until,
    process_running,
    read_json,
    run_cell_arguments,
    run_method,
    run_rust,
    run_snakemake,
    snakemake_command,
    workflow_environment,
)
from nerlib.output import read_json_lines

LEAN = "scripts/ort-lean.py"


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# ---- corpus --------------------------------------------------------------------------------

ALIGNED_CORPORA = {
    "windows line endings": b"EU rejects German call .\r\n\r\nPeter Blackburn\r\n",
    "byte-order mark": b"\xef\xbb\xbfEU rejects German call .\nPeter Blackburn\n",
    "tab-separated": b"EU\trejects\tGerman\tcall\nPeter\tBlackburn\n",
    "line of 10,000 characters": ("Germany " * 1250).encode() + b"\nPeter Blackburn\n",
}


@pytest.mark.parametrize("name", ALIGNED_CORPORA)
def test_awkward_corpora_give_line_aligned_predictions(name, smoke_models, tmp_path):
    corpus = write(tmp_path / "corpus.txt", ALIGNED_CORPORA[name])
    lines = corpus.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").split("\n")[:-1]
    run_method(LEAN, "-b", "2", "-m", smoke_models["onnx"], "-o", tmp_path / "lean.jsonl", corpus)
    rust = run_rust(
        smoke_models["rust"], "-b", "2", "-m", smoke_models["onnx"], "-o", tmp_path / "rust.jsonl", corpus, check=False
    )
    assert rust.returncode == 0, rust.stderr
    predicted = read_json_lines(tmp_path / "lean.jsonl")
    assert len(predicted) == len(lines)
    for line, entities in zip(lines, predicted, strict=True):
        for entity in entities:
            assert line[entity["start"] : entity["end"]] == entity["text"]
    assert (tmp_path / "rust.jsonl").read_bytes() == (tmp_path / "lean.jsonl").read_bytes()


REFUSED_CORPORA = {
    "empty": (b"", "no sentences"),
    "only blank lines": (b"\n  \n\t\n", "no sentences"),
    "invalid UTF-8": (b"fine\nstill fine\nbroken \xc3\x28 here\n", "corpus.txt:3: invalid UTF-8"),
}


@pytest.mark.parametrize("name", REFUSED_CORPORA)
def test_unusable_corpus_stops_the_run_before_any_job(name, tmp_path):
    """The config's validation reads the corpus as every method will (tests/test_workflow.py shows
    that Snakemake stops with the validation's one line before any job)."""
    data, message = REFUSED_CORPORA[name]
    corpus = write(tmp_path / "corpus.txt", data)
    error = config_error_of({"corpus": {"file": str(corpus)}}, tmp_path)
    assert error and "\n" not in error and "corpus.file" in error and message in error, error


def test_invalid_utf8_names_the_line_in_every_method(smoke_models, tmp_path):
    corpus = write(tmp_path / "c.txt", b"ok\n\xff\n")
    lean = run_method(LEAN, "-m", smoke_models["onnx"], corpus, check=False)
    rust = run_rust(smoke_models["rust"], "-m", smoke_models["onnx"], corpus, check=False)
    for done in (lean, rust):
        assert done.returncode != 0
        assert done.stderr.strip().endswith(f"{corpus}:2: invalid UTF-8 (byte 0xff)")


# ---- model files ---------------------------------------------------------------------------


def test_corrupt_onnx_model_is_named(smoke_models, tmp_path):
    broken = tmp_path / "onnx"
    shutil.copytree(smoke_models["onnx"], broken)
    write(broken / "model.onnx", (smoke_models["onnx"] / "model.onnx").read_bytes()[:1000])
    lean = run_method(LEAN, "-m", broken, TRICKY, check=False)
    rust = run_rust(smoke_models["rust"], "-m", broken, TRICKY, check=False)
    for done in (lean, rust):
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert f"{broken}/model.onnx: cannot load ONNX model" in done.stderr.strip().splitlines()[-1]


def test_truncated_safetensors_is_named(smoke_models, tmp_path):
    broken = tmp_path / "torch"
    shutil.copytree(smoke_models["torch"], broken)
    write(broken / "model.safetensors", (smoke_models["torch"] / "model.safetensors").read_bytes()[:100_000])
    done = run_method("scripts/baseline.py", "-m", broken, TRICKY, check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"{broken}/model.safetensors: cannot load model" in done.stderr.strip().splitlines()[-1]


# ---- shell safety --------------------------------------------------------------------------


@pytest.mark.e2e
def test_paths_with_spaces_quotes_and_semicolons_run_nothing_unintended(tmp_path):
    strange = tmp_path / 'we\'ird "dir"; touch PWNED'
    strange.mkdir()
    corpus = strange / "my corpus; rm -rf x.txt"
    corpus.write_text("Peter Blackburn visited Brussels .\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"corpus": {"file": str(corpus)}, "results": str(strange / "res ults")}))
    run_snakemake(tmp_path, "--cores", "1", str(strange / "res ults" / "corpus.json"), configfile=config)
    assert read_json(strange / "res ults" / "corpus.json")["lines"] == 1
    assert not list(tmp_path.rglob("PWNED")) and not (Path.cwd() / "PWNED").exists()


# ---- faults in cells -----------------------------------------------------------------------


def fault_config(tmp_path, name: str, **benchmark):
    """The smoke config (its model is built already) with a grid of its own, in results/NAME: a
    name no other test's cells have on their command lines."""
    settings = yaml.safe_load((REPO / "configs/smoke.yaml").read_text())
    settings["results"] = f"results/{name}"
    settings["benchmark"].update(warmup=0, runs=1, batch_sizes=[4], **benchmark)
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump(settings))
    return config


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this host has a GPU")
def test_a_failing_cell_keeps_the_others_is_listed_and_fails_the_run_at_the_end(smoke_clone, tmp_path):
    """CUDA forced on a host without a GPU: those cells fail, the CPU cells and tables survive."""
    config = fault_config(tmp_path, "failing", methods=["ort-lean", "onnxruntime-ner"], devices=["cpu", "cuda"])
    done = run_snakemake(
        smoke_clone["workdir"], "--cores", "1", configfile=config, check=False, env={"NERBENCH_DEVICES": "cpu,cuda"}
    )
    assert done.returncode != 0
    assert (
        "verify: the grid has problems" in done.stderr
        and "ort-lean -d cuda -b 4 on local: not checked: the cell failed" in done.stderr
    )
    results = smoke_clone["workdir"] / "results/failing"
    tables = (results / "tables.md").read_text()
    assert "## Failed cells" in tables and "logs/cells/ort-lean/cuda-bs4.log" in tables
    for method in ("ort-lean", "onnxruntime-ner"):
        assert read_json(results / f"cells/{method}/cpu-bs4.json")["status"] == "ok"
        failed = read_json(results / f"cells/{method}/cuda-bs4.json")
        assert failed["status"] == "failed" and "-d cuda" in failed["reason"]


def test_a_hung_cell_is_stopped_by_the_time_limit(smoke_clone, tmp_path):
    config = fault_config(tmp_path, "hung", methods=["baseline"], devices=["cpu"], timeout_s=1)
    workdir = smoke_clone["workdir"]
    done = run_snakemake(workdir, "--cores", "1", "--forcerun", "benchmark_cell", configfile=config, check=False)
    assert done.returncode != 0
    cell = read_json(workdir / "results/hung/cells/baseline/cpu-bs4.json")
    assert cell["status"] == "failed" and "timed out after 1 s" in cell["reason"]
    assert not process_running("baseline.py -d cpu -b 4 .*-o results/hung/")


def test_an_interrupted_cell_leaves_no_result_and_resumes(smoke_clone, tmp_path):
    """Ctrl-C while a cell's program is being timed, then the same command again."""
    workdir = smoke_clone["workdir"]
    config = fault_config(tmp_path, "interrupted", methods=["baseline"], devices=["cpu"])
    results = workdir / "results/interrupted"
    cell = results / "cells/baseline/cpu-bs4.json"
    command = snakemake_command(workdir, config) + ["--cores", "1"]
    env = workflow_environment()
    # SIGINT as a terminal delivers it: a suite started in the background (`make test &`, nohup)
    # inherits SIGINT ignored, and Snakemake, run_cell and hyperfine would inherit that too.
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Wait for the timed program itself, so that the Ctrl-C lands while it is being timed.
    poll_until(lambda: process_running("baseline.py -d cpu -b 4 .*-o results/interrupted/"), 180, interval=0.2)
    assert process.poll() is None, "the run ended before its cell's program started"
    time.sleep(1)  # importing torch: well inside the timed run
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
    process.wait(timeout=120)
    assert process.returncode != 0
    assert not cell.exists(), "an interrupted cell left a result that a later run would take as done"
    assert not list(cell.parent.glob("*.partial")) if cell.parent.exists() else True
    plan = run_snakemake(workdir, "-n", "--cores", "1", configfile=config)
    assert planned_jobs(plan.stdout).get("benchmark_cell") == 1
    run_snakemake(workdir, "--cores", "1", configfile=config)
    assert read_json(cell)["status"] == "ok" and (results / "tables.md").is_file()


def test_report_builds(smoke):
    report = smoke["workdir"] / "report.html"
    run_snakemake(smoke["workdir"], "--cores", "1", "--report", str(report))
    html = report.read_text(errors="replace")
    assert report.stat().st_size > 10_000 and "time_vs_batch_size.png" in html


def test_compare_prints_ratios(smoke, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "workflow/scripts/report/compare.py"),
            str(smoke["results"]),
            str(smoke["results"]),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "| `ort-lean` | cpu" in done.stdout.replace("  ", " ").replace("  ", " ") or "ort-lean" in done.stdout
    assert "1.00×" in done.stdout


def test_sigterm_during_a_cell_ends_hyperfine_and_the_program_and_records_nothing(smoke_models, tmp_path):
    """What SLURM does at a time limit, on scancel or pre-emption."""
    out = tmp_path / "cell.json"
    args = run_cell_arguments(tmp_path, "baseline", smoke_models["torch"], TRICKY, 1, runs=10)
    process = subprocess.Popen(
        [sys.executable, REPO / "workflow/scripts/timing/run_cell.py", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    poll_until(lambda: process_running(f"baseline.py -d cpu -b 1 .*{tmp_path}"), 120, interval=0.2)
    time.sleep(1)  # inside the timed program
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0 and "stopped by SIGTERM" in output, output[-2000:]
    assert not out.exists() and not list(tmp_path.glob(".cell.json.*"))
    outlived = f"(baseline.py -d cpu -b 1|hyperfine --style basic) .*{tmp_path}"
    poll_until(lambda: not process_running(outlived), 5)  # their exit, under another pytest worker's load
    assert not process_running(outlived), "hyperfine or the timed program outlived the cell"


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


def test_the_family_table_refuses_families_that_have_not_run_in_one_line(tmp_path):
    """`make families SNAKEMAKE_ARGS=-n` plans the grids and makes no summary to tabulate."""
    missing = tmp_path / "families" / "bert" / "summary.csv"
    done = subprocess.run(
        [sys.executable, str(REPO / "workflow/scripts/report/family_table.py"), str(missing)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and done.stderr == (
        f"family_table.py: error: {missing}: missing (the families' grids have not run)\n"
    ), done.stderr
