"""What the host Snakemake runs on offers: its CPU's instruction sets, read once from Linux's
/proc/cpuinfo, and the CPU features a method can need (methods.yaml `cpu_features`)."""

import os
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
