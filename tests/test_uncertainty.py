"""Numbers a user can trust on a shared machine: the host's load recorded per cell, a quiet
start, the spread of a cell's runs, an interval on every ratio, compare's test of signal against
noise, and runs spread over the grid in rounds."""

import json
import math
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import host_load
from conftest import (
    REPO,
    SMOKE,
    TRICKY,
    cpu_burner,
    cpu_quota,
    grid_of,
    planned_jobs,
    read_json,
    run_cell_arguments,
    run_snakemake,
)
from frames import read_summary
from nerbench.grid import Grid
from nerbench.record import CellRecord, HostSpeed, SummaryRow
from nerbench.stats import ALPHA, cv_pct, differ, parse_times, ratio_interval, ratio_text, welch_p
from nerbench.trust import SLOW_HOST_MARK, SLOW_HOST_PCT, contended, flags
from synthetic import build, host_speed, make_tables, step_commands

STEPS = REPO / "workflow" / "scripts"

runs = st.lists(st.floats(0.5, 50), min_size=2, max_size=8)


# ---- the statistics ----------------------------------------------------------------------------


@settings(deadline=None)  # the first call imports scipy
@given(runs, runs)
def test_a_ratios_interval_holds_it_and_turns_over_with_it(a, b):
    ratio, low, high = ratio_interval(a, b)
    assert low <= ratio * (1 + 1e-9) and ratio <= high * (1 + 1e-9)
    back, back_low, back_high = ratio_interval(b, a)
    assert math.isclose(back, 1 / ratio) and math.isclose(back_low, 1 / high) and math.isclose(back_high, 1 / low)


@settings(deadline=None)
@given(runs, runs)
def test_within_noise_exactly_where_the_interval_covers_one(a, b):
    _, low, high = ratio_interval(a, b)
    p = welch_p(a, b)
    if not math.isclose(p, ALPHA, rel_tol=1e-6):  # on the edge, rounding decides
        assert differ(a, b) == (low > 1 or high < 1), (p, low, high)
    assert ratio_text(a, b).endswith("~") == (not differ(a, b))


@settings(deadline=None)
@given(runs, runs, st.floats(0.1, 20))
def test_a_machines_drift_only_widens_an_interval_and_weakens_a_test(a, b, drift):
    ratio, low, high = ratio_interval(a, b)
    same, wide_low, wide_high = ratio_interval(a, b, drift)
    assert same == ratio and wide_low <= low * (1 + 1e-9) and wide_high * (1 + 1e-9) >= high
    assert welch_p(a, b, drift) >= welch_p(a, b) * (1 - 1e-9)
    if not math.isclose(welch_p(a, b, drift), ALPHA, rel_tol=1e-6):  # on the edge, rounding decides
        assert differ(a, b, drift) == (wide_low > 1 or wide_high < 1)


def test_a_drift_calls_a_change_within_it_noise():
    before, after = [1.000, 1.001, 0.999], [0.970, 0.971, 0.969]  # 3% faster, runs within 0.1%
    assert differ(before, after) and not differ(before, after, drift_pct=3)
    _, low, high = ratio_interval([1.0, 1.0], [1.0, 1.0], drift_pct=5)  # runs alike: the drift alone
    assert low == pytest.approx(math.exp(-1.96 * math.log(1.05)), rel=1e-3) and high == pytest.approx(1 / low)


def test_a_single_run_or_none_gives_no_interval_and_no_crash():
    assert ratio_interval([2.0], [1.0]) == (2.0, None, None) and welch_p([2.0], [1.0, 1.1]) is None
    assert math.isnan(ratio_interval([], [1.0, 1.1])[0])
    assert parse_times(1.5) == [1.5] and parse_times(float("nan")) == [] and parse_times("1 2") == [1.0, 2.0]


@settings(deadline=None)
@given(runs, runs, st.floats(0.1, 10))
def test_scaling_one_cells_runs_scales_its_ratio_and_interval(a, b, scale):
    ratio, low, high = ratio_interval(a, b)
    scaled = ratio_interval([t * scale for t in a], b)
    assert all(math.isclose(x * scale, y, rel_tol=1e-9) for x, y in zip((ratio, low, high), scaled, strict=True))
    assert welch_p(a, list(a)) == pytest.approx(1.0)


