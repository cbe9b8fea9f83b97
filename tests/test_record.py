"""The typed cell record and summary.csv's row (nerbench.record): every record format written since
the grid model reads, a record survives its own JSON, summary rows survive summary.csv, and every
column says its unit."""

import json
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerbench.record import (
    SCHEMA_VERSION,
    CellIdentity,
    CellRecord,
    Contention,
    HostSpeed,
    QuietStart,
    Round,
    Runs,
    Status,
    SummaryRow,
    Threads,
    read_rows,
    summary_columns,
    write_atomically,
    write_summary,
)
from nerbench.stats import parse_times
from nerbench.trust import cell_speed, contended

RECORDS = Path(__file__).parent / "data" / "records"
# Each format's fixture: written by the run_cell.py (and combine_rounds.py) of the commit it names.
FORMATS = {
    "format-1-f8ec814.json": 1,
    "format-2-f68b4cd.json": 2,
    "format-2-f68b4cd-rounds.json": 2,
    "format-3-2d70120.json": 3,
    # A failed cell measured nothing: formats 1 to 3 wrote it alike, and it reads as the first.
    "format-3-2d70120-failed.json": 1,
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_record_format_since_the_grid_model_reads(name):
    data = json.loads((RECORDS / name).read_text())
    record = CellRecord.from_json(data)
    assert record.schema_version == FORMATS[name]
    assert (record.cell.machine, record.cell.method, record.cell.device, record.cell.batch_size) == (
        "local",
        "ort-lean",
        "cpu",
        8,
    )
    assert record.environment["python"] and record.settings["warmup"] == 0
    if record.status == Status.FAILED:
        assert record.runs is None and "not a model directory" in record.reason
        return
    assert record.runs.times == data["results"][0]["times"] and record.runs.mean > 0
    assert record.runs.memory_usage_byte  # hyperfine 1.20's peak memory, in every format
    # What a format did not record reads as None, never as a made-up value.
    assert (record.contention is None) == (FORMATS[name] < 2)
    assert (record.host_speed is None) == (FORMATS[name] < 3)
    assert record.threads is None
    assert (record.rounds is not None) == name.endswith("rounds.json")
    if record.contention:
        assert isinstance(record.contention, Contention) and not contended(record.contention)
    if record.rounds:
        assert all(isinstance(one, Round) and one.mean > 0 for one in record.rounds)
    if record.host_speed:
        assert cell_speed(record) == max(record.host_speed.rates())


@pytest.mark.parametrize("name", FORMATS)
def test_an_older_record_written_again_keeps_everything_it_held(name):
    data = json.loads((RECORDS / name).read_text())
    written = CellRecord.from_json(data).to_json()
    assert holds(written, data)
    assert written["schema_version"] == FORMATS[name]


def holds(written, original) -> bool:
    """Everything the original holds is in what was written (which may add fields it lacked, as None)."""
    if isinstance(original, dict):
        return isinstance(written, dict) and all(
            key in written and holds(written[key], v) for key, v in original.items()
        )
    if isinstance(original, list):
        return isinstance(written, list) and len(written) == len(original) and all(map(holds, written, original))
    return written == original


@pytest.mark.parametrize("name", FORMATS)
def test_an_older_record_gives_its_summary_row(name):
    record = CellRecord.from_json(json.loads((RECORDS / name).read_text()))
    row = SummaryRow(**record.summary_columns())
    assert row.cpu_model == "AMD EPYC" and row.python and row.packages["onnxruntime-gpu"]
    assert (row.mean is None) == (record.status == Status.FAILED)
    if row.mean is not None:
        assert parse_times(row.times) == pytest.approx(record.times) and row.peak_rss_mib > 0


finite = st.floats(0.001, 1e4, allow_nan=False)
maybe = st.none() | finite


def records():
    runs = st.builds(
        Runs,
        command=st.text(max_size=20),
        times=st.lists(finite, min_size=1, max_size=5),
        mean=finite,
        stddev=maybe,
        median=finite,
        min=finite,
        max=finite,
        user=finite,
        system=finite,
        exit_codes=st.lists(st.integers(0, 1), max_size=5),
        memory_usage_byte=st.none() | st.lists(st.integers(1, 2**40), min_size=1, max_size=5),
    )
    speed = st.builds(
        HostSpeed,
        probes=st.lists(st.fixed_dictionaries({"slowest_gflops": finite}), max_size=3),
        gflops=maybe,
    )
    return st.builds(
        CellRecord,
        cell=st.builds(CellIdentity, machine=st.text(min_size=1, max_size=8), batch_size=st.integers(1, 512)),
        status=st.sampled_from([Status.OK, Status.FAILED]),
        reason=st.none() | st.text(max_size=30),
        runs=st.none() | runs,
        wall_seconds=maybe,
        threads=st.none() | st.builds(Threads, threads=st.integers(1, 64), workers=st.integers(1, 8)),
        gpu_memory_peak_bytes=st.none() | st.integers(1, 2**40),
        contention=st.none() | st.builds(Contention, steal_pct=maybe, foreign_cpu_pct=maybe),
        quiet_start=st.none() | st.builds(QuietStart, waited_seconds=maybe, gave_up=st.booleans()),
        host_speed=st.none() | speed,
        hyperfine_warnings=st.lists(st.text(max_size=10), max_size=2),
        rounds=st.none() | st.lists(st.builds(Round, mean=maybe, host_speed=st.none() | speed), max_size=3),
    )


@settings(max_examples=200, deadline=None)
@given(records())
def test_a_record_survives_its_own_json(record):
    assert CellRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_a_record_is_still_a_hyperfine_export(tmp_path):
    record = CellRecord(status=Status.OK, runs=Runs(command="x", times=[1.0, 2.0], mean=1.5, stddev=0.7))
    record.write(tmp_path / "cell.json")
    data = json.loads((tmp_path / "cell.json").read_text())
    assert data["results"][0]["mean"] == 1.5 and data["schema_version"] == SCHEMA_VERSION
    assert not list(tmp_path.glob(".cell.json.*"))  # written to a sibling, renamed when complete


rows = st.builds(
    SummaryRow,
    machine=st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True),
    method=st.sampled_from(["baseline", "ort-lean@int8+sort+dp"]),
    batch_size=st.integers(1, 256),
    status=st.sampled_from([Status.OK, Status.FAILED, Status.NOT_AVAILABLE]),
    reason=st.none() | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    packages=st.dictionaries(
        st.sampled_from(["torch", "onnxruntime-gpu"]), st.from_regex(r"[0-9.]{1,8}", fullmatch=True)
    ),
    mean=maybe,
    runs=st.none() | st.integers(1, 9),
    times=st.none() | st.lists(finite, min_size=1, max_size=3).map(lambda t: " ".join(f"{x:.6f}" for x in t)),
    unstable=st.none() | st.booleans(),
    git_commit=st.none() | st.from_regex(r"[0-9a-f]{40}", fullmatch=True),
    slurm_job_id=st.none() | st.from_regex(r"[0-9]{1,6}", fullmatch=True),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(rows, min_size=1, max_size=4))
