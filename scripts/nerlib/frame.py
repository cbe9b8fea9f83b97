"""The frame every method runs in: arguments, corpus, tokenize once, batch, infer, decode, write.

A method's script defines `PROGRAM`, a `Program`: with `backend_program`, from a backend class
(`Backend`: `id2label`, `pad_id`, `io_binding`, `workers`, `encode(lines)` and `logits(inputs)`),
or, when a library does everything itself (the transformers pipeline), from a function that
loads a predictor. It runs `PROGRAM.main()` as its command line.
"""

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .batching import Encoded, batch_indices, pad_batch
from .cli import CONFIG, parse_args
from .corpus import CorpusError, read_corpus
from .decode import decode_sentence
from .model_dir import MethodError, read_model_config  # noqa: F401  (the methods import them here)
from .output import write_predictions
from .timings import PhaseTimer


class DeviceCopies(Protocol):
    """Inference in three steps, so that host-device copies are timed apart (ONNX Runtime on CUDA)."""

    def upload(self, inputs: dict[str, np.ndarray]): ...

    def run(self, bound): ...

    def download(self, bound) -> np.ndarray: ...


class Backend(Protocol):
    id2label: dict[int, str]
    pad_id: int
    io_binding: DeviceCopies | None  # None: logits() does the copies inside the inference phase
    workers: int  # sessions that run batches side by side (data parallelism); 1 for most

    def encode(self, lines: list[str]) -> list[Encoded]: ...

    def logits(self, inputs: dict[str, np.ndarray], worker: int = 0) -> np.ndarray:
        """[rows, width, labels] for a padded batch (input_ids, attention_mask, token_type_ids), on
        the given worker's session."""


def configured_model(kind: str) -> str:
    """The model `make bench` built: data/models/<model.name of ./config.yaml>/<kind>, so that the
    original benchmark's command lines (`python scripts/baseline.py -d cpu -b 8 data/test-1k.txt`)
    run as written from the repository."""
    import yaml  # only when -m is left out: the timed runs always pass it

    try:
        name = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["model"]["name"]
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
        raise MethodError(f"no -m MODEL_DIR given, and {CONFIG} here names no model (model.name)") from None
    return str(Path("data") / "models" / name / kind)


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
            type_ids=encoding.type_ids,
            cut_tokens=sum(1 for overflow in encoding.overflowing for flag in overflow.special_tokens_mask if not flag),
        )
        for encoding in encodings
    ]


def predict_with_backend(backend: Backend, args, lines: list[str], timer: PhaseTimer) -> list[list[dict]]:
    if not lines:
        return []  # an empty corpus: an empty predictions file, as from every method
    with timer.phase("tokenize"):
        encoded = backend.encode(lines)
        lengths = [len(item.ids) for item in encoded]
        batches = [
            (indices, pad_batch([encoded[index] for index in indices], backend.pad_id))
            for indices in batch_indices(lengths, args.batch_size, args.sort, by_token_budget=args.token_budget)
        ]
    note_truncation(timer, encoded)
    if backend.workers > 1:
        with timer.phase("inference"):
            logits = infer_in_parallel(backend, [inputs for _, inputs in batches])
    else:
        logits = [infer(backend, inputs, timer) for _, inputs in batches]
    predictions: list[list[dict]] = [[] for _ in lines]
    with timer.phase("decode"):
        for (indices, _), scores in zip(batches, logits, strict=True):
            label_ids = scores.argmax(axis=-1)
            for row, index in enumerate(indices):
                item = encoded[index]
                predictions[index] = decode_sentence(
                    lines[index], label_ids[row, : len(item.ids)], item.offsets, item.special, backend.id2label
                )
    return predictions


def infer(backend: Backend, inputs: dict[str, np.ndarray], timer: PhaseTimer) -> np.ndarray:
    """Logits for a batch; a backend with an `io_binding` (ONNX Runtime on CUDA) has its
    host-device copies timed as "transfer" rather than as inference."""
    binding = backend.io_binding
    if binding is None:
        with timer.phase("inference"):
            return backend.logits(inputs)
    with timer.phase("transfer"):
        bound = binding.upload(inputs)
    with timer.phase("inference"):
        binding.run(bound)
    with timer.phase("transfer"):
        return binding.download(bound)