def test_a_cells_spread_and_a_clear_difference():
    assert cv_pct([2.33, 3.12, 3.14]) == pytest.approx(16.1, abs=0.1)  # the 13% cell of the issue
    slow, fast = [20.8, 22.3, 24.2], [4.85, 5.2, 5.77]
    assert differ(slow, fast) and ratio_text(slow, fast).startswith("4.25× [")
    assert ratio_text([1.0, 1.02, 0.98], [1.01, 0.99, 1.0]).endswith(" ~")
    assert ratio_text([1.0], [2.0]) == "0.50×" and differ([1.0], [2.0]) is None


# ---- the host's load ---------------------------------------------------------------------------


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
    assert row.contended and flags(row).endswith("!") and len(row.run_times()) == 3


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


# ---- the tables and compare --------------------------------------------------------------------


def small_tree(tmp_path, seed=0, **benchmark):
    settings = {"methods": ["baseline", "ort-lean", "onnxruntime-ner"], "batch_sizes": [1, 8], **benchmark}
    return build(tmp_path, {"benchmark": {**settings, "devices": ["cpu"]}}, seed=seed)


def rewrite_times(tmp_path, grid, change):
    """Give every cell's runs new times: change(cell, times) -> times."""
    for cell in grid.runnable():
        path = tmp_path / cell.path("result")
        record = json.loads(path.read_text())
        stats = record["results"][0]
        stats["times"] = change(cell, stats["times"])
        stats["mean"] = sum(stats["times"]) / len(stats["times"])
        path.write_text(json.dumps(record))


def test_the_tables_flag_unstable_and_contended_cells_and_state_the_hosts_load(tmp_path):
    grid = small_tree(tmp_path)
    target = grid.cells[0]
    path = tmp_path / target.path("result")
    record = json.loads(path.read_text())
    record["contention"].update(foreign_cpu_pct=40.0)
    record["results"][0]["times"] = [20.0, 26.0, 31.0]
    path.write_text(json.dumps(record))
    # Another cell probed the host at half its best speed (the synthetic cells probe 98–104 GFLOP/s).
    slow = grid.cells[1]
    slow_record = json.loads((tmp_path / slow.path("result")).read_text())
    slow_record["host_speed"] = host_speed(48.0, 50.0)
    (tmp_path / slow.path("result")).write_text(json.dumps(slow_record))
    make_tables(grid, tmp_path)
    results = tmp_path / grid.results()
    tables = (results / "tables.md").read_text()
    assert "1 of 6 cells contended, 1 unstable, 1 on a slow host (host speed 50–" in tables, tables
    assert f"`{target.method} -b {target.batch_size}`*!" in tables or "s*!" in tables
    assert (
        "s↓" in tables
        and "`↓`: slow host, the host's speed around its runs (probed before and after) more than 10%" in tables
    )
    assert "`~`: within noise" in tables and "Fastest: `" in tables and "×" in tables
    summary = read_summary(results / "summary.csv").set_index(["method", "batch_size"])
    row = summary.loc[(target.method.name, target.batch_size)]
    assert row["contended"] and row["unstable"] and row["cv_pct"] > 10 and row["times"].count(" ") == 2
    assert not row["slow_host"] and 94 < row["host_speed_pct"] <= 100
    slow_row = summary.loc[(slow.method.name, slow.batch_size)]
    assert slow_row["slow_host"] and slow_row["host_speed_gflops"] == 50 and 48 < slow_row["host_speed_pct"] < 52
    # verify passes it, naming what times it again.
    done = subprocess.run(step_commands(grid, tmp_path)["verify"], cwd=tmp_path, capture_output=True, text=True)
    again = f"make cell METHOD={slow.method.name} DEVICE=cpu BS={slow.batch_size} MACHINE=local"
    assert done.returncode == 0 and "Timed while the host ran slow" in done.stdout and again in done.stdout, done


