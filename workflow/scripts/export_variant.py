#!/usr/bin/env python3
"""Derive an ONNX export variant from the plain optimum export, with optimum's tools:

  o2    ORTOptimizer level O2: graph fusions (attention, layer norm, GELU), fp32, exact
  o3    O2 plus the approximate (tanh) GELU: fp32, not bit-exact
  o4    O3 in fp16 for CUDA (mixed precision)
  int8  ORTQuantizer dynamic int8 quantisation, configured from the CPU's instruction set
        (AVX-512 VNNI, else AVX-512, else AVX2; ARM64 on arm)

The result is a directory like the plain export (model.onnx, config.json, tokenizer files), so
every ONNX method runs it unchanged.
"""

import argparse
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from optimum.onnxruntime import ORTOptimizer, ORTQuantizer
from optimum.onnxruntime.configuration import AutoOptimizationConfig, AutoQuantizationConfig

VARIANTS = ("o2", "o3", "o4", "int8")


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def quantization_config():
    """Dynamic (no calibration data), per-channel weights, for the instruction set at hand."""
    if platform.machine() in ("aarch64", "arm64"):
        return "arm64", AutoQuantizationConfig.arm64(is_static=False, per_channel=True)
    flags = cpu_flags()
    if "avx512_vnni" in flags:
        return "avx512_vnni", AutoQuantizationConfig.avx512_vnni(is_static=False, per_channel=True)
    if "avx512f" in flags:
        return "avx512", AutoQuantizationConfig.avx512(is_static=False, per_channel=True)
    return "avx2", AutoQuantizationConfig.avx2(is_static=False, per_channel=True)


def derive(source: Path, variant: str, scratch: Path) -> tuple[Path, str]:
    if variant == "int8":
        name, config = quantization_config()
        return ORTQuantizer.from_pretrained(source).quantize(config, scratch), f"dynamic int8 for {name}"
    optimizer = ORTOptimizer.from_pretrained(source)
    level = {"o2": AutoOptimizationConfig.O2(), "o3": AutoOptimizationConfig.O3(),
             "o4": AutoOptimizationConfig.O4(for_gpu=True)}[variant]
    optimizer.optimize(level, scratch)
    return scratch, f"ORTOptimizer {variant.upper()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the plain ONNX export directory")
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    if not (args.source / "model.onnx").is_file():
        sys.exit(f"export_variant.py: error: {args.source}/model.onnx: missing")
    with tempfile.TemporaryDirectory(dir=args.out.parent) as scratch:
        saved, what = derive(args.source, args.variant, Path(scratch))
        produced = sorted(Path(scratch).glob("*.onnx"))
        if len(produced) != 1:
            sys.exit(f"export_variant.py: error: expected one ONNX file from {what}, found {[p.name for p in produced]}")
        partial = Path(tempfile.mkdtemp(prefix=args.out.name + ".", dir=args.out.parent))
        for item in args.source.iterdir():
            if item.is_file() and item.name != "model.onnx" and not item.name.startswith("."):
                shutil.copy2(item, partial / item.name)
        shutil.move(produced[0], partial / "model.onnx")
        (partial / "variant.txt").write_text(what + "\n")
        if args.out.exists():
            shutil.rmtree(args.out)
        partial.rename(args.out)
    print(f"wrote {args.out}: {what}")


if __name__ == "__main__":
    main()
