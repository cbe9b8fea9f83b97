#!/usr/bin/env python3
"""ov-lean: OpenVINO on the CPU, driven by the `tokenizers` library alone (no transformers, no
torch), reading the same ONNX export as the ONNX Runtime methods, or an OpenVINO IR (model.xml,
the NNCF-quantized @ov-int8 variant).

OpenVINO computes in bf16 on CPUs with AVX512-BF16 or AMX unless told otherwise: the inference
precision is pinned to f32 (--precision bf16 asks for bf16, and is refused where the CPU cannot).
Compiled models are cached beside the model directory (a folder per model, precision and thread
count), so a warm-up compiles once and the timed runs load the compiled model: the load phase is
that cost, and what compiling itself costs shows in the first run.
"""

from pathlib import Path

import numpy as np
import openvino

from nerlib.frame import MethodError, backend_program, encoded_from_tokenizers, label_map, read_model_config
from nerlib.tokenizer import load_tokenizer

KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PRECISIONS = {"fp32": "f32", "bf16": "bf16"}


def model_file(model_dir: str) -> Path:
    ir = Path(model_dir) / "model.xml"
    return ir if ir.is_file() else Path(model_dir) / "model.onnx"


class OpenVinoBackend:
    workers = 1
    io_binding = None  # the CPU only

    def __init__(self, args):
        if args.device != "cpu":
            raise MethodError(f"-d {args.device}: ov-lean runs OpenVINO on the CPU only")
        self.id2label = label_map(read_model_config(args.model))
        self.tokenizer, self.pad_id = load_tokenizer(args.model)
        core = openvino.Core()
        if args.precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            raise MethodError("--precision bf16: this CPU has no bf16 instructions (AVX512-BF16 or AMX)")
        path = model_file(args.model)
        # Beside the model directory, not in it: the pipeline's outputs are left as they were made.
        model_dir = Path(args.model).resolve()
        cache = model_dir.parent / ".openvino-cache" / f"{model_dir.name}-{args.precision}-{args.threads}threads"
        config = {
            "INFERENCE_PRECISION_HINT": PRECISIONS[args.precision],
            "INFERENCE_NUM_THREADS": args.threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "CACHE_DIR": str(cache),
        }
        try:
            self.compiled = core.compile_model(str(path), "CPU", config)
        except Exception as error:  # openvino raises RuntimeError with a trace; its last line says why
            why = [line.strip() for line in str(error).splitlines() if line.strip()][-1]
            raise MethodError(f"{path}: OpenVINO cannot compile the model: {why}") from None
        self.input_names = [item.get_any_name() for item in self.compiled.inputs]
        if "input_ids" not in self.input_names or any(name not in KNOWN_INPUTS for name in self.input_names):
            raise MethodError(f"{path}: the graph's inputs {self.input_names} are not a token classifier's")
        try:
            self.output = self.compiled.output("logits")
        except RuntimeError:
            raise MethodError(f"{path}: the graph has no output named logits") from None
        self.request = self.compiled.create_infer_request()

    def encode(self, lines):
        return encoded_from_tokenizers(self.tokenizer.encode_batch(lines))

    def logits(self, inputs: dict[str, np.ndarray], worker: int = 0) -> np.ndarray:
        self.request.infer({name: inputs[name] for name in self.input_names})
        return self.request.get_tensor(self.output).data.copy()


def extra_arguments(parser) -> None:
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="fp32", help="OpenVINO's inference precision (default fp32)"
    )


PROGRAM = backend_program(__doc__, "onnx", OpenVinoBackend, extra_arguments)

if __name__ == "__main__":
    PROGRAM.main()
