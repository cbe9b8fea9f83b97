"""Timing a cell: run_cell and the rules around it, the host's load and speed, rounds, faults and signals.

What a timed cell records of the host around its runs (the load, other processes' CPU time, the
speed probe, a quiet start before it), how rounds spread a cell's runs over the grid, where a cell
may run, and what a missing tool, a failure, a hang, an interruption or a signal leaves behind: a
failed record or nothing, never a result that a later run would take as done, nor a process."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

import host_load
from conftest import (
    REGISTRY,
    REPO,
    SMOKE,
    STEPS,
    TRICKY,
    cpu_burner,
    cpu_quota,
    grid_of,
    planned_jobs,
    poll_until,
    process_running,
    read_json,
    run_cell,
    run_cell_arguments,
    run_snakemake,
    snakemake_command,
    workflow_environment,
)
from frames import read_summary
from nerbench.grid import Grid
from nerbench.record import CellRecord, HostSpeed, SummaryRow
from nerbench.stats import parse_times
from nerbench.trust import SLOW_HOST_MARK, SLOW_HOST_PCT, contended, flags
from synthetic import host_speed, small_tree

# ---- the host's load and a quiet start ----


def test_runs_beside_a_cpu_burner_are_recorded_as_contended():
    with cpu_burner(), host_load.Contention() as contention:
        time.sleep(1.0)
    record = contention.record
    assert record["foreign_cpu_pct"] >= 100 / record["host_cpus"] * 0.6, record
    assert contended(record) and record["load_before"] is not None


def test_the_timed_childrens_cpu_is_subtracted_from_the_hosts_busy_time(monkeypatch):
    """The arithmetic, on accounting made up: 4 CPUs over 2 s, 5 s busy of which 3 s the timed
    children's, so 2 s foreign: 25% of the machine."""
    readings = iter([host_load.CpuTimes(10, 0, 100, 4, 0.0), host_load.CpuTimes(15, 0.4, 108, 4, 2.0)])
    children = iter([1.0, 4.0])
    monkeypatch.setattr(host_load.CpuTimes, "read", classmethod(lambda cls: next(readings)))
    monkeypatch.setattr(host_load, "children_cpu_seconds", lambda: next(children))
    with host_load.Contention() as contention:
        pass
    record = contention.record
    assert (record["timed_cpu_seconds"], record["foreign_cpu_pct"], record["steal_pct"]) == (3.0, 25.0, 5.0)


@pytest.mark.complete
@pytest.mark.alone
def test_the_timed_runs_own_cpu_is_not_foreign():
    """A child that burns a CPU second adds nothing to the foreign share, measured against the
    same wait without it: the machine running the tests may be busy (CI beside other work), so
    the background is measured, and a burst of it gets two more tries."""
    burn = "import time\nend = time.process_time() + 1.0\nwhile time.process_time() < end: pass"
    excess = []
    for _ in range(3):
        with host_load.Contention() as contention:
            subprocess.run([sys.executable, "-c", burn], check=True)  # waited for, as hyperfine is
        record = contention.record
        with host_load.Contention() as background:
            time.sleep(record["wall_seconds"])
        assert record["timed_cpu_seconds"] >= 0.9, record
        # Counted as foreign, the child's second would add 100 × 1 / (wall × cpus) points.
        childs_share = 100 / (record["wall_seconds"] * record["host_cpus"])
        excess.append(record["foreign_cpu_pct"] - background.record["foreign_cpu_pct"])
        if excess[-1] < childs_share / 2:
            return
    pytest.fail(f"the timed child's CPU counted as foreign: {excess} points over the background")


def test_a_quiet_start_waits_for_a_burner_and_gives_up_in_time():
    with cpu_burner():
        started = time.monotonic()
        quiet = host_load.quiet_start(cores=2, share=0.1, max_wait_s=1.0)
    assert quiet["gave_up"] and quiet["waited_seconds"] >= 1.0 and time.monotonic() - started < 3
    assert quiet["busy_cores"] >= 0.6
    assert host_load.quiet_start(cores=2, share=0.1, max_wait_s=0)["waited_seconds"] == 0


