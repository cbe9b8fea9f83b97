#!/usr/bin/env python3
"""ort-lean: ONNX Runtime driven by the `tokenizers` library alone. It imports neither
transformers nor torch, whose import alone costs seconds of every process."""

from pathlib import Path

import numpy as np
import onnxruntime

from nerlib.cli import add_workers_argument
from nerlib.frame import MethodError, backend_program, encoded_from_tokenizers, label_map, read_model_config
from nerlib.ort_session import (
    IOBinding,
    add_session_arguments,
    check_providers,
    execution_providers,
    graph_inputs,
    graph_logits,
    session_options,
)
from nerlib.tokenizer import load_tokenizer


class LeanBackend:
    def __init__(self, args):
        self.id2label = label_map(read_model_config(args.model))
        self.tokenizer, self.pad_id = load_tokenizer(args.model)
        self.workers = args.workers
        path = Path(args.model) / "model.onnx"
        providers = execution_providers(args.device)
        options = session_options(args.threads // args.workers, args.u8u8)
        try:
            self.sessions = load_sessions(
                lambda: onnxruntime.InferenceSession(str(path), options, providers=providers), args.workers
            )
        except Exception as error:  # onnxruntime raises its own exception types
            raise MethodError(f"{path}: cannot load ONNX model: {str(error).splitlines()[0]}") from None
        session = self.sessions[0]
        check_providers(session, args.device)
        graph_logits(session, path)
        # Exactly the inputs the graph declares: token_type_ids for BERT, ELECTRA, DeBERTa exports.
        self.input_names = graph_inputs(session, path)
        # On CUDA the frame times the copies to and from the GPU apart from the inference.
        self.io_binding = IOBinding(session, "cuda", self.input_names) if args.device == "cuda" else None

    def encode(self, lines):
        return encoded_from_tokenizers(self.tokenizer.encode_batch(lines))

    def logits(self, inputs: dict[str, np.ndarray], worker: int = 0) -> np.ndarray:
        return self.sessions[worker].run(["logits"], {name: inputs[name] for name in self.input_names})[0]


def load_sessions(load, workers: int) -> list:
    """`workers` sessions, side by side on threads where there are several: ONNX Runtime loads
    without the GIL, so two load in little more than the time of one. One session imports no pool:
    the imports are part of every timed run."""
    if workers == 1:
        return [load()]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return [future.result() for future in [pool.submit(load) for _ in range(workers)]]


def extra_arguments(parser) -> None:
    add_session_arguments(parser)
    add_workers_argument(parser, "sessions")


PROGRAM = backend_program(__doc__, "onnx", LeanBackend, extra_arguments)

if __name__ == "__main__":
    PROGRAM.main()
