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

PHASES = ("startup", "load", "tokenize", "transfer", "inference", "decode", "output")


def seconds_since_process_start() -> float | None:
    """From the kernel's record of when this process started (Linux), so interpreter start-up
    and imports are counted even though they happen before any of our code runs."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22 of stat(5), counted after "pid (comm)"
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return max(0.0, uptime - started_ticks / os.sysconf("SC_CLK_TCK"))


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
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(record, indent=1) + "\n")
