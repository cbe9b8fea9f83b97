#!/usr/bin/env python3
"""Time one grid cell with hyperfine and keep its JSON export, with the cell and environment.

The timed command is the method's own command line, which also writes the cell's predictions
(checked later) and phase timings. The result is written only when hyperfine finishes: a
killed or interrupted run leaves no result file that a later run would take as done. A
program that fails or outlasts the time limit, or a host without hyperfine, gives a result
marked "failed" with the reason and the log's path, so the rest of the grid and the tables go
on and the failure is listed.

Ended by a signal the way a scheduler ends a job (SIGTERM at a time limit, `scancel`,
pre-emption; SIGHUP when its terminal goes), it stops hyperfine and the timed program with it,
records nothing and exits non-zero, so a requeued job times the cell again.
"""

import argparse
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import common
import environment
import host_load
import ort_dylib
from gpu_memory import GroupGpuMemory
from nerbench.jobs import FAILURE_RERUN_S
from nerbench.record import (
    CellIdentity,
    CellRecord,
    Contention,
    HostSpeed,
    LoadgenRun,
    QuietStart,
    Runs,
    Serving,
    Status,
    Threads,
    write_atomically,
)

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(Exception):
    """A stopping signal arrived while the cell was being timed."""


def method_command(args) -> list[str]:
    """The cell's command (nerbench.grid.Cell.command, built by the rule) with what only this node
    knows filled in: its Python, where the repository is, the threads benchmark.threads resolves to
    here (physical cores for 0), and a BEST serving cell's batch size (left as it is where no
    process cell of its method ran)."""
    fill = {"python": sys.executable, "repo": str(common.REPO), "threads": str(args.threads)}
    best = best_batch_size(args.best_of) if args.best_of else None
    fill["batch_size"] = str(best) if best else "{batch_size}"
    return [part.format(**fill) for part in args.command]


def option(command: list[str], flag: str, default=None):
    """The value the command gives `flag` (its first), or `default`."""
    return command[command.index(flag) + 1] if flag in command else default


