"""What else the host was doing while a cell was timed, from the kernel's CPU accounting.

`/proc/stat`'s first line counts, since boot and in clock ticks, the time all CPUs of the host
(a VM's virtual CPUs, a node's cores) spent busy, idle, and stolen by the hypervisor for other
tenants. Over the timed runs, `Contention` records:

- steal: the share of the host's CPU time its hypervisor gave to someone else;
- foreign CPU: the busy time of every process but the timed ones (hyperfine, the program and
  their children, counted by the kernel for this process's waited-for children), as a share of
  the host's CPU capacity over the same wall time;
- the load average before the runs (and their speed probes, below) start.

`quiet_start` waits, for a bounded time, until the host's other processes use less than a share
of the cell's cores. Linux only; elsewhere both report nothing and never wait.

A host can also run slow where its accounting cannot see it: a neighbour on the sibling
hyperthread of one of a VM's virtual CPUs, a CPU quota, a clock lowered for a neighbour's sake.
`HostSpeed` probes the speed itself, before and after the timed runs: every allowed CPU at once
runs the same fixed single-threaded float32 product, pinned (speed_probe.py), and the slowest
CPU's rate is what a multi-threaded program, waiting for its slowest thread, would get. The
report steps judge the records (nerbench.trust): contended, slow host.

This is the timing harness: editing it re-times every cell (docs/contributing.md).
"""

import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class CpuTimes:
    """The host's CPU accounting at one moment, in seconds summed over its CPUs."""

    busy: float
    steal: float
    total: float
    cpus: int
    at: float  # time.monotonic()

    @classmethod
    def read(cls) -> "CpuTimes | None":
        try:
            lines = Path("/proc/stat").read_text().splitlines()
        except OSError:
            return None
        user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in lines[0].split()[1:9])
        cpus = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
        busy = user + nice + system + irq + softirq
        return cls(busy / TICK, steal / TICK, (busy + idle + iowait + steal) / TICK, cpus, time.monotonic())