def test_summary_rows_survive_summary_csv(tmp_path_factory, written):
    path = tmp_path_factory.mktemp("summary") / "summary.csv"
    write_summary(path, written)
    read = read_rows(path)
    assert [row.as_columns() for row in read] == [normalised(row).as_columns() for row in written]


def normalised(row: SummaryRow) -> SummaryRow:
    """What a CSV keeps of a row: an empty text reads as no value."""
    return SummaryRow(**{f.name: (None if getattr(row, f.name) == "" else getattr(row, f.name)) for f in fields(row)})


def test_summary_csv_has_every_column_always_and_each_says_its_unit(tmp_path):
    write_summary(tmp_path / "summary.csv", [SummaryRow(status=Status.MISSING)])
    header = (tmp_path / "summary.csv").read_text().splitlines()[0].split(",")
    assert header == summary_columns([])
    assert all("unit" in item.metadata for item in fields(SummaryRow))
    assert {"intra_op_threads", "workers", "host_speed_pct", "times"} <= set(header)


BEFORE = Path(__file__).parent / "data" / "results-2d70120"


def test_a_results_folder_from_before_gathers_into_the_same_summary(tmp_path):
    """The smoke grid's folder as 2d70120 left it (its cells, checks, phases, roofline and
    summary.csv): gathered again by today's code, every column it had keeps its values."""
    import csv
    import math
    import shutil
    import subprocess
    import sys

    from conftest import STEPS

    shutil.copytree(BEFORE, tmp_path, dirs_exist_ok=True)
    results = tmp_path / "results" / "smoke"
    old = list(csv.DictReader((results / "summary.csv").open()))
    gather = [sys.executable, STEPS / "report/gather.py", "--grid", "results/smoke/grid.json"]
    subprocess.run([*gather, "--flops", "results/smoke/flops.json"], cwd=tmp_path, check=True, capture_output=True)
    new = list(csv.DictReader((results / "summary.csv").open()))
    assert len(new) == len(old) == 24
    for before, after in zip(old, new, strict=True):
        for column, value in before.items():
            again = after[column]
            if value != again:
                assert math.isclose(float(value), float(again), rel_tol=1e-12), (column, value, again)


def test_a_record_written_is_readable_by_the_other_users_of_a_shared_folder(tmp_path):
    """mkstemp makes its file 0600, and a rename keeps the mode: records, tables and the summary
    went 0600 while nerlib's files stayed 0644."""
    target = tmp_path / "cells" / "cell.json"
    write_atomically(target, "{}\n")
    assert target.read_text() == "{}\n" and target.stat().st_mode & 0o777 == 0o644
    assert [path.name for path in target.parent.iterdir()] == ["cell.json"], "no partial file left"
