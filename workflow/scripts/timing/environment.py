#!/usr/bin/env python3
"""Where a measurement came from: machine, GPU, package versions, code and model.

Every cell result embeds this record, collected in the same environment as the timed program,
so a result file alone says what produced it. Uses only the standard library (and asks
onnxruntime for its providers when it is installed) so collecting it costs well under a second.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
from contextlib import suppress
from importlib import metadata
from pathlib import Path

from common import REPO, file_sha256
from nerbench.host import cpu_description
from nerlib.cores import physical_cores

PACKAGES = (
    "torch",
    "transformers",
    "optimum",
    "optimum-onnx",
    "onnxruntime",
    "onnxruntime-gpu",
    "onnx",
    "tokenizers",
    "numpy",
    "huggingface_hub",
    "snakemake",
    "pandas",
    "openvino",
    "nncf",
    "ctranslate2",
    "nvidia-cuda-runtime",
    "nvidia-cudnn-cu13",
    "nvidia-ml-py",
)


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
        with suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def onnxruntime_providers() -> list[str] | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime.get_available_providers()


def cpu() -> dict:
    info = {"logical_cpus": os.cpu_count(), "machine": platform.machine(), **cpu_description()}
    info.setdefault("model", platform.processor())
    info["physical_cores"] = physical_cores()
    with suppress(ValueError, OSError):
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return info


def gpus() -> list[dict]:
    """The GPUs this process sees (CUDA_VISIBLE_DEVICES, or SLURM's allocation, applies), with the
    CUDA version the driver supports; the CUDA runtime is the nvidia-cuda-runtime package's."""
    fields = ("name", "driver", "memory", "compute_capability", "uuid")
    listed = command_output(
        "nvidia-smi", "--query-gpu=name,driver_version,memory.total,compute_cap,uuid", "--format=csv,noheader"
    )
    if not listed:
        return []
    found = [
        dict(zip(fields, (part.strip() for part in line.split(",")), strict=False)) for line in listed.splitlines()
    ]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        wanted = [item.strip() for item in visible.split(",") if item.strip()]
        found = [gpu for index, gpu in enumerate(found) if str(index) in wanted or gpu["uuid"] in wanted]
    driver_cuda = cuda_driver_version()
    return [{**gpu, "driver_cuda": driver_cuda} for gpu in found]


def cuda_driver_version() -> str | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        version = pynvml.nvmlSystemGetCudaDriverVersion()
        pynvml.nvmlShutdown()
    except Exception:  # no nvidia-ml-py, no driver
        return None
    return f"{version // 1000}.{version % 1000 // 10}"


def scheduler() -> dict:
    """Where a scheduler placed this process: the SLURM job, its node and the CPUs and GPUs it was
    allocated, and in any case the CPUs the process may run on (its affinity mask)."""
    allowed = sorted(os.sched_getaffinity(0))
    info = {"host": platform.node(), "allowed_cpus": len(allowed), "cpu_list": compact_ranges(allowed)}
    slurm = {
        "job_id": "SLURM_JOB_ID",
        "node": "SLURMD_NODENAME",
        "partition": "SLURM_JOB_PARTITION",
        "cpus_on_node": "SLURM_CPUS_ON_NODE",
        "gpus": "SLURM_JOB_GPUS",
    }
    if "SLURM_JOB_ID" in os.environ:
        info["slurm"] = {key: os.environ.get(variable) for key, variable in slurm.items()}
    return info


def compact_ranges(numbers: list[int]) -> str:
    """0-3,8,10-11 for [0, 1, 2, 3, 8, 10, 11]."""
    ranges, start = [], None
    for index, number in enumerate(numbers):
        if start is None:
            start = number
        if index + 1 == len(numbers) or numbers[index + 1] != number + 1:
            ranges.append(str(start) if start == number else f"{start}-{number}")
            start = None
    return ",".join(ranges)


def git_state() -> dict:
    commit = command_output("git", "-C", str(REPO), "rev-parse", "HEAD")
    status = command_output("git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def model_identity(model_dir: str | None) -> dict:
    """The model's provenance from the model_info.json written when it was built (the ONNX
    export sits next to it), plus the checksum of the ONNX file or CTranslate2 weights when
    they are there."""
    if not model_dir:
        return {}
    directory = Path(model_dir)
    identity = {"dir": str(directory)}
    for candidate in (directory / "model_info.json", directory.parent / "torch" / "model_info.json"):
        if candidate.is_file():
            info = json.loads(candidate.read_text())
            identity.update(
                {
                    key: info[key]
                    for key in ("source", "hub_id", "revision", "preset", "sha256", "dev_f1")
                    if key in info
                }
            )
            break
    if (directory / "model.onnx").is_file():
        identity["onnx_sha256"] = file_sha256(directory / "model.onnx")
    if (directory / "encoder" / "model.bin").is_file():
        identity["ct2_sha256"] = file_sha256(directory / "encoder" / "model.bin")
    return identity


def collect(model_dir: str | None = None, settings_sha256: str | None = None, threads: int | None = None) -> dict:
    """settings_sha256: the hash of what defines the cell's measurement (its settings)."""
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
        "scheduler": scheduler(),
        "hyperfine": hyperfine.split()[-1] if hyperfine else None,
        "rustc": rustc.split()[1] if rustc else None,
        "git": git_state(),
        "settings_sha256": settings_sha256,
        "model": model_identity(model_dir),
    }


if __name__ == "__main__":
    print(json.dumps(collect(sys.argv[1] if len(sys.argv) > 1 else None), indent=1))
