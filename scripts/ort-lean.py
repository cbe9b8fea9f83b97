#!/usr/bin/env python3
"""ort-lean: ONNX Runtime driven by the `tokenizers` library alone. It imports neither
transformers nor torch, whose import alone costs seconds of every process."""

from pathlib import Path

import numpy as np
import onnxruntime
from nerlib.frame import MethodError, encoded_from_tokenizers, label_map, read_model_config, run
from nerlib.ort_session import IOBinding, execution_providers, session_options
from tokenizers import Tokenizer


def load_tokenizer(model_dir: str, max_length: int) -> Tokenizer:
    path = Path(model_dir) / "tokenizer.json"
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises plain Exception
        raise MethodError(f"{path}: cannot load tokenizer: {error}") from None
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


class LeanBackend:
    def __init__(self, args):
        config = read_model_config(args.model)
        self.id2label = label_map(config)
        self.tokenizer = load_tokenizer(args.model, config["max_position_embeddings"])
        self.pad_id = config.get("pad_token_id") or 0
        path = Path(args.model) / "model.onnx"
        providers = execution_providers(args.device)
        try:
            self.session = onnxruntime.InferenceSession(str(path), session_options(args.threads), providers=providers)
        except Exception as error:  # onnxruntime raises its own exception types
            raise MethodError(f"{path}: cannot load ONNX model: {str(error).splitlines()[0]}") from None
        # On CUDA the frame times the copies to and from the GPU apart from the inference.
        self.io_binding = IOBinding(self.session, "cuda") if args.device == "cuda" else None

    def encode(self, lines):
        return encoded_from_tokenizers(self.tokenizer.encode_batch(lines))

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})[0]


if __name__ == "__main__":
    run(__doc__, LeanBackend)
