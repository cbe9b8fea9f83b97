"""The frame every method runs in: arguments, corpus, tokenize once, batch, infer, decode, write.

A method supplies a backend (`load_backend(args)` returning an object with `id2label`,
`pad_id`, `encode(lines)` and `logits(input_ids, attention_mask)`) and calls `run`; or, when a
library does everything itself (the transformers pipeline), a `predict(args, lines, timer)`
function and calls `run_predictor`.
"""

import json
import sys
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from .batching import Encoded, batch_indices, pad_batch
from .cli import parse_args
from .corpus import CorpusError, read_corpus
from .decode import decode_sentence
from .output import write_predictions
from .timings import PhaseTimer


class MethodError(RuntimeError):
    """A failure the user can act on (no GPU, unreadable model): one line, no traceback."""


class Backend(Protocol):
    id2label: dict[int, str]
    pad_id: int

    def encode(self, lines: list[str]) -> list[Encoded]: ...

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


def read_model_config(model_dir: str | Path) -> dict:
    """config.json of a transformers model directory or of its ONNX export."""
    path = Path(model_dir) / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MethodError(f"{path}: missing: not a model directory") from None
    except (OSError, ValueError) as error:
        raise MethodError(f"{path}: unreadable model config: {error}") from None


def label_map(config: dict) -> dict[int, str]:
    return {int(index): label for index, label in config["id2label"].items()}


def encoded_from_tokenizers(encodings) -> list[Encoded]:
    """Our Encoded from `tokenizers.Encoding`s (also what a transformers fast tokenizer holds in
    `.encodings`), counting the non-special tokens truncation cut off."""
    return [
        Encoded(
            ids=encoding.ids,
            offsets=encoding.offsets,
            special=encoding.special_tokens_mask,
            cut_tokens=sum(
                1 for overflow in encoding.overflowing for flag in overflow.special_tokens_mask if not flag
            ),
        )
        for encoding in encodings
    ]


def predict_with_backend(backend: Backend, args, lines: list[str], timer: PhaseTimer) -> list[list[dict]]:
    with timer.phase("tokenize"):
        encoded = backend.encode(lines)
    note_truncation(timer, encoded)
    predictions: list[list[dict]] = [[] for _ in lines]
    for indices in batch_indices([len(item.ids) for item in encoded], args.batch_size, args.sort):
        batch = [encoded[index] for index in indices]
        with timer.phase("tokenize"):
            input_ids, attention_mask = pad_batch(batch, backend.pad_id)
        logits = infer(backend, input_ids, attention_mask, timer)
        with timer.phase("decode"):
            label_ids = logits.argmax(axis=-1)
            for row, index in enumerate(indices):
                item = encoded[index]
                predictions[index] = decode_sentence(
                    lines[index], label_ids[row, : len(item.ids)], item.offsets, item.special, backend.id2label
                )
    return predictions


def infer(backend: Backend, input_ids: np.ndarray, attention_mask: np.ndarray, timer: PhaseTimer) -> np.ndarray:
    """Logits for a batch; a backend with an `io_binding` (ONNX Runtime on CUDA) has its
    host-device copies timed as "transfer" rather than as inference."""
    binding = getattr(backend, "io_binding", None)
    if binding is None:
        with timer.phase("inference"):
            return backend.logits(input_ids, attention_mask)
    with timer.phase("transfer"):
        bound = binding.upload(input_ids, attention_mask)
    with timer.phase("inference"):
        binding.run(bound)
    with timer.phase("transfer"):
        return binding.download(bound)


def note_truncation(timer: PhaseTimer, encoded: list[Encoded]) -> None:
    cut = [item.cut_tokens for item in encoded if item.cut_tokens]
    timer.notes["truncated_sentences"] = len(cut)
    timer.notes["truncated_tokens"] = sum(cut)
    if cut:
        print(
            f"note: {len(cut)} sentence(s) longer than the model's limit were truncated; "
            f"{sum(cut)} token(s) were not classified",
            file=sys.stderr,
        )


def run_predictor(description: str, predict: Callable, argv=None) -> None:
    timer = PhaseTimer()
    args = parse_args(description, argv)
    program = Path(sys.argv[0]).name
    try:
        lines = read_corpus(args.file)
        predictions = predict(args, lines, timer)
    except (CorpusError, MethodError) as error:
        sys.exit(f"{program}: error: {error}")
    with timer.phase("output"):
        if args.output:
            write_predictions(args.output, predictions)
    if args.timings:
        timer.notes.update(sentences=len(lines), batch_size=args.batch_size, threads=args.threads, sort=args.sort)
        timer.write(args.timings)


def run(description: str, load_backend: Callable[..., Backend], argv=None) -> None:
    def predict(args, lines, timer):
        with timer.phase("load"):
            backend = load_backend(args)
        return predict_with_backend(backend, args, lines, timer)

    run_predictor(description, predict, argv)
