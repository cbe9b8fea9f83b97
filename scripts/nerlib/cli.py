"""The command line every method shares: `-d {cpu,cuda} -b N [-m MODEL] [-o OUT] FILE`."""

import argparse
import os
from pathlib import Path


def physical_cores() -> int:
    """Physical cores, not hardware threads: ONNX Runtime and torch both run slower when their
    intra-op pools use hyper-threads of cores already busy."""
    try:
        cores = set()
        physical_id = core_id = None
        for line in Path("/proc/cpuinfo").read_text().splitlines() + [""]:
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "physical id":
                physical_id = value.strip()
            elif key == "core id":
                core_id = value.strip()
            elif not key and core_id is not None:
                cores.add((physical_id, core_id))
                physical_id = core_id = None
        if cores:
            return len(cores)
    except OSError:
        pass
    return os.cpu_count() or 1


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(description: str, argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("file", help="UTF-8 text, one sentence per line")
    parser.add_argument("-d", "--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("-b", "--batch-size", type=positive_int, default=1)
    parser.add_argument(
        "-m", "--model", default="data/model", help="model directory (the ONNX export for ONNX methods)"
    )
    parser.add_argument("-o", "--output", help="write predictions here as JSON Lines")
    parser.add_argument("--timings", help="write seconds per phase here as JSON")
    parser.add_argument(
        "--sort", action="store_true", help="batch sentences sorted by token count (output stays in input order)"
    )
    parser.add_argument(
        "--threads", type=positive_int, default=None, help="intra-op threads (default: physical cores)"
    )
    args = parser.parse_args(argv)
    if args.threads is None:
        args.threads = physical_cores()
    return args