@pytest.mark.e2e
def test_a_cell_timed_beside_a_cpu_burner_is_flagged_in_its_record_and_the_tables(smoke_models, tmp_path):
    args = run_cell_arguments(tmp_path, "ort-lean", smoke_models["onnx"], TRICKY, 1, runs=3)
    with cpu_burner():
        subprocess.run([sys.executable, STEPS / "timing/run_cell.py", *args], check=True, capture_output=True)
    record = CellRecord.read(tmp_path / "cell.json")
    assert contended(record.contention), record.contention
    assert record.quiet_start.waited_seconds == 0  # no conditions given: no quiet start

    from gather import trust_columns

    row = SummaryRow(**{**record.summary_columns(), **trust_columns(record)})
    assert row.contended and flags(row).endswith("!") and len(parse_times(row.times)) == 3


# ---- the speed probe ----


@pytest.mark.e2e
@pytest.mark.alone
def test_a_cell_on_a_host_slowed_out_of_its_accountings_sight_is_flagged_slow_host(smoke_models, tmp_path):
    """A CPU quota of half of each CPU: the host's accounting sees the cell's processes idle, not
    others busy, so only the speed probe can tell; the tables then flag the cell against the
    machine's speed (here from probes taken free of the quota)."""
    from gather import trust_columns, with_host_speed

    args = run_cell_arguments(tmp_path, "ort-lean", smoke_models["onnx"], TRICKY, 1, runs=1)
    with cpu_quota(0.5) as in_group:
        subprocess.run(
            [*in_group, sys.executable, STEPS / "timing/run_cell.py", *args], check=True, capture_output=True
        )
    free = [host_load.speed_probe()["slowest_gflops"] for _ in range(2)]
    record = CellRecord.read(tmp_path / "cell.json")
    slow = record.host_speed.gflops
    assert len(record.host_speed.probes) == 2
    assert slow < (1 - SLOW_HOST_PCT / 100) * max(free), (record.host_speed, free)
    # Others busy enough to cost that much would show as most of the host's CPU.
    assert record.contention.foreign_cpu_pct < 25, record.contention
    timed = SummaryRow(**{**record.summary_columns(), **trust_columns(record)})
    free_cell = SummaryRow(host_speed_gflops=min(free), host_probes_gflops=" ".join(map(str, free)))
    judged = with_host_speed([timed, free_cell], {})
    assert [row.slow_host for row in judged] == [True, False]
    assert flags(judged[0]).endswith(SLOW_HOST_MARK) and judged[0].host_speed_pct < 85


def test_the_speed_probe_reads_every_allowed_cpu_and_says_why_it_cannot(monkeypatch, tmp_path):
    probe = host_load.speed_probe(size=128, repeats=5)
    assert set(probe["gflops_by_cpu"]) == {str(cpu) for cpu in os.sched_getaffinity(0)}, probe
    assert probe["slowest_gflops"] == min(probe["gflops_by_cpu"].values()) > 0 and probe["numpy"]
    # A probe that fails (here one whose numpy import fails) costs the cell nothing but the probe.
    broken = tmp_path / "speed_probe.py"
    broken.write_text("import numpy_that_is_not_there\n")
    monkeypatch.setattr(host_load, "PROBE", broken)
    with host_load.HostSpeed() as speed:
        pass
    assert speed.record["probes"][0] == {"error": "ModuleNotFoundError: No module named 'numpy_that_is_not_there'"}
    assert "gflops" not in speed.record
    # One that hangs is ended, and says so.
    broken.write_text("import time\ntime.sleep(60)\n")
    monkeypatch.setattr(host_load, "PROBE_TIMEOUT_S", 0.5)
    started = time.monotonic()
    assert host_load.speed_probe() == {"error": "no answer within 0.5 s"}
    assert time.monotonic() - started < 5