def thread_use(command: list[str]) -> Threads:
    """The threads the cell runs with: the program's --threads, in --workers sessions (+dp) of their
    share, times a serving cell's --engines (predictors side by side)."""
    threads, workers, engines = (int(option(command, flag, 1)) for flag in ("--threads", "--workers", "--engines"))
    return Threads(threads=threads * engines, workers=workers * engines, intra_op=threads // workers)


# Ends a process group when this process dies, however it dies (SIGKILL included, where no
# handler of ours runs): the kernel sends it SIGTERM when its parent goes (PR_SET_PDEATHSIG).
GROUP_GUARD = """
import ctypes, os, signal, sys
group, parent = int(sys.argv[1]), int(sys.argv[2])
def end(*_):
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os._exit(0)
signal.signal(signal.SIGTERM, end)
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != parent:
    end()
while True:
    signal.pause()
"""


def run_group(argv: list[str], timeout: float, on_start=None) -> tuple[int | None, str]:
    """Run in a process group of its own, so that a timeout or a stopping signal ends the timed
    program too, not just hyperfine, and with a guard that ends the group if this process is
    killed. None for the code when the time ran out. `on_start` is given the group's id once it
    runs."""
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    guard = subprocess.Popen([sys.executable, "-I", "-c", GROUP_GUARD, str(process.pid), str(os.getpid())])
    if on_start:
        on_start(process.pid)

    def stop(signum, _frame):
        raise Stopped(signal.Signals(signum).name)

    # A signal the caller ignores stays ignored: `nohup make bench &` must survive its terminal.
    previous = {
        signum: signal.signal(signum, stop) for signum in STOPPING_SIGNALS if signal.getsignal(signum) != signal.SIG_IGN
    }
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output
    except BaseException:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    finally:
        guard.kill()
        guard.wait()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def failure_reason(command: list[str], timeout: float) -> str:
    """hyperfine hides the program's output; run it once more to show why it failed, for no
    longer than FAILURE_RERUN_S (the cell's scheduler job allows for that much)."""
    limit = min(timeout, FAILURE_RERUN_S)
    code, output = run_group(command, limit)
    print(output, end="")
    if code is None:
        return f"failed under hyperfine; run again to show why, it ran past {limit:.0f} s"
    return last_line(output, code)


def last_line(output: str, code: int) -> str:
    """Why a program failed: the last line it wrote (its one-line error), else its exit code."""
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit code {code}"


def hyperfine_command(args, command: list[str], export: Path) -> list[str]:
    return [
        *("hyperfine", "--style", "basic", "-N", "--warmup", str(args.warmup), "--runs", str(args.runs)),
        *("--export-json", str(export), "--command-name", f"{args.method} -d {args.device} -b {args.batch_size}"),
        shlex.join(command),
    ]


def placement_problem(args) -> str | None:
    """Why this process is the wrong place to time the cell, if it is: a cell of a SLURM machine
    outside a SLURM job or in another partition's job, or fewer CPUs than the threads it asks for
    (SLURM's binding would silently make it slower)."""
    if args.partition and "SLURM_JOB_ID" not in os.environ:
        return (
            f"machine {args.machine} runs on SLURM partition {args.partition}, and this is not a SLURM job "
            "(run with --workflow-profile profiles/slurm)"
        )
    job_partition = os.environ.get("SLURM_JOB_PARTITION")
    if args.partition and job_partition not in args.partition.split(","):
        return (
            f"machine {args.machine} runs on SLURM partition {args.partition}, and this job "
            f"{os.environ['SLURM_JOB_ID']} runs in partition {job_partition}"
        )
    allowed = os.sched_getaffinity(0)
    if args.threads > len(allowed):
        return (
            f"asks for {args.threads} threads, but this process may use {len(allowed)} CPU(s) "
            f"({environment.compact_ranges(sorted(allowed))}): ask for more (machines[].cpus) or fewer threads "
            "(benchmark.threads)"
        )
    return None


def run_watched(args, argv: list[str]) -> tuple[int | None, str, dict]:
    """Run argv once in a process group of its own, after waiting for a quiet host, with the
    host's load and speed watched around it (and a CUDA cell's GPU memory): its exit code (None:
    timed out), its output, and the record's fields about the host."""
    quiet = host_load.quiet_start(args.threads, args.quiet_share, args.quiet_start_s)
    if quiet["waited_seconds"]:
        print(f"waited {quiet['waited_seconds']} s for a quiet host{' and gave up' if quiet['gave_up'] else ''}")
    with GroupGpuMemory() as gpu_memory:
        print("$", shlex.join(argv), flush=True)
        with host_load.watched() as (speed, contention):
            on_start = gpu_memory.watch if args.device == "cuda" else None
            code, output = run_group(argv, args.timeout, on_start=on_start)
    print(output, end="", flush=True)
    host = {
        "gpu_memory_peak_bytes": gpu_memory.peak_bytes,
        "quiet_start": QuietStart(**quiet),
        "contention": Contention(**contention.record),
        "host_speed": HostSpeed(**speed.record),
    }
    return code, output, host


def timed_out(args) -> CellRecord:
    return failed(f"timed out after {args.timeout:.0f} s (benchmark.timeout_s)")


def time_cell(args, command: list[str]) -> CellRecord:
    """The cell's record: hyperfine's statistics (with the peak GPU memory of a CUDA cell) and the
    host around the runs, or the reason it failed."""
    if shutil.which("hyperfine") is None:
        return failed("hyperfine is not on the PATH (`make hyperfine` installs it)")
    with tempfile.TemporaryDirectory() as scratch:
        export = Path(scratch) / "hyperfine.json"
        code, output, host = run_watched(args, hyperfine_command(args, command, export))
        if code == 0:
            return CellRecord(
                status=Status.OK,
                runs=Runs.from_hyperfine(json.loads(export.read_text())),
                # hyperfine's own warnings (statistical outliers, a first run much slower) are kept.
                hyperfine_warnings=[
                    line.strip() for line in output.splitlines() if line.strip().startswith("Warning:")
                ],
                **host,
            )
    if code is None:
        return timed_out(args)
    return failed(failure_reason(command, args.timeout))


def serve_cell(args, command: list[str]) -> CellRecord:
    """A serving cell: its command (scripts/serve.py: the method in one warm process under
    LoadGen) run once, alone, with the host watched around it; its LoadGen runs read back from
    where the command writes them (serve.py --out)."""
    code, output, host = run_watched(args, command)
    if code is None:
        return timed_out(args)
    if code != 0:
        return failed(last_line(output, code))
    served = json.loads(Path(option(command, "--out")).read_text())
    return CellRecord(
        status=Status.OK,
        serving=Serving(
            scenario=served["scenario"],
            batch_size=int(option(command, "-b")),
            parallelism=args.parallelism,
            engines=served["engines"],
            load_seconds=served["load_seconds"],
            warm_up_sentences_per_second=served["warm_up_sentences_per_second"],
            sentences=served["sentences"],
            runs=[loadgen_run(run) for run in served["runs"]],
            result_run=served["result_run"],
            peak_rss_bytes=served.get("peak_rss_bytes"),
            settings=args.settings.get("serving", {}),
        ),
        **host,
    )


def loadgen_run(run: dict) -> LoadgenRun:
    return LoadgenRun.from_loadgen(run["target_qps"], run["loadgen"], run["log_dir"])


def best_batch_size(results: list[str]) -> int | None:
    """The batch size of the fastest process cell among these results (a BEST serving cell's)."""
    timed = [record for record in map(CellRecord.read, results) if record and record.status == Status.OK]
    fastest = min(timed, key=lambda record: record.runs.mean, default=None)
    return int(fastest.cell.batch_size) if fastest else None


def failed(reason: str) -> CellRecord:
    return CellRecord(status=Status.FAILED, reason=reason)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--cell",
        required=True,
        type=json.loads,
        help="JSON: machine, method, device, batch_size (nerbench.grid.CellKey)",
    )
    parser.add_argument(
        "--command",
        required=True,
        type=json.loads,
        help="JSON: the timed command (nerbench.grid.Cell.command), with {python}, {repo} and {threads} to fill in",
    )
    for name in ("model", "out", "predictions", "log"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--phases", help="the program's --timings file (a process cell's)")
    parser.add_argument("--parallelism", default="auto", help="a serving cell's workers x threads")
    parser.add_argument(
        "--best-of", nargs="*", default=[], help="a BEST serving cell's: its method's process cells, by batch size"
    )
    parser.add_argument(
        "--settings",
        required=True,
        type=json.loads,
        help="JSON: what defines the measurement besides the files (nerbench.grid.Grid.timing_settings): the "
        "method's registry entries, the machine's config, warmup, runs, threads (0: physical cores), timeout_s, "
        "hyperfine",
    )
    host_load.add_quiet_start_arguments(parser)
    args = parser.parse_args()
    args.machine, args.method, args.device, args.batch_size = (
        args.cell[key] for key in ("machine", "method", "device", "batch_size")
    )
    args.scenario = args.cell.get("scenario", "process")
    args.serving = args.scenario != "process"  # run once under LoadGen (serve.py), not hyperfine
    args.partition = args.settings["machine"].get("partition")
    # hyperfine's warm-up and runs: a process cell's (a serving cell's runs are LoadGen's).
    args.warmup, args.runs = args.settings.get("warmup"), args.settings.get("runs")
    args.timeout = args.settings["timeout_s"]
    args.threads = args.settings["threads"] or environment.physical_cores()
    return args