def infer_in_parallel(backend: Backend, batches: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
    """Data parallelism: each of the backend's workers (a session of its own) takes the next batch
    as soon as it is free, longest first when sorted; results come back in batch order."""
    import queue  # here, not at the top: most methods never run in parallel, and imports are timed
    from concurrent.futures import ThreadPoolExecutor

    free = queue.SimpleQueue()
    for worker in range(backend.workers):
        free.put(worker)

    def run_batch(inputs):
        worker = free.get()
        try:
            return backend.logits(inputs, worker)
        finally:
            free.put(worker)

    with ThreadPoolExecutor(backend.workers) as pool:
        return list(pool.map(run_batch, batches))


def torch_cuda_memory() -> dict:
    """The torch allocator's peaks, for a method that ran torch on the GPU (NVML, in
    workflow/scripts/gpu_memory.py, measures every method's whole process alike)."""
    torch = sys.modules.get("torch")  # never imported here: only a torch method has it
    if torch is None or not torch.cuda.is_initialized():
        return {}
    return {
        "torch_max_memory_allocated_bytes": torch.cuda.max_memory_allocated(),
        "torch_max_memory_reserved_bytes": torch.cuda.max_memory_reserved(),
    }


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


class Predictor(Protocol):
    def __call__(self, lines: list[str], timer: PhaseTimer) -> list[list[dict]]:
        """Each line's entities, the model already loaded."""


@dataclass(frozen=True)
class Program:
    """A method's program: what it is, which model folder it reads ("torch" for the transformers
    model, "onnx" for the export, "ct2" for the CTranslate2 conversion), how it loads a predictor
    (once: `load(args)`), and the options only it has. `main()` is its command line: read the
    corpus, load, predict, write. A serving harness (nerlib/serving.py) loads the same predictor
    once and calls it per request. `backend`: the backend class, where the program has one."""

    description: str
    model_kind: str
    load: Callable[[argparse.Namespace], Predictor]
    extra_arguments: Callable | None = None
    backend: type | None = None

    def parse_args(self, argv=None) -> argparse.Namespace:
        args = parse_args(self.description, self.model_kind, argv, self.extra_arguments)
        args.model = args.model or configured_model(self.model_kind)
        return args

    def main(self, argv=None) -> None:
        timer = PhaseTimer()
        program = Path(sys.argv[0]).name
        try:
            args = self.parse_args(argv)
            lines = read_corpus(args.file)
            with timer.phase("load"):
                predict = self.load(args)
            predictions = predict(lines, timer)
        except (CorpusError, MethodError) as error:
            sys.exit(f"{program}: error: {error}")
        target = args.output
        try:
            with timer.phase("output"):
                if args.output:
                    write_predictions(args.output, predictions)
            if args.timings:
                target = args.timings
                timer.notes.update(sentences=len(lines), batch_size=args.batch_size, threads=args.threads)
                timer.notes.update(sort=args.sort, token_budget=args.token_budget)
                timer.notes.update(torch_cuda_memory())
                timer.write(args.timings)
        except OSError as error:  # a full disk, a folder that cannot be written
            sys.exit(f"{program}: error: {target}: cannot write: {error.strerror or error}")


def backend_program(description: str, model_kind: str, backend: type, extra_arguments=None) -> Program:
    """The program of a method that supplies a backend (most): the shared frame does the rest."""

    def load(args) -> Predictor:
        loaded = backend(args)
        return lambda lines, timer: predict_with_backend(loaded, args, lines, timer)

    return Program(description, model_kind, load, extra_arguments, backend)


def load_program(path: str | Path) -> Program:
    """The `PROGRAM` a method's script defines, loaded without running its command line."""
    import runpy

    found = runpy.run_path(str(path), run_name="nerbench_method").get("PROGRAM")
    if not isinstance(found, Program):
        raise MethodError(f"{path}: defines no PROGRAM (a nerlib.frame.Program)")
    return found
