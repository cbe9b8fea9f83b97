"""Serving scenarios under MLPerf's LoadGen: offline, single-stream and server cells for a Python
and the Rust method on the smoke model, their accuracy runs against the process cells, the dynamic
batcher, the harness's own costs, and what a bad setting or a dying method gives."""

import os
import subprocess
import sys

import pytest
import yaml

import ort_dylib
from conftest import (
    LEAN,
    REPO,
    SCRIPTS,
    SMOKE,
    TRICKY,
    config_error_of,
    grid_of,
    planned_jobs,
    read_json,
    run_method,
    run_rust,
    run_snakemake,
)
from nerbench.record import CellRecord, Status
from nerbench.registry import Registry

SERVED = ["ort-lean", "onnxruntime-ner"]
SCENARIOS = ["offline", "single-stream", "server"]
# Second-long runs: the smoke model's tests check the chain, not the figures.
SERVING = {"methods": SERVED, "batch_sizes": ["best"], "min_duration_s": 1, "server_runs": 2}


def serving_config(tmp_path, **serving) -> "os.PathLike":
    """The smoke config serving the lean Python method and the Rust binary in every scenario (their
    process cells are the smoke run's own: the best batch size comes from them)."""
    settings = yaml.safe_load(SMOKE.read_text())
    settings["benchmark"]["scenarios"] = ["process", *SCENARIOS]
    settings["serving"] = {**SERVING, **serving}
    path = tmp_path / "serving.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def serve_command(smoke_models, tmp_path, scenario, *options, program=None):
    program = program or [str(REPO / LEAN), "-d", "cpu", "-b", "4", "-m", str(smoke_models["onnx"])]
    return [
        sys.executable,
        str(SCRIPTS / "serve.py"),
        *("--scenario", scenario, "--corpus", str(TRICKY)),
        *("--out", str(tmp_path / "serve.json"), "--predictions", str(tmp_path / "p.jsonl")),
        *("--log-dir", str(tmp_path / "loadgen"), "--min-duration-s", "0.5", "--server-runs", "1", *options),
        "--",
        *program,
    ]


# ---- the grid ---------------------------------------------------------------------------------


def test_serving_cells_are_their_own_and_leave_every_process_cell_as_it_is(tmp_path):
    process = grid_of({"benchmark": {"scenarios": ["process"]}}, tmp_path)
    served = grid_of({"benchmark": {"scenarios": ["process", *SCENARIOS]}, "serving": {"methods": SERVED}}, tmp_path)
    old = {cell.key: cell.path("result") for cell in process.cells}
    assert {cell.key: cell.path("result") for cell in served.cells if not cell.serving} == old
    assert all(process.timing_settings(cell, "h") == served.timing_settings(cell, "h") for cell in process.cells)
    serving = [cell for cell in served.cells if cell.serving and cell.device == "cpu"]
    assert {(cell.method.name, cell.scenario, cell.batch_size) for cell in serving} == {
        (method, scenario, batch_size)
        for method in SERVED
        for scenario in SCENARIOS
        for batch_size in ([1] if scenario == "single-stream" else [1, "best"])
    }
    cell = next(cell for cell in serving if cell.scenario == "server" and cell.batch_size == "best")
    assert cell.path("result") == "results/serving/server/ort-lean/cpu-best.json"
    assert served.cell(cell.key) is cell


def test_parallelism_wins_over_the_methods_own_threads_and_sessions(tmp_path):
    grid = grid_of(
        {
            "benchmark": {"methods": ["ort-lean", "ort-lean+dp"], "scenarios": ["process", "offline"]},
            "serving": {"methods": ["ort-lean", "ort-lean+dp"], "parallelism": ["2x1"], "batch_sizes": [8]},
        },
        tmp_path,
    )
    commands = {
        cell.method.name: cell.serving_command("M", "C", grid.config["serving"])
        for cell in grid.cells
        if cell.serving and cell.device == "cpu"
    }
    plain, parallel = commands["ort-lean"], commands["ort-lean+dp"]
    assert plain[plain.index("--engines") + 1] == "2" and plain[plain.index("--threads") + 1] == "1"
    assert parallel[parallel.index("--engines") + 1] == "1"
    assert parallel[parallel.index("--threads") + 1] == "2" and parallel[parallel.index("--workers") + 1] == "2"
    assert "results/serving/offline@2x1/ort-lean/cpu-bs8.json" in {
        cell.path("result") for cell in grid.cells if cell.serving
    }