@pytest.mark.complete
def test_compare_calls_noise_noise_and_a_real_change_a_change(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder in (a, b, c):
        folder.mkdir()
    grid = small_tree(a)
    small_tree(b)
    small_tree(c)
    # B: the same runs in another order, each off by a hair; C: every run half as long.
    rewrite_times(b, grid, lambda cell, times: [t * (1 + 0.0005 * i) for i, t in enumerate(reversed(times))])
    rewrite_times(c, grid, lambda cell, times: [t / 2 for t in times])
    for folder in (a, b, c):
        make_tables(grid, folder)
    compare = [sys.executable, STEPS / "report/compare.py", a / grid.results()]
    noise = subprocess.run([*compare, b / grid.results()], capture_output=True, text=True, check=True).stdout
    assert "6 cells: 0 faster in B, 0 slower, 6 within noise" in noise, noise
    assert all(line.rstrip().split("|")[-3].strip().endswith("~") for line in noise.splitlines() if "| `" in line)
    faster = subprocess.run([*compare, c / grid.results()], capture_output=True, text=True, check=True).stdout
    assert "6 cells: 6 faster in B, 0 slower, 0 within noise" in faster, faster
    assert "2.00× [" in faster
    # A drift larger than the change (here given, else the folders' benchmark.drift_pct): within noise.
    drifting = [*compare, c / grid.results(), "--drift-pct", "150"]
    within = subprocess.run(drifting, capture_output=True, text=True, check=True).stdout
    assert "drift between grids of 150%" in within and "0 faster in B, 0 slower, 6 within noise" in within, within


def test_the_configured_drift_widens_the_tables_intervals_and_says_so(tmp_path):
    texts = {}
    for drift in (0, 8):
        folder = tmp_path / str(drift)
        folder.mkdir()
        grid = small_tree(folder, drift_pct=drift)
        make_tables(grid, folder)
        texts[drift] = (folder / grid.results("tables.md")).read_text()
    assert "drift between grids" not in texts[0] and "drift between grids, 8% (the config's drift_pct)" in texts[8]
    intervals = {drift: re.findall(r"\[(\d+\.\d+)–(\d+\.\d+)\]", text) for drift, text in texts.items()}
    assert len(intervals[0]) == len(intervals[8]) > 0
    for (low, high), (wide_low, wide_high) in zip(intervals[0], intervals[8], strict=True):
        assert float(wide_low) <= float(low) and float(wide_high) >= float(high)


# ---- runs spread over the grid ----------------------------------------------------------------


def test_rounds_time_every_cell_once_per_round_in_a_new_order_each_round():
    grid = grid_of({"benchmark": {"rounds": 3}}, devices=("cpu",))
    (machine,) = grid.machines
    sequence = grid.round_sequence(machine)
    cells = grid.runnable()
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


@pytest.mark.complete
def test_repeated_grids_are_judged_by_the_spread_of_their_headline_ratios(tmp_path):
    folders = []
    for seed in range(3):
        folder = tmp_path / f"run-{seed}"
        folder.mkdir()
        grid = small_tree(folder, seed=seed)
        make_tables(grid, folder)
        folders.append(folder / grid.results())
    done = subprocess.run(
        [sys.executable, STEPS / "report/repeatability.py", *folders], capture_output=True, text=True, check=True
    )
    assert "2 headline ratios (vs `baseline` at its best batch size, cpu): 2 agree within ±5% across the 3 runs" in (
        done.stdout
    ), done.stdout
    assert "expected if the runs differed only as their intervals allow" in done.stdout
    assert "differ between the runs by more than their runs' noise (Cochran's Q" in done.stdout
    assert "The drift of one cell's time between grids: " in done.stdout
    script = [sys.executable, STEPS / "report/repeatability.py"]
    held = subprocess.run([*script, "--drift-pct", "4", *folders], capture_output=True, text=True)
    assert "every run's interval, holding a drift of 4%, covering" in held.stdout, held.stdout + held.stderr
    alone = subprocess.run([*script, folders[0]], capture_output=True, text=True)
    assert alone.returncode == 2 and "give two results folders or more" in alone.stderr, alone.stderr
    assert f"- {folders[0]}: 6 cells, 0 contended, 0 on a slow host; host speed " in done.stdout, done.stdout


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
