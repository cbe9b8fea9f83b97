"""The roofline: a peak per number format that is the machine's own (the best of the kernels the
methods use, beside the theoretical bound), the bound of a task, and verify's refusal of a cell
faster than its peak."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, cpu_burner
from flops import corpus_flops
from frames import read_summary
from roofline import ATTEMPTS, best_of, operations_per_cycle, theoretical_peaks
from synthetic import build, host_speed, make_tables, step_commands

ZEN3 = {"avx2", "fma"}
AVX512 = {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}
SAPPHIRE_RAPIDS = AVX512 | {"amx_tile", "amx_int8", "amx_bf16"}


def test_operations_per_cycle_follow_the_instruction_set_and_the_units_width():
    assert operations_per_cycle(ZEN3, ("AuthenticAMD", 25)) == {"fp32": 32, "int8": 64}
    zen4, zen5 = ("AuthenticAMD", 25), ("AuthenticAMD", 26)
    assert operations_per_cycle(AVX512, zen5) == {"fp32": 64, "int8": 256, "bf16": 128}
    assert operations_per_cycle(AVX512, zen4) == {"fp32": 32, "int8": 128, "bf16": 64}, "AVX-512 on 256-bit units"
    assert operations_per_cycle(SAPPHIRE_RAPIDS, ("GenuineIntel", 6))["int8"] == 4096


def test_the_corpus_work_counts_the_padding_of_the_batches_the_methods_form():
    """One long sentence among short ones, in input order: batches of 4 pad three short ones to
    its length; a token budget (4 x the mean, 22 tokens: 88) puts it alone and pads nothing."""
    shape = {"layers": 1, "hidden": 4, "ffn": 8, "gated": False}
    lengths = [100] + [10] * 7
    by_count = corpus_flops(lengths, 4, False, shape)
    by_budget = corpus_flops(lengths, 4, False, shape, budget=True)
    assert by_count["padded_tokens"] == 4 * 100 + 4 * 10 and by_count["flops"] > by_count["useful_flops"]
    assert by_budget["padded_tokens"] == by_budget["tokens"] == 170
    assert by_budget["flops"] == by_budget["useful_flops"]


def test_an_engine_that_removes_padding_does_the_attention_alone_on_the_padded_batch():
    shape = {"layers": 2, "hidden": 8, "ffn": 32, "gated": False}
    alike = corpus_flops([10] * 8, 4, False, shape)
    assert alike["flops_padding_removed"] == alike["flops"] == alike["useful_flops"]
    mixed = corpus_flops([100] + [10] * 7, 4, False, shape)
    attention_padding = 3 * 2 * 4 * (100**2 - 10**2) * 8  # three short rows padded to 100, two layers
    assert mixed["flops_padding_removed"] == mixed["useful_flops"] + attention_padding < mixed["flops"]


def test_the_theoretical_peak_is_cores_times_clock_times_operations():
    peaks = theoretical_peaks(2)
    fp32 = peaks["fp32"]
    assert fp32["peak_flops"] == 2 * fp32["clock_hz"] * fp32["per_cycle"] and fp32["clock_hz"] > 1e8


def test_verify_refuses_a_cell_faster_than_its_formats_peak_naming_it(tmp_path):
    grid = build(tmp_path, {"benchmark": {"methods": ["ort-lean", "baseline"], "batch_sizes": [8], "devices": ["cpu"]}})
    roofline = tmp_path / grid.rooflines()["local"]
    record = json.loads(roofline.read_text())
    record["peaks"]["cpu"]["fp32"]["peak_flops"] = 1e9  # far below what the cells reached
    roofline.write_text(json.dumps(record))
    commands = step_commands(grid, tmp_path)
    make_tables(grid, tmp_path)
    summary = read_summary(tmp_path / grid.results("summary.csv"))
    # Faster than the bound itself: what a peak that is not the machine's reads as.
    assert (summary["pct_of_peak"] > 100).all() and (summary["times_bound"] < 1).all()
    done = subprocess.run(commands["verify"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1 and "ort-lean -d cpu -b 8 on local: inference at" in done.stderr, done.stderr
    assert "the peak is not this machine's" in done.stderr and "snakemake --forcerun roofline" in done.stderr

    # The same peak measured while the host was contended: the contention explains it, the
    # tables flag it and verify passes with a note that says to measure it again.
    load = {"contention": {"foreign_cpu_pct": 48.0, "steal_pct": 0.0}, "quiet_start": {}}
    roofline.write_text(json.dumps({**record, "attempts": [load] * 3, "contended": True}))
    make_tables(grid, tmp_path)
    summary = read_summary(tmp_path / grid.results("summary.csv"))
    shares = summary.dropna(subset=["pct_of_peak"])
    assert len(shares) == 2 and all(value is True for value in shares["peak_contended"])
    tables = (tmp_path / grid.results("tables.md")).read_text()
    assert "% of fp32 (contended peak)" in tables and "the host contended each time (others 48%, steal 0.0%; " in tables
    done = subprocess.run(commands["verify"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (
        "peak measured on a contended or slow host (roofline.json): measure it again once the host is quiet"
        in done.stdout
    )

    # Measured quietly, but in a slow spell the accounting cannot see: the roofline's speed probe
    # read 60% of the cells' (98–104 GFLOP/s): flagged and passed with a note too.
    slow = {**load, "contention": {"foreign_cpu_pct": 0.1, "steal_pct": 0.0}, "host_speed": host_speed(60.0, 62.0)}
    roofline.write_text(json.dumps({**record, "attempts": [slow], "contended": False}))
    make_tables(grid, tmp_path)
    summary = read_summary(tmp_path / grid.results("summary.csv"))
    shares = summary.dropna(subset=["pct_of_peak"])
    assert all(value is True for value in shares["peak_slow_host"]) and not shares["peak_contended"].any()
    tables = (tmp_path / grid.results("tables.md")).read_text()
    share = shares["peak_host_speed_pct"].iloc[0]
    assert 55 < share < 65 and f"the roofline's speed probe read {share:.0f}% of the machine's" in tables
    assert "% of fp32 (slow-host peak)" in tables
    done = subprocess.run(commands["verify"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and "peak measured on a contended or slow host" in done.stdout, done.stderr


def roofline_in_a_process(call: str) -> dict:
    """roofline.<call> on a tiny model shape (`shape`), one thread, in a process of its own (torch,
    ONNX Runtime and their threads stay out of the tests' process); its JSON."""
    shape = {"layers": 1, "hidden": 64, "ffn": 256, "gated": False}
    code = (
        "import json, sys; sys.path[:0] = sys.argv[1:3]; import roofline; shape = json.loads(sys.argv[3]);"
        f"print(json.dumps(roofline.{call}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "workflow/scripts/timing"), str(REPO / "scripts"), json.dumps(shape)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_peaks_are_measured_on_the_methods_own_kernels():
    """A tiny model shape and square keep it quick; every kernel the methods use is a candidate."""
    peaks = roofline_in_a_process("cpu_peaks(1, shape, square=256)")
    assert {name.split()[0] for name in peaks["fp32"]["by_candidate"]} == {"onnxruntime", "torch", "onednn", "numpy"}
    assert {name.split()[0] for name in peaks["int8"]["by_candidate"]} == {"MatMulInteger", "DynamicQuantizeMatMul"}
    assert peaks["fp32"]["peak_flops"] == max(peaks["fp32"]["by_candidate"].values())
    assert peaks["fp32"]["theoretical"]["per_cycle"] in (16, 32, 64)


def test_two_measurements_of_the_peaks_keep_each_products_best_rate():
    first = {"cpu": {"fp32": {"peak_flops": 5, "by_candidate": {"a": 5, "b": 3}, "theoretical": {}}, "threads": 2}}
    second = {"cpu": {"fp32": {"peak_flops": 4, "by_candidate": {"a": 2, "b": 4}}, "threads": 2}}
    merged = best_of(first, second)["cpu"]
    assert merged["fp32"] == {"peak_flops": 5, "by_candidate": {"a": 5, "b": 4}, "theoretical": {}}
    assert merged["threads"] == 2
    assert best_of(second, {"cpu": {"fp32": {"by_candidate": {"a": 9}}}})["cpu"]["fp32"]["peak_flops"] == 9


@pytest.mark.complete
def test_peaks_measured_beside_a_cpu_burner_are_measured_again_and_flagged():
    """Contention only slows a product: each measurement is kept, the best rate of each product wins."""
    with cpu_burner():
        measured = roofline_in_a_process("measure_quietly(1, shape, 128, 0, 0.1)")
    assert measured["contended"] and len(measured["attempts"]) == ATTEMPTS, measured["attempts"]
    assert all(attempt["contention"]["foreign_cpu_pct"] >= 5 for attempt in measured["attempts"])
    fp32 = measured["peaks"]["cpu"]["fp32"]
    assert fp32["peak_flops"] == max(fp32["by_candidate"].values()) and "theoretical" in fp32


def test_a_measured_peak_above_the_theoretical_one_says_what_clock_it_implies():
    from tables import peak_text

    theoretical = {"peak_flops": 166e9, "clock_hz": 2.6e9, "cores": 2, "per_cycle": 32}
    above = peak_text(
        "fp32", {"peak_flops": 225e9, "by_candidate": {"onednn square": 225e9}, "theoretical": theoretical}
    )
    assert above == (
        "fp32 225 GFLOP/s (onednn square; theoretical 166 at the reported 2.60 GHz;"
        " measured above it: the cores run at 3.52 GHz or more)"
    )
    below = peak_text("fp32", {"peak_flops": 100e9, "theoretical": theoretical})
    assert below == "fp32 100 GFLOP/s (theoretical 166 at the reported 2.60 GHz)"


def test_no_busy_or_slow_host_excuses_a_cell_above_the_theoretical_peak(tmp_path):
    """A cell above a contended peak passes with a note only while it stays below the format's
    theoretical peak (cores × clock × operations per cycle), which no contention explains."""
    grid = build(tmp_path, {"benchmark": {"methods": ["ort-lean"], "batch_sizes": [8], "devices": ["cpu"]}})
    roofline = tmp_path / grid.rooflines()["local"]
    record = json.loads(roofline.read_text())
    record["peaks"]["cpu"]["fp32"].update(peak_flops=1e9, theoretical={"peak_flops": 2e9, "clock_hz": 1e9})
    load = {"contention": {"foreign_cpu_pct": 48.0, "steal_pct": 0.0}, "quiet_start": {}}
    roofline.write_text(json.dumps({**record, "attempts": [load] * 3, "contended": True}))
    make_tables(grid, tmp_path)
    done = subprocess.run(step_commands(grid, tmp_path)["verify"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1 and "of the theoretical one" in done.stderr and "no busy or slow host" in done.stderr