def test_a_server_serves_a_parallel_method_as_predictors_of_one_thread_single_stream_as_one(tmp_path):
    grid = grid_of(
        {
            "benchmark": {"methods": ["ort-lean+dp"], "scenarios": ["process", "server", "single-stream"]},
            "serving": {"methods": ["ort-lean+dp"], "parallelism": ["auto", "3x2"], "batch_sizes": [8]},
        },
        tmp_path,
    )
    commands = {
        cell.parallelism: cell.serving_command("M", "C", grid.config["serving"])
        for cell in grid.cells
        if cell.scenario == "server" and cell.device == "cpu"
    }
    auto, fixed = commands["auto"], commands["3x2"]
    assert auto[auto.index("--engines") + 1] == "{threads}" and auto[auto.index("--threads") + 1] == "1"
    single = next(cell for cell in grid.cells if cell.scenario == "single-stream" and cell.parallelism == "auto")
    alone = single.serving_command("M", "C", grid.config["serving"])  # one request at a time: one predictor
    assert alone[alone.index("--engines") + 1] == "1" and alone[alone.index("--threads") + 1] == "{threads}"
    assert "--workers" not in alone
    assert fixed[fixed.index("--engines") + 1] == "3" and fixed[fixed.index("--threads") + 1] == "2"
    assert "--workers" not in auto and "--workers" not in fixed


class ScriptedRunner:
    """serve.py's Runner with LoadGen replaced by a script of what each run would say."""

    def __init__(self, says, server_runs=6):
        self.says, self.runs = says, []
        self.args = type("Args", (), {"server_runs": server_runs})()

    def perform(self, rate: float) -> dict:
        run = {"target_qps": rate, "loadgen": self.says(rate)}
        self.runs.append(run)
        return run


def test_an_offline_run_too_short_for_its_least_duration_runs_again_at_the_rate_it_reached():
    import serve

    def says(rate):  # the warm process does 1,500 a second: a run expecting 1,000 ends too soon
        ok = rate >= 1500
        return {
            "result_validity": "VALID" if ok else "INVALID",
            "result_min_duration_met": ok,
            "result_samples_per_second": 1500.0,
        }

    runner = ScriptedRunner(says)
    chosen = serve.run_offline(runner, 1000.0)
    assert [run["target_qps"] for run in runner.runs] == [1000.0, 1500.0] and serve.valid(chosen)
    slower = ScriptedRunner(lambda rate: {"result_validity": "INVALID", "result_min_duration_met": True})
    assert not serve.valid(serve.run_offline(slower, 1000.0)) and len(slower.runs) == 1  # invalid for another reason


def test_the_server_search_keeps_the_highest_valid_rate_going_down_first_where_it_must():
    import serve

    runner = ScriptedRunner(lambda rate: {"result_validity": "VALID" if rate <= 700 else "INVALID"})
    chosen = serve.search_server_rate(runner, throughput=1000.0, latency_s=0.002)
    rates = [run["target_qps"] for run in runner.runs]
    assert rates[0] == 250.0 and min(rates) == 250.0 and len(rates) == 6  # LOW_LOAD / 2 ms, valid: only up
    assert chosen["target_qps"] == max(rate for rate in rates if rate <= 700) and chosen["target_qps"] > 600
    slow = ScriptedRunner(lambda rate: {"result_validity": "VALID" if rate <= 100 else "INVALID"})
    chosen = serve.search_server_rate(slow, throughput=1000.0, latency_s=0.002)
    rates = [run["target_qps"] for run in slow.runs]
    assert rates[:3] == [250.0, 125.0, 62.5] and len(rates) == 6 and 80 < chosen["target_qps"] <= 100, rates
    hopeless = ScriptedRunner(lambda rate: {"result_validity": "INVALID"})
    assert serve.search_server_rate(hopeless, 1000.0, 0.002) is None and len(hopeless.runs) == 6


