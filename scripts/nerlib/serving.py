"""A method served under MLPerf's LoadGen: its predictor loaded once, then queries, one corpus
sentence each, answered through the method's own code (tokenizer, batching, inference, decoding).

- An `Engine` answers a list of sentences with their JSON lines, exactly the lines `-o` writes:
  `InProcess` runs a Python method's own `PROGRAM` (nerlib.frame) in this process; `Piped` talks to
  the Rust binary's `--serve` process over a pipe (a count line, then that many lines, each way).
- `Sut` is LoadGen's system under test for one scenario: offline (every sample at once, batched by
  the method itself, sorted where +sort), single-stream (one sentence at a time), server (a dynamic
  batcher: a batch of at most the cell's batch size, or what arrived within the batching delay).
  Answers are completed from threads that live as long as the test: LoadGen's logger keeps a
  buffer per completing thread and crashes if such a thread ends mid-test.

LoadGen is imported when a test starts, so a method's own runs never pay for it.
"""

import array
import queue
import subprocess
import threading
import time
from pathlib import Path

from .model_dir import MethodError
from .output import format_entities
from .timings import PhaseTimer

STOP = object()


class EngineError(MethodError):
    """The engine died or answered out of turn: the cell fails with this line."""


class InProcess:
    """A Python method's predictor, loaded once in this process."""

    def __init__(self, program, args):
        self.timer = PhaseTimer()
        started = time.perf_counter()
        self.predict_entities = program.load(args)
        self.load_seconds = time.perf_counter() - started

    def predict(self, lines: list[str]) -> list[str]:
        return [format_entities(entities) for entities in self.predict_entities(lines, self.timer)]

    def close(self) -> None:
        pass


