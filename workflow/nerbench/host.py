"""What the host Snakemake runs on offers: its CPU's instruction sets, read once from Linux's
/proc/cpuinfo, and the CPU features a method can need (methods.yaml `cpu_features`)."""

import os
import re
from functools import cache
from pathlib import Path

# A CPU feature a method can need -> the instruction-set flags that give it (any one of them).
CPU_FEATURES = {"bf16": frozenset({"avx512_bf16", "amx_bf16"})}
# The int8 dot-product instructions (vpdpbusd): with them a core's int8 products neither run at
# fp32's pace nor saturate their 16-bit sums as ONNX Runtime's U8S8 path can without them.
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU's instruction-set flags (Linux /proc/cpuinfo), empty where unknown."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


# The flags a cell's record keeps: what its kernels may use.
CPU_FLAGS_OF_INTEREST = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)


def cpu_description() -> dict:
    """The CPU's name, vendor, family, model and stepping numbers ("AMD EPYC" names a Zen 3, a Zen 4
    and a Zen 5 alike: the numbers tell them apart) and its flags of interest, from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    info = {}
    for key, field in CPUINFO_FIELDS.items():
        found = re.search(rf"^{field}\s*:\s*(.+)$", text, re.M)
        if found:
            info[key] = found.group(1).strip()
    present = cpu_flags()
    info["flags"] = [flag for flag in CPU_FLAGS_OF_INTEREST if flag in present]
    return info


CPUINFO_FIELDS = {
    "model": "model name",
    "vendor": "vendor_id",
    "family": "cpu family",
    "model_number": "model",
    "stepping": "stepping",
}
# What makes a host another host for a results folder: what the CPU is, and what of it a process
# may use (benchmark.threads 0 resolves to these cores).
IDENTITY_KEYS = ("model", "vendor", "family", "model_number", "stepping", "flags", "physical_cores", "allowed_cpus")


def host_identity(physical_cores: int) -> dict:
    """This host as a results folder's cells record theirs (identity_of)."""
    return {**cpu_description(), "physical_cores": physical_cores, "allowed_cpus": len(os.sched_getaffinity(0))}


def identity_of(environment: dict) -> dict:
    """The host a cell's record was timed on (its environment), as host_identity gives it."""
    cpu, scheduler = environment.get("cpu", {}), environment.get("scheduler", {})
    return {**cpu, "allowed_cpus": scheduler.get("allowed_cpus")}


def same_host(recorded: dict, here: dict) -> bool:
    """Alike on every identity key both know (a record from before the CPU's numbers lacks them)."""
    return all(recorded[key] == here[key] for key in IDENTITY_KEYS if recorded.get(key) is not None and key in here)


def describe_host(identity: dict) -> str:
    numbers = f" (family {identity['family']} model {identity['model_number']})" if identity.get("family") else ""
    return f"{identity.get('model', 'an unknown CPU')}{numbers}, {identity.get('allowed_cpus')} CPU(s) allowed"


def host_cpu_features() -> set[str]:
    """The CPU features of CPU_FEATURES this host has. NERBENCH_CPU_FEATURES overrides: a
    comma-separated list, empty for none (the tests plan a grid for a CPU they are not on)."""
    override = os.environ.get("NERBENCH_CPU_FEATURES")
    if override is None:
        return {feature for feature, flags in CPU_FEATURES.items() if flags & cpu_flags()}
    given = {feature for feature in override.split(",") if feature}
    if given - set(CPU_FEATURES):
        from nerbench.errors import ConfigError

        unknown = ", ".join(sorted(given - set(CPU_FEATURES)))
        raise ConfigError(f"NERBENCH_CPU_FEATURES: {unknown}: not a CPU feature ({', '.join(CPU_FEATURES)})")
    return given
