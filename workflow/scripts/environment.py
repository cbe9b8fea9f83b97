#!/usr/bin/env python3
"""Where a measurement came from: machine, GPU, package versions, code and model.

Every cell result embeds this record, collected in the same environment as the timed program,
so a result file alone says what produced it. Uses only the standard library (and asks
onnxruntime for its providers when it is installed) so collecting it costs well under a second.
"""

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import common  # noqa: F401  (puts scripts/ on the path)
from nerlib.cli import physical_cores

REPO = Path(__file__).resolve().parent.parent
PACKAGES = (
    "torch", "transformers", "optimum", "optimum-onnx", "onnxruntime", "onnxruntime-gpu",
    "onnx", "tokenizers", "numpy", "huggingface_hub", "snakemake", "pandas",
)
CPU_FLAGS_OF_INTEREST = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16")


def command_output(*argv: str) -> str | None:
    if not shutil.which(argv[0]):
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def package_versions() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def onnxruntime_providers() -> list[str] | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime.get_available_providers()


def cpu() -> dict:
    info = {"logical_cpus": os.cpu_count(), "machine": platform.machine()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    info["model"] = model.group(1).strip() if model else platform.processor()
    info["physical_cores"] = physical_cores()
    if flags:
        present = set(flags.group(1).split())
        info["flags"] = [flag for flag in CPU_FLAGS_OF_INTEREST if flag in present]
    try:
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return info


def gpus() -> list[dict]:
    listed = command_output("nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader")
    if not listed:
        return []
    return [dict(zip(("name", "driver", "memory"), (part.strip() for part in line.split(",")))) for line in listed.splitlines()]


def git_state() -> dict:
    commit = command_output("git", "-C", str(REPO), "rev-parse", "HEAD")
    status = command_output("git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_identity(model_dir: str | None) -> dict:
    """The model's provenance from the model_info.json written when it was built (the ONNX
    export sits next to it), plus the checksum of the ONNX file when one is there."""
    if not model_dir:
        return {}
    directory = Path(model_dir)
    identity = {"dir": str(directory)}
    for candidate in (directory / "model_info.json", directory.parent / "torch" / "model_info.json"):
        if candidate.is_file():
            info = json.loads(candidate.read_text())
            identity.update({key: info[key] for key in ("source", "hub_id", "revision", "preset", "sha256", "dev_f1") if key in info})
            break
    if (directory / "model.onnx").is_file():
        identity["onnx_sha256"] = file_sha256(directory / "model.onnx")
    return identity


def collect(model_dir: str | None = None, config_sha256: str | None = None, threads: int | None = None) -> dict:
    hyperfine = command_output("hyperfine", "--version")
    rustc = command_output("rustc", "--version")
    return {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "os": f"{platform.system()} {platform.release()}",
        "packages": package_versions(),
        "onnxruntime_providers": onnxruntime_providers(),
        "cpu": cpu(),
        "threads": threads,
        "gpus": gpus(),
        "hyperfine": hyperfine.split()[-1] if hyperfine else None,
        "rustc": rustc.split()[1] if rustc else None,
        "git": git_state(),
        "config_sha256": config_sha256,
        "model": model_identity(model_dir),
    }


if __name__ == "__main__":
    print(json.dumps(collect(sys.argv[1] if len(sys.argv) > 1 else None), indent=1))
