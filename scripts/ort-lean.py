#!/usr/bin/env python3
"""ort-lean: ONNX Runtime driven by the `tokenizers` library alone. It imports neither
transformers nor torch, whose import alone costs seconds of every process."""

from pathlib import Path

import numpy as np
import onnxruntime

from nerlib.frame import MethodError, encoded_from_tokenizers, label_map, read_model_config, run
from nerlib.ort_session import (
    IOBinding,
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
        path = Path(args.model) / "model.onnx"
        providers = execution_providers(args.device)
        try:
            self.session = onnxruntime.InferenceSession(str(path), session_options(args.threads), providers=providers)
        except Exception as error:  # onnxruntime raises its own exception types
            raise MethodError(f"{path}: cannot load ONNX model: {str(error).splitlines()[0]}") from None
        check_providers(self.session, args.device)
        graph_logits(self.session, path)
        # Exactly the inputs the graph declares: token_type_ids for BERT, ELECTRA, DeBERTa exports.
        self.input_names = graph_inputs(self.session, path)
        # On CUDA the frame times the copies to and from the GPU apart from the inference.
        self.io_binding = IOBinding(self.session, "cuda", self.input_names) if args.device == "cuda" else None

    def encode(self, lines):
        return encoded_from_tokenizers(self.tokenizer.encode_batch(lines))

    def logits(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(["logits"], {name: inputs[name] for name in self.input_names})[0]


if __name__ == "__main__":
    run(__doc__, "onnx", LeanBackend)
