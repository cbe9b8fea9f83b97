#!/usr/bin/env python3
"""serve: a method served under MLPerf's LoadGen in one warm process, in one scenario, its
predictor loaded once (nerlib/serving.py). After a warm-up pass over the corpus (which also gives
LoadGen its expected rate), the performance run(s), then an accuracy run (every sentence once,
through the same path) whose answers are the cell's predictions, in corpus order.

- offline: every sample at once, the method batching them itself;
- single-stream: one sentence at a time, the next when the last is answered;
- server: Poisson arrivals at a target rate, a dynamic batcher in front of the method; the rate is
  searched by bisection of valid runs (LoadGen's VALID: the latency percentile within the bound,
  the run long enough, early stopping met) between a rate it serves sentence by sentence and its
  throughput, and the highest valid rate is the result.

  serve.py --scenario server --corpus data/test-1k.txt --out result.json --predictions p.jsonl
           --log-dir loadgen/ [--engines 1] [--latency-bound-ms 50] ... -- scripts/ort-lean.py -d cpu -b 8 ...

After `--`, the method's own command line without its corpus: a Python method's script runs in this
process (its `PROGRAM`), anything else is a program with a `--serve` mode (the Rust binary).
"""

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

from nerlib.atomic import write_text_atomically
from nerlib.cli import positive_int
from nerlib.corpus import CorpusError, read_corpus
from nerlib.frame import load_program
from nerlib.model_dir import MethodError
from nerlib.serving import InProcess, Piped, Sut, accuracy_answers, parse_detail, run_test

