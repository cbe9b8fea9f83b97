"""The whole-grid steps at the scale of ten machines: a synthetic results tree of 1,300 cells
(the default grid on both devices, cell, check and phase files shaped as real ones) goes through
tables, plots, verify and compare, none of which gets the grid on its command line. The times are
printed (`python tests/synthetic.py DIR --time` measures them at two sizes); they are not asserted.
Half a minute of whole-grid steps: the complete suite (`make test`) runs it, the edit loop does not."""

import subprocess

import pytest

from frames import KEY_COLUMNS, read_summary
from synthetic import build, machines, make_tables, run_steps, step_commands

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ten_machines(tmp_path_factory):
    here, other = tmp_path_factory.mktemp("grid-a"), tmp_path_factory.mktemp("grid-b")
    grid = build(here, machines(10), seed=0)
    build(other, machines(10), seed=1)
    make_tables(grid, other)
    seconds = run_steps(here, grid, other / grid.results())
    print(f"\n{len(grid.cells)} cells: " + ", ".join(f"{step} {s:.1f} s" for step, s in seconds.items()))
    return {"grid": grid, "results": here / grid.results(), "other": other / grid.results(), "dir": here}


def test_the_grid_is_1300_cells_and_no_step_takes_it_on_its_command_line(ten_machines):
    grid = ten_machines["grid"]
    assert len(grid.cells) == 1300
    for command in step_commands(grid, ten_machines["other"]).values():
        assert sum(len(arg) for arg in command) < 2000


def test_the_tables_cover_every_machine_and_cell(ten_machines):
    summary = read_summary(ten_machines["results"] / "summary.csv")
    assert len(summary) == 1300 and not summary.duplicated(KEY_COLUMNS).any()
    assert (summary["status"] == "ok").all()
    tables = (ten_machines["results"] / "tables.md").read_text()
    for machine in ten_machines["grid"].machines:
        assert f"## Machine `{machine.name}`" in tables
    assert "## Machines side by side" in tables
    assert (ten_machines["results"] / "plots" / "time_vs_batch_size.png").stat().st_size > 10_000


def test_verify_covers_every_cell(ten_machines):
    assert (ten_machines["results"] / "verified.txt").read_text().startswith("1300 cells checked")


def test_compare_pairs_each_machine_with_itself_and_every_cell(ten_machines):
    command = step_commands(ten_machines["grid"], ten_machines["other"])["compare"]
    done = subprocess.run(command, cwd=ten_machines["dir"], capture_output=True, text=True, check=True)
    assert done.stdout.count("Paired A's") == 10 and "Left out" not in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith("| machine-")]
    assert len(rows) == 1300
    assert {line.split("|")[1].strip() for line in rows} == {f"machine-{i:02d} → machine-{i:02d}" for i in range(10)}
