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

from common import cpu_flags, registry


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


def optimized(name: str, level):
    def derive(source: Path, scratch: Path) -> str:
        ORTOptimizer.from_pretrained(source).optimize(level(), scratch)
        return f"ORTOptimizer {name}"

    return derive


def quantized(source: Path, scratch: Path) -> str:
    name, config = quantization_config()
    ORTQuantizer.from_pretrained(source).quantize(config, scratch)
    return f"dynamic int8 for {name}"


# How each variant of the registry (workflow/methods.yaml) is made.
DERIVATIONS = {
    "o2": optimized("O2", AutoOptimizationConfig.O2),
    "o3": optimized("O3", AutoOptimizationConfig.O3),
    "o4": optimized("O4 (fp16, for the GPU)", lambda: AutoOptimizationConfig.O4(for_gpu=True)),
    "int8": quantized,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the plain ONNX export directory")
    parser.add_argument("variant", choices=registry()["variants"])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    if not (args.source / "model.onnx").is_file():
        sys.exit(f"export_variant.py: error: {args.source}/model.onnx: missing")
    with tempfile.TemporaryDirectory(dir=args.out.parent) as scratch:
        what = DERIVATIONS[args.variant](args.source, Path(scratch))
        produced = sorted(Path(scratch).glob("*.onnx"))
        if len(produced) != 1:
            sys.exit(
                f"export_variant.py: error: expected one ONNX file from {what}, found {[p.name for p in produced]}"
            )
        partial = Path(tempfile.mkdtemp(prefix=args.out.name + ".", dir=args.out.parent))
        for item in args.source.iterdir():
            if item.is_file() and item.name != "model.onnx" and not item.name.startswith("."):
                shutil.copy2(item, partial / item.name)
        shutil.move(produced[0], partial / "model.onnx")
        (partial / "variant.txt").write_text(what + "\n", encoding="utf-8")
        if args.out.exists():
            shutil.rmtree(args.out)
        partial.rename(args.out)
    print(f"wrote {args.out}: {what}")


if __name__ == "__main__":
    main()
