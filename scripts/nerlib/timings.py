"""Where a method's time goes: seconds per phase, written with --timings PATH.

Phases: startup (interpreter start and imports, up to the frame's entry), load (model and
tokenizer), tokenize, transfer (host-device copies, where a method separates them), inference,
decode, output. Measured as context managers around each
phase so every method reports the same split.
"""

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from .atomic import write_text_atomically

PHASES = ("startup", "load", "tokenize", "transfer", "inference", "decode", "output")


def seconds_since_process_start() -> float | None:
    """From the kernel's record of when this process started (Linux), so interpreter start-up
    and imports are counted even though they happen before any of our code runs. The kernel
    records the start in clock ticks (10 ms), so this may read up to one tick long; "now" is
    the same boot-time clock in nanoseconds. The Rust binary measures it the same way."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22 of stat(5), counted after "pid (comm)"
    except (OSError, IndexError, ValueError):
        return None
    now = time.clock_gettime(time.CLOCK_BOOTTIME)
    return max(0.0, now - started_ticks / os.sysconf("SC_CLK_TCK"))


class PhaseTimer:
    def __init__(self) -> None:
        self.seconds = {phase: 0.0 for phase in PHASES}
        self.seconds["startup"] = seconds_since_process_start() or 0.0
        self.notes: dict = {}

    @contextmanager
    def phase(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def write(self, path: str | Path) -> None:
        record = {"phases": self.seconds, **self.notes}
        write_text_atomically(path, json.dumps(record, indent=1) + "\n")
