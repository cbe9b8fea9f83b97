"""The tables and the summary: tables.md, summary.csv and the report, from the smoke run and synthetic trees.

What the tables say of each cell (its time, spread and agreement; the flags of a contended,
unstable or slow-host cell; a failed cell's reason and log; phases only from cells that ran),
the summary's row per cell, and Snakemake's report of the run."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REGISTRY, SMOKE, grid_of, make_in, small_grid
from frames import read_summary
from nerbench.record import CellRecord, Status
from synthetic import TWO_MACHINES, build, host_speed, make_tables, rewrite_times, small_tree, step_commands

# ---- from the smoke run ----


def test_smoke_tables_have_every_method(smoke):
    tables = (smoke["results"] / "tables.md").read_text()
    first = tables.splitlines()[:10]
    assert first[2].startswith("Accurate enough (`accept:`): F1 within 0.5 points"), first
    assert re.search(r"use `[^`]+`, [\d.]+ s for 50 sentences, \d+ sentences/s end to end", "\n".join(first)), first
    methods = yaml.safe_load(SMOKE.read_text())["benchmark"]["methods"]
    cpu = tables.split("\n## CPU")[1].split("\n## CUDA")[0]
    best = cpu.split("\n\n")[1]
    means = [float(line.split("|")[2]) for line in best.splitlines()[2:]]
    assert means == sorted(means), best  # fastest first
    for method in methods:
        # name, its flags and tied batch sizes | mean | sentences/s | vs baseline | F1 | agreement
        row = rf"`{re.escape(method)} -b \d+`[^|]* +\| +[\d.]+ +\| +\d+ +\| [^|]* \| +[\d.]+ +\|"
        row += r" 100\.00%" if REGISTRY.parse(method).dtype == "fp32" else r" [\d.]+%"  # int8: its own
        assert re.search(row, best), method
        details = rf"`{re.escape(method)} -b \d+` +\| [\d.]+ ± [\d.]+ +\| [\d.]+ … [\d.]+ +\| (?:[\d.]+%)? +\| +\d+ \|"
        assert re.search(details, cpu), method
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


def test_the_report_shows_the_answer_the_tables_and_the_plots_in_a_browser(smoke, tmp_path):
    """make report's page, opened in headless Chromium and clicked through as a reader would."""
    from browser import Browser, find_browser

    done = make_in(smoke["workdir"], yaml.safe_load(SMOKE.read_text()), tmp_path, "report")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = smoke["results"] / "report.html"
    assert report.stat().st_size > 10_000 and "time_vs_batch_size.png" in report.read_text(errors="replace")
    if not find_browser():
        pytest.skip("no Chromium here: `make test` installs Debian's chromium-headless-shell where it runs as root")
    with Browser() as browser:
        page = browser.open(report.as_uri())
        browser.send("Page.enable", session=page)
        browser.wait_for(page, "document.body && document.body.textContent.includes('Tables')")
        browser.click(page, "Tables")
        browser.wait_for(page, "!!document.querySelector('tr a[iconname=eye]')")
        browser.evaluate(page, "document.querySelector('tr a[iconname=eye]').click()")
        browser.wait_for(page, "!!document.querySelector('iframe')")
        text = browser.evaluate_in_frame(page, "document.body.innerText")
        tables = browser.evaluate_in_frame(page, "document.querySelectorAll('table').length")
        assert text.startswith("nerbench results\n\nAccurate enough (accept:)"), text[:300]
        assert re.search(r"\n\nCPU, whole process [^\n]*: use ", text), text[:600]
        assert tables >= 4 and "sentences/s end to end" in text, (tables, text[:600])
        shown = []
        for name in ("time_vs_batch_size.png", "phases.png", "accuracy_vs_time.png"):
            browser.click(page, "Results")
            browser.click(page, "Plots")
            row = f"Array.from(document.querySelectorAll('tr')).find(r => r.innerText.includes('{name}'))"
            browser.wait_for(page, f"!!{row}")
            browser.evaluate(page, f"{row}.querySelector('a[iconname=eye]').click()")
            image = f"Array.from(document.images).find(i => i.src.includes('filename={name}'))"
            shown.append(browser.wait_for(page, f"{image} && {image}.complete && {image}.naturalWidth"))
        assert all(width > 200 for width in shown), shown  # decoded and drawn, not a broken image


# ---- from synthetic results ----


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


def test_the_answer_compares_each_device_with_the_reference_on_that_device(tmp_path):
    """On a machine with both devices, the CPU's answer took the reference method's fastest cell
    whatever its device: its CUDA cell, ten times faster here."""
    settings = {"methods": ["baseline", "ort-lean"], "batch_sizes": [8], "devices": ["cpu", "cuda"]}
    grid = build(tmp_path, {**TWO_MACHINES, "benchmark": settings})
    rewrite_times(tmp_path, grid, lambda cell, times: [t / 10 if cell.device == "cuda" else t for t in times])
    make_tables(grid, tmp_path)
    tables = (tmp_path / grid.results() / "tables.md").read_text()
    ratios = {
        device: float(
            re.search(rf"\*\*h200 {device}, [^*]+\*\*: use `ort-lean -b 8`, [^;]*?([\d.]+)× \[", tables).group(1)
        )
        for device in ("CPU", "CUDA")
    }
    # baseline takes about 4× ort-lean's time in a synthetic tree, on each device alike.
    assert 3 < ratios["CPU"] < 5 and 3 < ratios["CUDA"] < 5, (ratios, tables[:3000])


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
    ran, stale, truncated = (cell_row(cell, CellRecord.read(cell.path("result")), {}, {}) for cell in grid.cells)
    assert ran.phase_inference == 0.5
    assert stale.phase_inference is None
    assert truncated.phase_inference is None


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