def test_a_machines_speed_is_a_high_percentile_of_all_its_probes_roofline_included():
    from gather import with_host_speed

    def cell(machine, *rates):
        return SummaryRow(
            machine=machine,
            device="cpu",
            host_speed_gflops=max(rates) if rates else None,
            host_probes_gflops=" ".join(map(str, rates)) or None,
        )

    # 20 cells at 100, one lucky probe at 140, one cell at 82; a machine with no probes; an old cell.
    rows = [cell("a", 100, 101) for _ in range(20)] + [cell("a", 100, 140), cell("a", 80, 82), cell("a"), cell("b")]
    judged = with_host_speed(rows, {"a": {"attempts": [{"host_speed": host_speed(99)}]}})
    a = [row for row in judged if row.machine == "a"]
    assert [row.slow_host for row in a] == [False] * 21 + [True, False]
    assert 80.5 < a[-2].host_speed_pct < 82  # against the 90th percentile (about 101), not 140
    b = [row for row in judged if row.machine == "b"]
    assert not any(row.slow_host for row in b) and b[0].host_speed_pct is None
    # No probes anywhere (results from before them): nothing judged, nothing flagged.
    assert [row.slow_host for row in with_host_speed([cell("a"), cell("b")], {})] == [None, None]


def test_the_probe_is_judged_against_the_stretches_it_called_slow_and_those_it_missed(tmp_path):
    """Three repeats of one grid, alike; in the third, one cell ran 30% slower with its host at
    60%, another 30% slower unseen: one stretch both, one slow only, the rest neither."""
    folders = []
    for repeat in range(3):
        folders.append(tmp_path / f"run-{repeat}")
        folders[-1].mkdir()
        grid = small_tree(folders[-1], seed=0)
    seen, unseen = (folders[2] / grid.cells[i].path("result") for i in (0, 1))
    for path, host in ((seen, host_speed(60.0, 61.0)), (unseen, None)):
        record = json.loads(path.read_text())
        record["results"][0]["mean"] *= 1.3
        record["host_speed"] = host or record["host_speed"]
        path.write_text(json.dumps(record))
    tool = [sys.executable, REPO / "tools" / "probe-vs-time.py"]
    done = subprocess.run([*tool, *(folder / grid.results() for folder in folders)], capture_output=True, text=True)
    assert "18 stretches: both 1, probe only 0, slow only 1, neither 16" in done.stdout, done.stdout + done.stderr
    assert f"{folders[2] / grid.results()}: 1 of 6 cells on a slow host" in done.stdout


# ---- rounds: a cell's runs spread over the grid ----


def test_rounds_time_every_cell_once_per_round_in_a_new_order_each_round():
    grid = grid_of({"benchmark": {"rounds": 3}}, devices=("cpu",))
    (machine,) = grid.machines
    sequence = grid.round_sequence(machine)
    cells = [cell for cell in grid.runnable() if not cell.serving]  # LoadGen's runs are not in rounds
    assert len(sequence) == 3 * len(cells)
    orders = [[cell for cell, number in sequence if number == k] for k in range(3)]
    assert all(sorted(order, key=lambda c: c.key) == sorted(cells, key=lambda c: c.key) for order in orders)
    assert orders[0] != orders[1] and orders[1] != orders[2] and orders[0] != orders[2]
    assert grid.round_sequence(machine) == sequence, "the plan is repeatable"
    priority = {(cell.key, k): grid.round_priority(cell, k) for cell in cells for k in range(3)}
    for k in (0, 1):  # every job of a round before any of the next
        assert min(priority[cell.key, k] for cell in cells) > max(priority[cell.key, k + 1] for cell in cells)
    assert len(set(priority.values())) == len(priority) and min(priority.values()) >= 1


def test_rounds_combine_into_one_cell_and_a_failed_round_fails_it(tmp_path):
    from combine_rounds import combine

    grid = small_tree(tmp_path)
    cell = grid.cells[0]
    record = CellRecord.read(tmp_path / cell.path("result"))
    second = CellRecord.read(tmp_path / cell.path("result"))
    second.runs.times = [t + 1 for t in record.times]
    second.runs.mean = sum(second.times) / len(second.times)
    combined = combine([record, second])
    times = combined.times
    assert times == record.times + second.times
    assert combined.runs.mean == pytest.approx(sum(times) / len(times))
    assert [r.mean for r in combined.rounds] == [record.runs.mean, second.runs.mean]
    # The cell is as trustworthy as its slowest round's host.
    record.host_speed, second.host_speed = HostSpeed(**host_speed(100.0, 98.0)), HostSpeed(**host_speed(60.0, 90.0))
    combined_speed = combine([record, second]).host_speed
    assert combined_speed.gflops == 90.0 and len(combined_speed.probes) == 4
    assert combine([record, replace(second, host_speed=None)]).host_speed.gflops == 100.0
    failed = replace(second, status="failed", reason="timed out", runs=None)
    assert combine([record, failed]).status == "failed" and combine([record, failed]).reason == "round 1: timed out"


