"""A model directory's JSON files, read with one-line errors, and the error every method reports as
one line. Apart from the frame, so that what reads a model's files without running a method (the
input rules, the model build through them) depends on this alone."""

import json
from pathlib import Path


class MethodError(RuntimeError):
    """A failure the user can act on (no GPU, unreadable model): one line, no traceback."""


def read_model_json(model_dir: str | Path, name: str, missing: str) -> dict:
    """One of a model directory's JSON files; `missing` says what its absence means."""
    path = Path(model_dir) / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MethodError(f"{path}: missing: {missing}") from None
    except (OSError, ValueError) as error:
        raise MethodError(f"{path}: unreadable: {error}") from None


def read_model_config(model_dir: str | Path) -> dict:
    """config.json of a transformers model directory or of its ONNX export."""
    return read_model_json(model_dir, "config.json", "not a model directory")
