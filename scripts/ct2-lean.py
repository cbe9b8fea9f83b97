#!/usr/bin/env python3
"""ct2-lean: CTranslate2's encoder driven by the `tokenizers` library alone (no transformers, no
torch), on a conversion of the model (workflow/scripts/model/convert_ct2.py): the encoder in
CTranslate2's format, the classifier after it applied here in numpy.

CTranslate2 runs on the CPU only here: its wheel's CUDA path loads CUDA 12's cuBLAS, and the
grid pins CUDA 13's. Data parallelism (--workers N) is CTranslate2's own: N replicas of
the model (inter_threads) of threads/N threads each, sharing one copy of the weights.
"""

import json
import zipfile
from pathlib import Path

import ctranslate2
import numpy as np
from threadpoolctl import threadpool_limits

from nerlib.cli import add_workers_argument
from nerlib.frame import MethodError, backend_program, encoded_from_tokenizers, label_map, read_model_config
from nerlib.tokenizer import load_tokenizer


class CTranslate2Backend:
    io_binding = None  # the CPU only

    def __init__(self, args):
        if args.device != "cpu":
            raise MethodError(f"-d {args.device}: ct2-lean runs CTranslate2 on the CPU only")
        config = read_model_config(args.model)
        self.id2label = label_map(config)
        self.tokenizer, self.pad_id = load_tokenizer(args.model)
        # Families with a token-type table (BERT, RoBERTa's one-row table) get the tokenizer's types.
        self.uses_token_types = "type_vocab_size" in config
        self.workers = args.workers
        threads_each = args.threads // args.workers
        # The classifier's product runs in numpy's BLAS, whose pool is the machine's cores unless
        # capped: each worker's product gets its share of --threads, as each replica does.
        threadpool_limits(limits=threads_each, user_api="blas")
        model = Path(args.model)
        try:
            self.encoder = ctranslate2.Encoder(
                str(model / "encoder"), device="cpu", inter_threads=args.workers, intra_threads=threads_each
            )
        except (RuntimeError, ValueError) as error:
            raise MethodError(f"{model / 'encoder'}: cannot load CTranslate2 model: {error}") from None
        try:
            with np.load(model / "classifier.npz") as head:
                self.weight_t = np.ascontiguousarray(head["weight"].T)
                self.bias = head["bias"]
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            raise MethodError(f"{model / 'classifier.npz'}: unreadable: {error}") from None
        check_compute_type(model, self.encoder.compute_type)
        if self.weight_t.shape[1] != len(self.id2label):
            raise MethodError(
                f"{model / 'classifier.npz'}: {self.weight_t.shape[1]} labels, config.json names {len(self.id2label)}"
            )

    def encode(self, lines):
        return encoded_from_tokenizers(self.tokenizer.encode_batch(lines))

    def logits(self, inputs: dict[str, np.ndarray], worker: int = 0) -> np.ndarray:
        """CTranslate2 picks a free replica itself: `worker` is not needed."""
        ids = ctranslate2.StorageView.from_array(np.ascontiguousarray(inputs["input_ids"], dtype=np.int32))
        lengths = ctranslate2.StorageView.from_array(inputs["attention_mask"].sum(axis=1, dtype=np.int32))
        types = inputs["token_type_ids"].tolist() if self.uses_token_types else None
        hidden = np.asarray(self.encoder.forward_batch(ids, lengths, token_type_ids=types).last_hidden_state)
        return hidden @ self.weight_t + self.bias


def check_compute_type(model: Path, computed: str) -> None:
    """CTranslate2 falls back to float32 with a warning where the CPU lacks the conversion's
    type: a cell labelled int8 must run int8."""
    try:
        saved = json.loads((model / "variant.json").read_text(encoding="utf-8"))["quantization"]
    except (OSError, ValueError, KeyError, TypeError):
        raise MethodError(f"{model / 'variant.json'}: missing or unreadable: not a ct2 conversion") from None
    if not computed.startswith(saved):
        raise MethodError(f"{model}: converted to {saved}, and CTranslate2 computes in {computed} on this CPU")


def extra_arguments(parser) -> None:
    add_workers_argument(parser, "model replicas")


PROGRAM = backend_program(__doc__, "ct2", CTranslate2Backend, extra_arguments)

if __name__ == "__main__":
    PROGRAM.main()