class Piped:
    """The Rust binary's --serve process: loaded once, answering framed requests on its pipes."""

    def __init__(self, argv: list[str], stderr_path: Path):
        self.argv, self.stderr_path = argv, stderr_path
        started = time.perf_counter()
        with open(stderr_path, "ab") as stderr:
            self.process = subprocess.Popen(
                [*argv, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1
            )
        self.expect("ready")
        self.load_seconds = time.perf_counter() - started

    def predict(self, lines: list[str]) -> list[str]:
        try:
            self.process.stdin.write(f"{len(lines)}\n" + "".join(f"{line}\n" for line in lines))
            self.process.stdin.flush()
        except OSError:
            raise EngineError(self.died()) from None
        self.expect(str(len(lines)))
        answers = [self.process.stdout.readline() for _ in lines]
        if any(not answer.endswith("\n") for answer in answers):
            raise EngineError(self.died())
        return [answer[:-1] for answer in answers]

    def expect(self, line: str) -> None:
        found = self.process.stdout.readline()
        if found != f"{line}\n":
            raise EngineError(self.died() if not found else f"{self.argv[0]} --serve answered {found!r}, not {line!r}")

    def died(self) -> str:
        code = self.process.wait(timeout=10)
        lines = [line for line in self.stderr_path.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1] if lines else f"{self.argv[0]} --serve ended (exit code {code})"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


class Sut:
    """LoadGen's system under test: the engines (one per worker), the corpus's sentences, and how a
    scenario hands them queries. `respond`: complete with the answers' bytes (accuracy runs) or
    without (performance runs, which LoadGen does not log)."""

    def __init__(self, engines: list, lines: list[str], scenario: str, batch_size: int, delay_s: float):
        self.engines, self.lines = engines, lines
        self.scenario, self.batch_size, self.delay_s = scenario, batch_size, delay_s
        self.respond = False
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.failure: str | None = None
        self.workers: list[threading.Thread] = []
        self.lock = threading.Lock()  # LoadGen's completion call from several workers, one at a time

    def start(self) -> None:
        work = self.serve_batches if self.scenario == "server" else self.serve_jobs
        self.workers = [threading.Thread(target=work, args=(engine,), daemon=True) for engine in self.engines]
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        for _ in self.workers:
            self.queue.put(STOP)
        for worker in self.workers:
            worker.join()

    # ---- LoadGen's callbacks: they copy what they need, LoadGen frees its list on return ----

    def issue(self, samples) -> None:
        queries = [(sample.id, sample.index) for sample in samples]
        if self.scenario == "server":
            for query in queries:
                self.queue.put(query)
        elif self.scenario == "offline":
            # Every sample at once: each worker takes an equal share, batched by the method itself.
            share = -(-len(queries) // len(self.engines))
            for start in range(0, len(queries), share):
                self.queue.put(queries[start : start + share])
        else:
            self.queue.put(queries)

    def flush(self) -> None:
        pass

    # ---- the workers ----

    def serve_jobs(self, engine) -> None:
        while (job := self.queue.get()) is not STOP:
            self.answer(engine, job)

    def serve_batches(self, engine) -> None:
        """The dynamic batcher: the first query waiting, then whatever arrives within the delay, up
        to the batch size."""
        while (first := self.queue.get()) is not STOP:
            batch, deadline = [first], time.monotonic() + self.delay_s
            while len(batch) < self.batch_size:
                try:
                    item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is STOP:
                    self.queue.put(STOP)
                    break
                batch.append(item)
            self.answer(engine, batch)

    def answer(self, engine, queries: list[tuple[int, int]]) -> None:
        import mlperf_loadgen as lg

        try:
            answers = engine.predict([self.lines[index] for _, index in queries]) if self.failure is None else None
        except Exception as error:  # the engine died: the cell fails with its line
            self.failure = self.failure or (str(error).splitlines() or [type(error).__name__])[0]
            answers = None
        if answers is None:
            answers = [""] * len(queries)
        buffers = [array.array("B", answer.encode()) for answer in answers] if self.respond else []
        where = [buffer.buffer_info() for buffer in buffers] or [(0, 0)] * len(queries)
        responses = [lg.QuerySampleResponse(query_id, *at) for (query_id, _), at in zip(queries, where, strict=True)]
        with self.lock:
            lg.QuerySamplesComplete(responses)


def run_test(sut: Sut, settings, log_dir: Path, samples: int) -> None:
    """One LoadGen test of the SUT with these settings, its logs in `log_dir`."""
    import mlperf_loadgen as lg

    log_dir.mkdir(parents=True, exist_ok=True)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(log_dir)
    log_settings.log_output.copy_summary_to_stdout = False
    handle = lg.ConstructSUT(sut.issue, sut.flush)
    library = lg.ConstructQSL(samples, samples, lambda _: None, lambda _: None)
    sut.start()
    try:
        lg.StartTestWithLogSettings(handle, library, settings, log_settings)
    finally:
        sut.stop()
        lg.DestroyQSL(library)
        lg.DestroySUT(handle)


def parse_detail(log_dir: Path) -> dict:
    """LoadGen's results and effective settings from its detail log (one JSON object a line)."""
    import json

    found = {}
    for line in (log_dir / "mlperf_log_detail.txt").read_text(errors="replace").splitlines():
        if line.startswith(":::MLLOG "):
            entry = json.loads(line[len(":::MLLOG ") :])
            found[entry["key"]] = entry["value"]
    return found


def accuracy_answers(log_dir: Path, samples: int) -> list[str]:
    """The accuracy run's answer to every sample, in corpus order (LoadGen logs each as hex)."""
    import json

    logged = json.loads((log_dir / "mlperf_log_accuracy.json").read_text())
    answers: list[str | None] = [None] * samples
    for entry in logged:
        answers[entry["qsl_idx"]] = bytes.fromhex(entry["data"]).decode()
    missing = [index for index, answer in enumerate(answers) if answer is None]
    if missing:
        raise EngineError(f"the accuracy run answered {samples - len(missing)} of {samples} sentences")
    return answers