@pytest.mark.parametrize(
    "override, error",
    [
        ({"benchmark": {"scenarios": ["replay"]}}, "benchmark.scenarios[0]: 'replay' is not one of"),
        ({"serving": {"latency_bound_ms": 0}}, "serving.latency_bound_ms: 0 is less than or equal to the minimum"),
        ({"serving": {"parallelism": ["2 by 1"]}}, "serving.parallelism[0]: '2 by 1' does not match"),
        (
            {"benchmark": {"scenarios": ["process", "server"]}, "serving": {"methods": []}},
            "benchmark.scenarios: server needs the methods to serve",
        ),
        (
            {
                "benchmark": {"devices": ["cpu"], "methods": ["ort-lean"]},
                "serving": {"methods": ["ort-lean@o4"], "batch_sizes": [8]},
            },
            "serving.methods[0]: ort-lean@o4 runs on cuda only",
        ),
    ],
)
def test_a_bad_serving_setting_is_one_line_naming_the_key(tmp_path, override, error):
    found = config_error_of(override, tmp_path)
    assert found is not None and error in found, found


def test_a_method_not_timed_as_a_process_is_not_served_at_its_best_batch_size_and_says_why(tmp_path):
    grid = grid_of({"benchmark": {"methods": ["ort-lean"]}, "serving": {"methods": ["ort-lean", "ct2-lean"]}}, tmp_path)
    assert {cell.method.name for cell in grid.cells if cell.serving} == {"ort-lean"}
    assert "ct2-lean is not timed as a process" in grid.unserved("ct2-lean") and not grid.unserved("ort-lean")
    explicit = grid_of(
        {"benchmark": {"methods": ["ort-lean"]}, "serving": {"methods": ["ct2-lean"], "batch_sizes": [8]}}, tmp_path
    )
    assert {cell.method.name for cell in explicit.cells if cell.serving} == {"ct2-lean"}


def test_a_part_of_a_method_can_refuse_a_scenario():
    document = yaml.safe_load((REPO / "workflow/methods.yaml").read_text())
    document["options"]["sort"]["scenarios"] = ["process", "offline"]
    registry = Registry(document)
    assert registry.parse("ort-lean+sort").scenarios == {"process", "offline"}
    assert registry.parse("ort-lean").scenarios == {"process", "offline", "single-stream", "server"}


# ---- serve.py on the smoke model --------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_scenario_answers_every_sentence_as_the_method_does(smoke_models, tmp_path, scenario):
    """The accuracy run's answers, in corpus order, are the method's own -o output: the same
    bytes where the batches are the method's (offline, single-stream at batch size 1)."""
    options = ["-d", "cpu", "-b", "1", "-m", str(smoke_models["onnx"])]
    run_method(LEAN, *options, "-o", tmp_path / "own.jsonl", TRICKY)
    subprocess.run(serve_command(smoke_models, tmp_path, scenario, program=[str(REPO / LEAN), *options]), check=True)
    assert (tmp_path / "p.jsonl").read_bytes() == (tmp_path / "own.jsonl").read_bytes()
    served = read_json(tmp_path / "serve.json")
    assert served["scenario"] == scenario and served["runs"] and served["load_seconds"] > 0
    loadgen = served["runs"][-1]["loadgen"]
    issued = loadgen["generated_query_count"] * loadgen["generated_samples_per_query"]
    assert issued >= served["sentences"], loadgen  # every performance run: at least the corpus
    assert (tmp_path / "loadgen" / "accuracy" / "mlperf_log_accuracy.json").is_file()


def test_the_rust_binary_is_served_through_its_pipe(smoke_models, tmp_path):
    program = [str(smoke_models["rust"]), "-d", "cpu", "-b", "4", "-m", str(smoke_models["onnx"]), "--sort"]
    run_rust(*program, "-o", tmp_path / "own.jsonl", TRICKY)
    env = {**os.environ, "ORT_DYLIB_PATH": str(ort_dylib.library_path())}
    subprocess.run(serve_command(smoke_models, tmp_path, "offline", program=program), check=True, env=env)
    assert (tmp_path / "p.jsonl").read_bytes() == (tmp_path / "own.jsonl").read_bytes()


def test_a_rate_no_run_can_hold_is_recorded_as_no_valid_run(smoke_models, tmp_path):
    subprocess.run(serve_command(smoke_models, tmp_path, "server", "--latency-bound-ms", "0.001"), check=True)
    served = read_json(tmp_path / "serve.json")
    assert served["result_run"] is None and len(served["runs"]) == 1
    assert all(run["loadgen"]["result_validity"] == "INVALID" for run in served["runs"])
    assert (tmp_path / "p.jsonl").is_file()  # the accuracy run still answers every sentence


