"""What else the host was doing while a cell was timed, from the kernel's CPU accounting.

`/proc/stat`'s first line counts, since boot and in clock ticks, the time all CPUs of the host
(a VM's virtual CPUs, a node's cores) spent busy, idle, and stolen by the hypervisor for other
tenants. Over the timed runs, `Contention` records:

- steal: the share of the host's CPU time its hypervisor gave to someone else;
- foreign CPU: the busy time of every process but the timed ones (hyperfine, the program and
  their children, counted by the kernel for this process's waited-for children), as a share of
  the host's CPU capacity over the same wall time;
- the load average just before the runs start.

`quiet_start` waits, for a bounded time, until the host's other processes use less than a share
of the cell's cores. Linux only; elsewhere both report nothing and never wait.

A host can also run slow where its accounting cannot see it: a neighbour on the sibling
hyperthread of one of a VM's virtual CPUs, a CPU quota, a clock lowered for a neighbour's sake.
`HostSpeed` probes the speed itself, before and after the timed runs: every allowed CPU at once
runs the same fixed single-threaded float32 product, pinned, and the slowest CPU's rate is what a
multi-threaded program, waiting for its slowest thread, would get. The tables compare each cell's
probe with the best one of its machine (`SLOW_HOST_PCT`).
"""

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
# A cell timed while others took at least this much of the host is flagged "contended" (tables,
# summary.csv). Steal above 2% is a busy neighbour on the hypervisor; foreign CPU above 5% of the
# host is a tenth of a core on a 2-core machine, taken from a cell that uses every core.
CONTENDED_STEAL_PCT = 2.0
CONTENDED_FOREIGN_PCT = 5.0
# A cell whose host-speed probe read this much below its machine's best probe is flagged "slow
# host". On a quiet 2-vCPU Zen 4 VM the slowest CPU's rate varied by about ±4% between probes
# (96–104 GFLOP/s, 91 once in 40); a slow spell there cost cells 25–40%.
SLOW_HOST_PCT = 15.0


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

    def __enter__(self) -> "Contention":
        self.record: dict = {"load_before": load_average()}
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


def contended(record: dict | None) -> bool:
    """Whether a cell's runs shared the host beyond the thresholds above."""
    if not record or "steal_pct" not in record:
        return False
    return record["steal_pct"] >= CONTENDED_STEAL_PCT or record["foreign_cpu_pct"] >= CONTENDED_FOREIGN_PCT


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


# One CPU's part of the speed probe: a float32 product of PROBE_SIZE², PROBE_REPEATS times, on one
# BLAS thread, pinned to its CPU, started at a shared moment so that every CPU is busy at once.
# About 0.15 s of work on a current server core, after about 0.3 s of start-up.
PROBE = """
import os, sys, time
import numpy as np
cpu, start, size, repeats = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.sched_setaffinity(0, {cpu})
a, b = (np.random.default_rng(cpu).standard_normal((size, size), dtype=np.float32) for _ in range(2))
a @ b
time.sleep(max(0.0, start - time.monotonic()))
began = time.perf_counter()
for _ in range(repeats):
    a @ b
print(time.perf_counter() - began)
"""
PROBE_SIZE, PROBE_REPEATS = 512, 60
PROBE_START_S = 0.4  # after which every CPU's probe has imported numpy and warmed up
ONE_BLAS_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def speed_probe(size: int = PROBE_SIZE, repeats: int = PROBE_REPEATS) -> dict | None:
    """{"gflops_by_cpu": {cpu: rate}, "slowest_gflops"}: each allowed CPU's rate on the fixed
    product, all at once; None where it could not run (the cell is timed all the same)."""
    cpus = sorted(os.sched_getaffinity(0))
    start = time.monotonic() + PROBE_START_S
    argv = [sys.executable, "-I", "-c", PROBE]
    environment = {**os.environ, **ONE_BLAS_THREAD}
    probes = {
        cpu: subprocess.Popen(
            [*argv, str(cpu), str(start), str(size), str(repeats)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=environment,
        )
        for cpu in cpus
    }
    rates = {}
    for cpu, probe in probes.items():
        output, _ = probe.communicate()
        try:
            rates[cpu] = round(2 * size**3 * repeats / float(output) / 1e9, 2)
        except ValueError:
            return None
    return {"gflops_by_cpu": rates, "slowest_gflops": min(rates.values())}


class HostSpeed:
    """A context manager around the timed runs: the speed probe before and after them; `record`
    holds both and the slower one's rate (`slowest_gflops`) once it exits."""

    def __enter__(self) -> "HostSpeed":
        self.record: dict = {"before": speed_probe()}
        return self

    def __exit__(self, *exc) -> None:
        self.record["after"] = speed_probe()
        self.record.update(slowest_of([self.record]))


def probe_rates(records: list[dict]) -> list[float]:
    """Every probe's slowest-CPU rate in records shaped like HostSpeed's (before, after)."""
    return [
        probe["slowest_gflops"] for record in records for probe in (record.get("before"), record.get("after")) if probe
    ]


def slowest_of(records: list[dict]) -> dict:
    """{"slowest_gflops"} over the probes of several records (a cell's rounds), or {} where none ran."""
    rates = probe_rates(records)
    return {"slowest_gflops": min(rates)} if rates else {}
