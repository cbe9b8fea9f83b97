#!/usr/bin/env python3
"""Derive an export variant from the plain optimum export (workflow/methods.yaml lists them):

  o2       ORTOptimizer level O2: graph fusions (attention, layer norm, GELU), fp32, exact
  o3       O2 plus the approximate (tanh) GELU: fp32, not bit-exact
  o4       O3 in fp16 for CUDA (mixed precision)
  int8     ONNX Runtime dynamic int8 (weights per channel, activations per batch) of the matrix
           products of the plain export
  int8s    ONNX Runtime static int8 (QDQ), activation ranges calibrated on CoNLL-2003 train sentences
  ov-int8  OpenVINO IR quantized by NNCF (static), calibrated on CoNLL-2003 train sentences

The int8 recipes quantize the matrix products only, with per-channel weights, and keep the
classifier in fp32; docs/measurements/epyc-zen3-2026-11-29-findings.md gives the measurements behind each choice
(the O2 graph, 7-bit weights and per-tensor weights were tried and lost). Calibration never sees
the test corpus.

The result is a directory like the plain export (model.onnx or model.xml, config.json, tokenizer
files, variant.json saying how it was made), so every method it applies to runs it unchanged.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the grid package on the path)
from nerbench.host import cpu_flags

CALIBRATION_SENTENCES = 512
# Quantized operators: the matrix products. Gather (embeddings) and the rest stay fp32.
QUANTIZED_OPERATORS = ["MatMul"]


# ---- fp32 and fp16 graph optimisations (optimum) ------------------------------------------------


def optimized(name: str, level: str, **options):
    """An ORTOptimizer level (AutoOptimizationConfig.O2, ...); optimum is imported when used."""

    def derive(source: Path, scratch: Path, calibration: Path | None) -> dict:
        from optimum.onnxruntime import ORTOptimizer
        from optimum.onnxruntime.configuration import AutoOptimizationConfig

        ORTOptimizer.from_pretrained(source).optimize(getattr(AutoOptimizationConfig, level)(**options), scratch)
        return {"recipe": f"ORTOptimizer {name}"}

    return derive


# ---- int8 (ONNX Runtime) ---------------------------------------------------------------------


def classifier_nodes(model_path: Path) -> list[str]:
    """The classifier head's nodes: the MatMul (and Add) whose output feeds the logits."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    producers = {output: node for node in graph.node for output in node.output}
    found, frontier = [], ["logits"]
    while frontier and len(found) < 4:
        node = producers.get(frontier.pop())
        if node is None:
            continue
        found.append(node.name)
        if node.op_type == "MatMul":
            break
        frontier.extend(node.input)
    return found


def int8_choices(plain: Path) -> dict:
    """What both ONNX Runtime recipes quantize, and how: the matrix products, int8 weights per
    output channel, the classifier left in fp32."""
    from onnxruntime.quantization import QuantType

    return {
        "per_channel": True,
        "weight_type": QuantType.QInt8,
        "op_types_to_quantize": QUANTIZED_OPERATORS,
        "nodes_to_exclude": classifier_nodes(plain),
    }


def dynamic_int8(source: Path, scratch: Path, calibration: Path | None) -> dict:
    from onnxruntime.quantization import quantize_dynamic

    plain = source / "model.onnx"
    choices = int8_choices(plain)
    quantize_dynamic(plain, scratch / "model.onnx", **choices)
    return {
        "recipe": "dynamic int8 of the matrix products",
        "per_channel": True,
        "fp32_nodes": choices["nodes_to_exclude"],
    }


class CalibrationReader:
    """Batches of tokenized CoNLL-2003 train sentences, as the graph takes them."""

    def __init__(self, model_dir: Path, train: Path, input_names: list[str], batch_size: int = 16):
        from nerlib.batching import pad_batch
        from nerlib.frame import encoded_from_tokenizers
        from nerlib.output import read_json_lines
        from nerlib.tokenizer import load_tokenizer

        tokenizer, pad_id = load_tokenizer(model_dir)
        sentences = [" ".join(s["tokens"]) for s in read_json_lines(train)[:CALIBRATION_SENTENCES]]
        encoded = encoded_from_tokenizers(tokenizer.encode_batch(sentences))
        self.batches = [
            {
                name: array
                for name, array in pad_batch(encoded[i : i + batch_size], pad_id).items()
                if name in input_names
            }
            for i in range(0, len(encoded), batch_size)
        ]
        self.position = 0

    def get_next(self):
        if self.position == len(self.batches):
            return None
        self.position += 1
        return self.batches[self.position - 1]

    def rewind(self):
        self.position = 0