def main() -> None:
    args = parse_arguments()
    command = method_command(args)
    if args.command[0] != "{python}":
        # A native program loads the ONNX Runtime library of this environment's wheel.
        os.environ["ORT_DYLIB_PATH"] = str(ort_dylib.library_path())
    started = time.time()
    outputs = [args.predictions] + ([args.phases] if args.phases else [])
    for stale in outputs:
        Path(stale).unlink(missing_ok=True)
    try:
        if "{batch_size}" in command:
            record = failed("no process cell of its method ran on this machine and device: no best batch size")
        elif problem := placement_problem(args):
            record = failed(problem)
        else:
            record = (serve_cell if args.serving else time_cell)(args, command)
    except Stopped as stopped:
        sys.exit(f"run_cell.py: stopped by {stopped}: the timed program was ended; nothing recorded")
    if record.status != Status.OK:
        # The rule's outputs, empty: nothing reads a failed cell's predictions or phases.
        write_atomically(args.predictions, "")
        if args.phases:
            write_atomically(args.phases, "{}\n")
    settings = json.dumps(args.settings, sort_keys=True)
    record.cell = CellIdentity(
        **args.cell, command=shlex.join(command), predictions=args.predictions, phases=args.phases, log=args.log
    )
    record.threads = thread_use(command)
    record.wall_seconds = round(time.time() - started, 2)
    record.settings = args.settings
    record.environment = environment.collect(args.model, hashlib.sha256(settings.encode()).hexdigest(), args.threads)
    record.write(args.out)
    served = f" served {args.scenario}" if args.serving else ""
    print(
        f"cell {args.method} -d {args.device} -b {args.batch_size}{served} on {args.machine}: {record.status}"
        + (f": {record.reason}" if record.reason else "")
    )


if __name__ == "__main__":
    main()