@pytest.mark.e2e
def test_a_grid_in_rounds_times_each_cell_once_a_round_and_tabulates_every_run(smoke_clone, tmp_path):
    settings = yaml.safe_load(SMOKE.read_text())
    settings["results"] = "results/rounds"
    settings["benchmark"].update(methods=["ort-lean", "onnxruntime-ner"], batch_sizes=[1], runs=2, rounds=2)
    config = tmp_path / "rounds.yaml"
    config.write_text(yaml.safe_dump(settings))
    plan = planned_jobs(run_snakemake(smoke_clone["workdir"], "-n", "--cores", "2", configfile=config).stdout)
    assert plan["benchmark_round"] == 4 and plan["combine_rounds"] == 2 and "benchmark_cell" not in plan
    run_snakemake(smoke_clone["workdir"], "--cores", "2", configfile=config)
    results = smoke_clone["workdir"] / "results" / "rounds"
    grid = Grid.from_manifest(results / "grid.json")
    (machine,) = grid.machines
    finished = [
        (smoke_clone["workdir"] / cell.round_path("result", n)).stat().st_mtime
        for cell, n in grid.round_sequence(machine)
    ]
    assert finished == sorted(finished), "the rounds are timed in the planned order"
    for method in ("ort-lean", "onnxruntime-ner"):
        record = read_json(results / f"cells/{method}/cpu-bs1.json")
        assert record["status"] == "ok" and len(record["results"][0]["times"]) == 4 and len(record["rounds"]) == 2
    summary = read_summary(results / "summary.csv")
    assert (summary[summary["status"] == "ok"]["runs"] == 4).all() and (summary["status"] == "ok").sum() == 2
    assert Path(results / "verified.txt").is_file()


# ---- where a cell runs ----


def test_a_slurm_cell_outside_a_slurm_job_is_recorded_as_failed(smoke_models, tmp_path):
    """Behind the workflow's refusal (test_workflow), run_cell itself never times a SLURM machine's
    cell on the host that happens to run it."""
    machine = {"name": "node", "partition": "debug", "cpus": 2}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
    done, record = run_cell(tmp_path, TRICKY, env=env, model=smoke_models["onnx"], machines=[machine])
    assert done.returncode == 0 and record["status"] == "failed", done.stderr
    assert "this is not a SLURM job" in record["reason"]


def test_a_slurm_cell_in_another_partitions_job_is_refused(smoke_models, tmp_path):
    """Its job must run on its machine's partition: another partition's nodes are another machine."""
    machine = {"name": "epyc", "partition": "cpu,cpu-long", "cpus": 2}
    env = {**os.environ, "SLURM_JOB_ID": "77", "SLURM_JOB_PARTITION": "gpu"}
    done, record = run_cell(tmp_path, TRICKY, env=env, model=smoke_models["onnx"], machines=[machine])
    assert done.returncode == 0 and record["status"] == "failed", done.stderr
    assert (
        record["reason"] == "machine epyc runs on SLURM partition cpu,cpu-long, and this job 77 runs in partition gpu"
    )


# ---- a missing tool, faults and signals ----


def test_a_host_without_hyperfine_gets_a_failed_cell_record(smoke_models, tmp_path):
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    assert shutil.which("hyperfine", path=env["PATH"]) is None
    done, record = run_cell(tmp_path, TRICKY, env=env, model=smoke_models["onnx"])
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert record["status"] == "failed" and "hyperfine is not on the PATH" in record["reason"]


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