def test_the_dynamic_batcher_forms_batches_of_at_most_the_batch_size(tmp_path):
    from nerlib.serving import Sut, run_test
    from serve import loadgen_settings, parse_arguments

    sizes = []

    class Recording:
        def predict(self, lines):
            sizes.append(len(lines))
            return ["[]"] * len(lines)

    lines = [f"sentence {index}" for index in range(200)]
    args = parse_arguments(
        ["--scenario", "server", "--corpus", "-", "--out", "-", "--predictions", "-", "--log-dir", "-"]
        + ["--min-duration-s", "0.5", "--batching-delay-ms", "20", "--", "x"]
    )
    sut = Sut([Recording()], lines, "server", 4, 0.02)
    run_test(sut, loadgen_settings(args, len(lines), 2000.0, accuracy=False), tmp_path, len(lines))
    assert sum(sizes) >= len(lines) and max(sizes) == 4, sizes


def test_a_method_that_dies_mid_run_is_one_line(smoke_models, tmp_path):
    dying = tmp_path / "dying.py"
    dying.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(SCRIPTS)!r})\n"
        "from nerlib.frame import Program\n"
        "calls = []\n"
        "def load(args):\n"
        "    def predict(lines, timer):\n"
        "        calls.append(1)\n"
        "        if len(calls) > 3:\n"
        "            raise RuntimeError('the engine fell over')\n"
        "        return [[] for _ in lines]\n"
        "    return predict\n"
        "PROGRAM = Program('dies', 'onnx', load)\n"
    )
    command = serve_command(smoke_models, tmp_path, "single-stream", program=[str(dying), "-m", str(tmp_path)])
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1] == "serve.py: error: the engine fell over"


def test_the_harness_costs_are_measured_alone(smoke_models, tmp_path):
    program = [str(smoke_models["rust"]), "-d", "cpu", "-m", str(smoke_models["onnx"])]
    env = {**os.environ, "ORT_DYLIB_PATH": str(ort_dylib.library_path())}
    command = serve_command(smoke_models, tmp_path, "offline", program=program)
    command[command.index("--scenario") : command.index("--scenario") + 2] = ["--overhead"]
    subprocess.run(command, check=True, env=env)
    found = read_json(tmp_path / "serve.json")
    assert 0 < found["pipe_round_trip_ms"]["p50"] < 50
    assert set(found) == {"pipe_round_trip_ms", *SCENARIOS}
    assert found["server"]["result_99.00_percentile_latency_ns"] > 0


# ---- the workflow -----------------------------------------------------------------------------


def test_a_serving_grid_times_only_its_serving_cells_and_tabulates_them(smoke_clone, tmp_path):
    config = serving_config(tmp_path)
    plan = planned_jobs(run_snakemake(smoke_clone["workdir"], "-n", "--cores", "2", configfile=config).stdout)
    assert plan["serve_cell"] == len(SERVED) * len(SCENARIOS) and "benchmark_cell" not in plan, plan
    assert plan["serving_overhead"] == 1 and plan["check_serving"] == len(SERVED) * len(SCENARIOS)
    run_snakemake(smoke_clone["workdir"], "--cores", "2", configfile=config)
    results = smoke_clone["results"]
    for method in SERVED:
        for scenario in SCENARIOS:
            batch = "bs1" if scenario == "single-stream" else "best"
            record = CellRecord.read(results / f"serving/{scenario}/{method}/cpu-{batch}.json")
            assert record.status == Status.OK and record.serving.scenario == scenario, (method, scenario)
            assert record.serving.runs and record.threads.threads >= 1
            check = read_json(results / f"checks/serving/{scenario}/{method}/cpu-{batch}.json")
            assert check["agreement_pct"] == 100.0, (method, scenario, check["differences"][:1])
    tables = (results / "tables.md").read_text()
    head = "\n".join(tables.splitlines()[:12])
    for scenario in ("offline", "single-stream", "server"):
        assert f"CPU, {scenario}" in head, head
    assert "Not MLPerf-compliant" in tables and "The harness alone, on this machine" in tables
    assert (results / "verified.txt").is_file()
    header = (results / "summary.csv").read_text().splitlines()[0].split(",")
    assert {"scenario", "sentences_per_s", "latency_p99_ms", "server_qps"} <= set(header)
