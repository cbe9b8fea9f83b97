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
"""

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
# A cell timed while others took at least this much of the host is flagged "contended" (tables,
# summary.csv). Steal above 2% is a busy neighbour on the hypervisor; foreign CPU above 5% of the
# host is a tenth of a core on a 2-core machine, taken from a cell that uses every core.
CONTENDED_STEAL_PCT = 2.0
CONTENDED_FOREIGN_PCT = 5.0


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