SCENARIOS = {"offline": "Offline", "single-stream": "SingleStream", "server": "Server"}
# What the result keeps of LoadGen's detail log: its effective settings and its results.
KEPT = ("effective_", "result_", "early_stopping_", "generated_", "loadgen_version")
# The server's search for its highest valid rate lies between a rate one predictor keeps up with
# half the time, sentence by sentence (LOW_LOAD / its single-sentence latency), and the warm-up's
# throughput, which batching at most reaches.
LOW_LOAD = 0.5
# Single sentences the warm-up times for that latency.
SINGLE_SENTENCES = 20
# How far an offline run's expected rate is set above the warm-up's (a warm process runs faster).
OFFLINE_HEADROOM = 1.5
# LoadGen's early stopping needs about 660 queries before it can call a p99 within its bound (it
# says so in its log); MLPerf's least single-stream run is 1,024 queries.
SERVER_MIN_QUERIES = 1024


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=SCENARIOS)
    parser.add_argument(
        "--overhead",
        action="store_true",
        help="measure the harness alone: LoadGen in every scenario against a predictor that answers at once, "
        "and the program's pipe with requests of no sentence",
    )
    for name in ("corpus", "out", "predictions", "log-dir"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--engines", type=positive_int, default=1, help="predictors side by side, each its own")
    parser.add_argument("--min-duration-s", type=float, default=10.0, help="each performance run's least duration")
    parser.add_argument("--latency-bound-ms", type=float, default=50.0, help="the server's latency bound")
    parser.add_argument("--latency-percentile", type=float, default=99.0, help="the percentile it bounds")
    parser.add_argument("--batching-delay-ms", type=float, default=2.0, help="how long a server batch waits to fill")
    parser.add_argument("--server-runs", type=positive_int, default=6, help="performance runs of the rate search")
    parser.add_argument("--seed", type=int, default=0, help="LoadGen's schedule and sample order")
    parser.add_argument("method", nargs=argparse.REMAINDER, help="-- PROGRAM [OPTIONS...]")
    args = parser.parse_args(argv)
    if args.method[:1] == ["--"]:
        args.method = args.method[1:]
    if not args.method:
        parser.error("give the method's command line after --")
    if not args.overhead and not args.scenario:
        parser.error("give --scenario (or --overhead)")
    if not 0 < args.latency_percentile < 100 or args.latency_bound_ms <= 0:
        parser.error("--latency-bound-ms must be above 0 and --latency-percentile between 0 and 100")
    return args


def load_engines(args, log_dir: Path) -> list:
    """The method's predictor, `--engines` times: its own PROGRAM here, or its --serve process."""
    program, options = args.method[0], args.method[1:]
    if program.endswith(".py"):
        loaded = load_program(program)
        method_args = loaded.parse_args([*options, args.corpus])
        return [InProcess(loaded, method_args) for _ in range(args.engines)]
    return [Piped([program, *options], log_dir / f"engine-{index}.stderr") for index in range(args.engines)]


def batch_size_of(options: list[str]) -> int:
    return int(options[options.index("-b") + 1]) if "-b" in options else 1


def warm_up(engines: list, lines: list[str]) -> float:
    """Every engine over the corpus at once, twice (the first pass pays the first calls' costs);
    the rate they reached together the second time, sentences per second."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(engines)) as pool:
        list(pool.map(lambda engine: engine.predict(lines), engines))
        started = time.perf_counter()
        list(pool.map(lambda engine: engine.predict(lines), engines))
    return len(engines) * len(lines) / (time.perf_counter() - started)


def loadgen_settings(args, samples: int, rate: float, accuracy: bool):
    import mlperf_loadgen as lg

    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, SCENARIOS[args.scenario])
    settings.mode = lg.TestMode.AccuracyOnly if accuracy else lg.TestMode.PerformanceOnly
    # Each performance run issues at least as many queries as the corpus has sentences; a server's,
    # at least SERVER_MIN_QUERIES, or LoadGen's early stopping cannot call any p99 run valid.
    settings.min_query_count = max(samples, SERVER_MIN_QUERIES) if args.scenario == "server" else samples
    settings.min_duration_ms = int(args.min_duration_s * 1000)
    # Offline issues one query of expected rate × least duration samples: at least the corpus, and
    # more than the warm-up's rate gets through in that time, or the run ends too soon to be valid.
    settings.offline_expected_qps = max(OFFLINE_HEADROOM * rate, samples / args.min_duration_s)
    settings.single_stream_expected_latency_ns = int(1e9 / rate)
    settings.server_target_qps = rate
    settings.server_target_latency_ns = int(args.latency_bound_ms * 1e6)
    settings.server_target_latency_percentile = args.latency_percentile / 100
    for name in ("qsl_rng_seed", "sample_index_rng_seed", "schedule_rng_seed"):
        setattr(settings, name, args.seed)
    return settings


class Runner:
    """The LoadGen runs of one cell, numbered, each with its logs and what LoadGen said of it."""

    def __init__(self, args, sut: Sut, samples: int):
        self.args, self.sut, self.samples = args, sut, samples
        self.runs: list[dict] = []

    def test(self, rate: float, log_dir: Path, accuracy: bool) -> None:
        """One LoadGen test of the SUT at `rate`, its logs in log_dir (no trace: empty unless asked for)."""
        run_test(self.sut, loadgen_settings(self.args, self.samples, rate, accuracy=accuracy), log_dir, self.samples)
        self.check_engines()
        (log_dir / "mlperf_log_trace.json").unlink(missing_ok=True)

    def perform(self, rate: float) -> dict:
        log_dir = Path(self.args.log_dir) / f"run-{len(self.runs)}"
        self.test(rate, log_dir, accuracy=False)
        detail = parse_detail(log_dir)
        run = {
            "mode": "performance",
            "target_qps": rate,
            "log_dir": str(log_dir),
            "loadgen": {key: value for key, value in detail.items() if key.startswith(KEPT)},
        }
        self.runs.append(run)
        return run

    def answers(self, rate: float) -> list[str]:
        """The accuracy run: every sentence once, answered through the scenario's own path."""
        log_dir = Path(self.args.log_dir) / "accuracy"
        self.sut.respond = True
        try:
            self.test(rate, log_dir, accuracy=True)
        finally:
            self.sut.respond = False
        return accuracy_answers(log_dir, self.samples)

    def check_engines(self) -> None:
        if self.sut.failure:
            raise MethodError(self.sut.failure)


def valid(run: dict) -> bool:
    return run["loadgen"].get("result_validity") == "VALID"


def search_server_rate(runner: Runner, throughput: float, latency_s: float) -> dict | None:
    """The highest valid rate, by a bisection of valid runs within `server_runs` runs. It starts
    low: LOW_LOAD / the single-sentence latency (or the throughput if lower); while a run is not
    valid it halves the rate (a method slower under arrivals than its warm-up said), then it halves
    the gap between the highest valid rate and the lowest invalid one (the throughput at first) on
    a log scale. None when no run was valid."""
    rate, high = min(throughput, LOW_LOAD / latency_s), throughput
    runs = runner.args.server_runs
    while not valid(runner.perform(rate)):
        runs -= 1
        if not runs:
            return None
        rate, high = rate / 2, rate
    low = rate
    for _ in range(runs - 1):
        rate = math.sqrt(low * high)
        if valid(runner.perform(rate)):
            low = rate
        else:
            high = rate
    return max((run for run in runner.runs if valid(run)), key=lambda run: run["target_qps"])


def run_offline(runner: Runner, rate: float) -> dict:
    """The offline run; run again once at the rate it reached when it ended before its least
    duration because the warm-up's rate, and its headroom, were too low for a warm process."""
    run = runner.perform(rate)
    reached = run["loadgen"].get("result_samples_per_second", 0.0)
    if not valid(run) and run["loadgen"].get("result_min_duration_met") is False and reached > rate:
        run = runner.perform(reached)
    return run


def single_latency(engine, lines: list[str]) -> float:
    """The median seconds one predictor takes for one sentence alone."""
    import statistics

    took = []
    for line in lines[:SINGLE_SENTENCES]:
        started = time.perf_counter()
        engine.predict([line])
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def serve(args) -> dict:
    lines = read_corpus(args.corpus)
    if not lines:
        raise MethodError(f"{args.corpus}: no sentences to serve")
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    engines = load_engines(args, log_dir)
    try:
        rate = warm_up(engines, lines)
        batch_size = batch_size_of(args.method[1:]) if args.scenario == "server" else 1
        sut = Sut(engines, lines, args.scenario, batch_size, args.batching_delay_ms / 1000)
        runner = Runner(args, sut, len(lines))
        if args.scenario == "server":
            latency = single_latency(engines[0], lines)
            chosen = search_server_rate(runner, rate, latency)
            answers = runner.answers(chosen["target_qps"] if chosen else min(rate, LOW_LOAD / latency))
        elif args.scenario == "offline":
            chosen = run_offline(runner, rate)
            answers = runner.answers(rate)
        else:
            chosen = runner.perform(rate)
            answers = runner.answers(rate)
    finally:
        for engine in engines:
            engine.close()
    return {
        "peak_rss_bytes": peak_rss_bytes(),
        "scenario": args.scenario,
        "engines": len(engines),
        "load_seconds": max(engine.load_seconds for engine in engines),
        "warm_up_sentences_per_second": rate,
        "runs": runner.runs,
        "result_run": runner.runs.index(chosen) if chosen else None,
        "sentences": len(lines),
        "answers": answers,
    }


class Instant:
    """A predictor that answers at once, with no entities: what LoadGen and the SUT cost alone."""

    load_seconds = 0.0

    def predict(self, lines: list[str]) -> list[str]:
        return ["[]"] * len(lines)

    def close(self) -> None:
        pass


# Queries of the harness's own measurements, and the server's rate there: far above any method's.
ROUND_TRIPS, INSTANT_SERVER_QPS = 2000, 2000.0


def overhead(args) -> dict:
    """The harness's own costs: each scenario under LoadGen against the instant predictor, and the
    round trip of the program's pipe (a request of no sentence, which never reaches the model)."""
    lines = read_corpus(args.corpus)
    Path(args.log_dir).mkdir(parents=True, exist_ok=True)
    found = {"pipe_round_trip_ms": pipe_round_trips(args)}
    for scenario in SCENARIOS:
        args.scenario = scenario
        sut = Sut([Instant()], lines, scenario, batch_size_of(args.method[1:]), args.batching_delay_ms / 1000)
        run = Runner(args, sut, len(lines)).perform(INSTANT_SERVER_QPS)
        found[scenario] = {key: value for key, value in run["loadgen"].items() if key.startswith("result_")}
    return found


def pipe_round_trips(args) -> dict:
    import statistics

    engine = Piped(args.method, Path(args.log_dir) / "engine.stderr")
    try:
        took = []
        for _ in range(ROUND_TRIPS):
            started = time.perf_counter()
            engine.predict([])
            took.append(1000 * (time.perf_counter() - started))
    finally:
        engine.close()
    cuts = statistics.quantiles(took, n=100)
    return {"p50": statistics.median(took), "p99": cuts[98], "mean": statistics.fmean(took)}


def peak_rss_bytes() -> int:
    """The largest resident memory of this process and of the engines it ran (Linux counts KiB)."""
    import resource

    return 1024 * max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def main() -> None:
    args = parse_arguments()
    with tempfile.TemporaryDirectory() as scratch:
        if args.log_dir == "-":  # logs not kept
            args.log_dir = scratch
        try:
            if args.overhead:
                write_text_atomically(args.out, json.dumps(overhead(args), indent=1) + "\n")
                return
            served = serve(args)
        except (CorpusError, MethodError) as error:
            sys.exit(f"serve.py: error: {error}")
    answers = served.pop("answers")
    write_text_atomically(args.predictions, "".join(f"{answer}\n" for answer in answers))
    write_text_atomically(args.out, json.dumps(served, indent=1) + "\n")


if __name__ == "__main__":
    main()