def children_cpu_seconds() -> float:
    """CPU time of this process's waited-for descendants (the timed runs), and its own."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime


def load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


class Contention:
    """A context manager around the timed runs; `record` holds what it saw once it exits."""

    def __init__(self, load_before: list[float] | None = None):
        """`load_before`: the load average read before anything this process started (the speed
        probe), where the caller has it."""
        self.load_before = load_before

    def __enter__(self) -> "Contention":
        self.record: dict = {"load_before": self.load_before or load_average()}
        self.start, self.own_start = CpuTimes.read(), children_cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        end, own = CpuTimes.read(), children_cpu_seconds() - self.own_start
        if self.start is None or end is None:
            return
        wall = end.at - self.start.at
        total = max(end.total - self.start.total, 1e-9)
        foreign = max(0.0, end.busy - self.start.busy - own)
        self.record.update(
            wall_seconds=round(wall, 3),
            host_cpus=end.cpus,
            steal_pct=round(100 * (end.steal - self.start.steal) / total, 3),
            foreign_cpu_pct=round(100 * foreign / total, 3),
            timed_cpu_seconds=round(own, 3),
        )


def quiet_start(cores: int, share: float, max_wait_s: float, window_s: float = 0.5) -> dict:
    """Wait until, over one window, the host's processes (this one sleeps) use less than `share`
    of `cores`, for at most `max_wait_s`. Returns how long it waited, whether it gave up, and the
    busy cores of the last window."""
    started = time.monotonic()
    busy_cores, gave_up = None, False
    while max_wait_s > 0:
        before = CpuTimes.read()
        if before is None:
            break
        time.sleep(window_s)
        after = CpuTimes.read()
        busy_cores = round((after.busy - before.busy) / (after.at - before.at), 3)
        if busy_cores < share * cores:
            break
        if time.monotonic() - started >= max_wait_s:
            gave_up = True
            break
    return {"waited_seconds": round(time.monotonic() - started, 1), "gave_up": gave_up, "busy_cores": busy_cores}


def add_quiet_start_arguments(parser) -> None:
    """The conditions of a measurement (a timed cell's, the roofline's), not part of what it
    measures: the quiet start, none by default."""
    parser.add_argument("--quiet-start-s", type=float, default=0, help="wait at most this long for a quiet host")
    parser.add_argument("--quiet-share", type=float, default=0.1, help="of the cores, what others may use")


PROBE = Path(__file__).with_name("speed_probe.py")
# Each CPU's part: a float32 product of PROBE_SIZE², PROBE_REPEATS times; a probe with no answer
# after PROBE_TIMEOUT_S (an import stuck on a network file system) is ended.
PROBE_SIZE, PROBE_REPEATS, PROBE_TIMEOUT_S = 512, 60, 30.0
ONE_BLAS_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def speed_probe(size: int = PROBE_SIZE, repeats: int = PROBE_REPEATS) -> dict:
    """{"gflops_by_cpu": {cpu: rate}, "slowest_gflops", "numpy"}: every allowed CPU's rate on the
    fixed product, all started at once; {"error": why} where it could not run. It never raises:
    a probe must not cost a cell its timing."""
    children: list[subprocess.Popen] = []
    timed_out = threading.Event()

    def end_stuck() -> None:
        timed_out.set()
        for child in children:
            child.kill()

    timer, failure = threading.Timer(PROBE_TIMEOUT_S, end_stuck), None
    try:
        timer.start()
        result = measure_speed(children, size, repeats)
    except Exception as error:
        failure = f"{type(error).__name__}: {error}"
    finally:
        timer.cancel()
        complaints = end_all(children)
    if failure is None:
        return result
    if timed_out.is_set():
        return {"error": f"no answer within {PROBE_TIMEOUT_S:g} s"}
    return {"error": complaints[0] if complaints else failure}


def measure_speed(children: list[subprocess.Popen], size: int, repeats: int) -> dict:
    """Starts one speed_probe.py per allowed CPU (into `children`), waits until each is ready,
    releases them together and reads their seconds."""
    cpus = sorted(os.sched_getaffinity(0))
    for cpu in cpus:
        argv = [sys.executable, "-I", str(PROBE), str(cpu), str(size), str(repeats)]
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        environment = {**os.environ, **ONE_BLAS_THREAD}
        children.append(subprocess.Popen(argv, **pipes, text=True, errors="replace", env=environment))
    versions = {child.stdout.readline().strip() for child in children}  # each one's "ready"
    for child in children:  # the go, to every CPU's part at once
        child.stdin.write("go\n")
        child.stdin.flush()
    seconds = [float(child.stdout.readline()) for child in children]
    rates = {str(cpu): round(2 * size**3 * repeats / took / 1e9, 2) for cpu, took in zip(cpus, seconds, strict=True)}
    return {"gflops_by_cpu": rates, "slowest_gflops": min(rates.values()), "numpy": " ".join(sorted(versions))}


def end_all(children: list[subprocess.Popen]) -> list[str]:
    """Ends and reaps every child (none may outlive the probe into the timed runs); the last
    stderr line of each one that failed by itself (its exception)."""
    complaints = []
    for child in children:
        if child.poll() is None:
            child.kill()
        with suppress(OSError, ValueError):
            _, stderr = child.communicate()
            lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
            complaints += lines[-1:] if child.returncode > 0 else []
    return complaints


class HostSpeed:
    """A context manager around the timed runs, outside the Contention window (the probes' CPU
    must count as neither the runs' nor the host's): a speed probe before and after them. Once
    it exits, `record` holds the probes and `gflops`, the faster one. After an exception (a
    stopping signal) there is no second probe."""

    def __enter__(self) -> "HostSpeed":
        self.record: dict = {"probes": [speed_probe()]}
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.record["probes"].append(speed_probe())
        # The faster probe, for a reader of the file (nerbench.trust judges from the probes).
        rates = [probe["slowest_gflops"] for probe in self.record["probes"] if "slowest_gflops" in probe]
        if rates:
            self.record["gflops"] = max(rates)


@contextmanager
def watched() -> Iterator[tuple[HostSpeed, Contention]]:
    """The host around timed work (a cell's runs, the roofline's products): its speed probed
    before and after, and its load in between. The load average is read before the first probe,
    which would raise it; the probes stay outside the contention's window, which must hold the
    timed work alone."""
    load_before = load_average()
    with HostSpeed() as speed, Contention(load_before) as contention:
        yield speed, contention
