#!/usr/bin/env python3
"""Time one grid cell with hyperfine and keep its JSON export, with the cell and environment.

The timed command is the method's own command line, which also writes the cell's predictions
(checked later) and phase timings. The result is written only when hyperfine finishes: a
killed or interrupted run leaves no result file that a later run would take as done. A
program that fails or outlasts the time limit gives a result marked "failed" with the reason
and the log's path, so the rest of the grid and the tables go on and the failure is listed.
"""

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts scripts/ on the path)
import environment
import ort_dylib


def method_command(args) -> list[str]:
    program = [sys.executable, args.program] if args.program.endswith(".py") else [args.program]
    command = program + [
        "-d", args.device, "-b", str(args.batch_size), "-m", args.model,
        "-o", args.predictions, "--timings", args.phases, "--threads", str(args.threads),
    ]
    return command + (["--sort"] if args.sort else []) + [args.corpus]


def run_group(argv: list[str], timeout: float) -> tuple[int | None, str]:
    """Run in its own process group so a timeout stops the timed program too, not just hyperfine."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def write_atomically(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
    with os.fdopen(handle, "w") as stream:
        json.dump(record, stream, indent=1)
        stream.write("\n")
    os.chmod(partial, 0o644)  # mkstemp's 0600 would hide results from other users
    os.replace(partial, path)


def failure_reason(command: list[str], timeout: float) -> str:
    """hyperfine hides the program's output; run it once more to show why it failed."""
    code, output = run_group(command, timeout)
    print(output, end="")
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit code {code}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("method", "device", "program", "model", "corpus", "out", "predictions", "phases", "log"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="0: physical cores")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--config-sha256")
    parser.add_argument("--sort", action="store_true", help="length-sorted batches (the method's --sort)")
    args = parser.parse_args()
    args.threads = args.threads or environment.physical_cores()

    command = method_command(args)
    if not args.program.endswith(".py"):
        # A native program loads the ONNX Runtime library of this environment's wheel.
        os.environ["ORT_DYLIB_PATH"] = str(ort_dylib.library_path())
    cell = {"method": args.method, "device": args.device, "batch_size": args.batch_size,
            "command": shlex.join(command), "predictions": args.predictions, "phases": args.phases, "log": args.log}
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as scratch:
        export = Path(scratch) / "hyperfine.json"
        hyperfine = [
            "hyperfine", "--style", "basic", "-N", "--warmup", str(args.warmup), "--runs", str(args.runs),
            "--export-json", str(export), "--command-name", f"{args.method} -d {args.device} -b {args.batch_size}",
            shlex.join(command),
        ]
        print("$", shlex.join(hyperfine), flush=True)
        started = time.time()
        code, output = run_group(hyperfine, args.timeout)
        print(output, end="", flush=True)
        if code == 0:
            record = json.loads(export.read_text())
            status, reason = "ok", None
        else:
            record = {"results": []}
            status = "failed"
            reason = (f"timed out after {args.timeout:.0f} s (benchmark.timeout_s)" if code is None
                      else failure_reason(command, args.timeout))
    record.update(
        cell=cell, status=status, reason=reason, wall_seconds=round(time.time() - started, 2),
        environment=environment.collect(args.model, args.config_sha256, args.threads),
    )
    write_atomically(out, record)
    print(f"cell {args.method} {args.device} bs {args.batch_size}: {status}" + (f": {reason}" if reason else ""))


if __name__ == "__main__":
    main()