def graph_input_names(model_path: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}
    return [item.name for item in graph.input if item.name not in initializers]


def static_int8(source: Path, scratch: Path, calibration: Path | None) -> dict:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    plain = source / "model.onnx"
    choices = int8_choices(plain)
    quantize_static(
        plain,
        scratch / "model.onnx",
        CalibrationReader(source, calibration, graph_input_names(plain)),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        calibrate_method=CalibrationMethod.MinMax,
        **choices,
    )
    return {
        "recipe": "static int8 (QDQ)",
        "calibration_sentences": CALIBRATION_SENTENCES,
        "per_channel": True,
        "fp32_nodes": choices["nodes_to_exclude"],
    }


# ---- int8 (OpenVINO, NNCF) ---------------------------------------------------------------------


def openvino_int8(source: Path, scratch: Path, calibration: Path | None) -> dict:
    import nncf
    import openvino

    plain = source / "model.onnx"
    core = openvino.Core()
    model = core.read_model(str(plain))
    reader = CalibrationReader(source, calibration, [item.get_any_name() for item in model.inputs])
    quantized = nncf.quantize(
        model,
        nncf.Dataset(reader.batches),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(reader.batches),
        ignored_scope=nncf.IgnoredScope(names=classifier_nodes(plain), validate=False),
    )
    openvino.save_model(quantized, str(scratch / "model.xml"))
    return {"recipe": "NNCF static int8 (OpenVINO IR)", "calibration_sentences": CALIBRATION_SENTENCES}


# How each variant of the registry (workflow/methods.yaml) is made, and whether it needs
# calibration sentences.
DERIVATIONS = {
    "o2": optimized("O2", "O2"),
    "o3": optimized("O3", "O3"),
    "o4": optimized("O4 (fp16, for the GPU)", "O4", for_gpu=True),
    "int8": dynamic_int8,
    "int8s": static_int8,
    "ov-int8": openvino_int8,
}
CALIBRATED = {"int8s", "ov-int8"}


def only_onnx_file(folder: Path) -> Path:
    produced = sorted(folder.glob("*.onnx"))
    if len(produced) != 1:
        sys.exit(f"export_variant.py: error: expected one ONNX file in {folder}, found {[p.name for p in produced]}")
    return produced[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the plain ONNX export directory")
    parser.add_argument("variant", choices=DERIVATIONS)
    parser.add_argument("out", type=Path)
    parser.add_argument("--calibration", type=Path, help="CoNLL-2003 train split (JSON Lines), for int8s and ov-int8")
    args = parser.parse_args()
    if not (args.source / "model.onnx").is_file():
        sys.exit(f"export_variant.py: error: {args.source}/model.onnx: missing")
    if args.variant in CALIBRATED and not args.calibration:
        sys.exit(f"export_variant.py: error: {args.variant} is calibrated: give --calibration (the train split)")
    started = time.time()
    with tempfile.TemporaryDirectory(dir=args.out.parent) as scratch:
        made = DERIVATIONS[args.variant](args.source, Path(scratch), args.calibration)
        partial = Path(tempfile.mkdtemp(prefix=f".{args.out.name}.", dir=args.out.parent))
        for item in args.source.iterdir():
            if item.is_file() and item.name != "model.onnx" and not item.name.startswith("."):
                shutil.copy2(item, partial / item.name)
        if (Path(scratch) / "model.xml").is_file():  # an OpenVINO IR: the graph and its weights
            for name in ("model.xml", "model.bin"):
                shutil.move(Path(scratch) / name, partial / name)
        else:  # ORTOptimizer names its output model_optimized.onnx, the quantizers model.onnx
            shutil.move(only_onnx_file(Path(scratch)), partial / "model.onnx")
        made.update(variant=args.variant, seconds=round(time.time() - started, 1), cpu_flags=sorted(cpu_flags()))
        (partial / "variant.json").write_text(json.dumps(made, indent=1) + "\n", encoding="utf-8")
        if args.out.exists():
            shutil.rmtree(args.out)
        partial.rename(args.out)
    print(f"wrote {args.out}: {made['recipe']}")


if __name__ == "__main__":
    main()
