"""The physical cores this process may use: what `--threads` defaults to in every method, and what
the timing harness resolves `benchmark.threads: 0` to (so both count alike). The Rust binary
counts them the same way (onnxruntime-ner/src/timings.rs)."""

import os
from pathlib import Path


def physical_cores() -> int:
    """Physical cores this process may run on, not hardware threads: ONNX Runtime and torch both
    run slower when their intra-op pools use hyper-threads of cores already busy, and under a
    scheduler (SLURM binds a job to the CPUs it allocated) only the allowed CPUs count."""
    allowed = os.sched_getaffinity(0)
    try:
        cores = set()
        processor = physical_id = core_id = None
        for line in Path("/proc/cpuinfo").read_text().splitlines() + [""]:
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "processor":
                processor = int(value)
            elif key == "physical id":
                physical_id = value.strip()
            elif key == "core id":
                core_id = value.strip()
            elif not key and core_id is not None:
                if processor in allowed:
                    cores.add((physical_id, core_id))
                processor = physical_id = core_id = None
        if cores:
            return len(cores)
    except (OSError, ValueError):
        pass
    return len(allowed) or 1
