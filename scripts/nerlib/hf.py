"""transformers helpers for the methods built on it (baseline, pipelines, ort-hf).
Importing this module imports transformers; the lean methods never do."""

from pathlib import Path

from transformers import AutoTokenizer

from .batching import Encoded
from .frame import MethodError, encoded_from_tokenizers
from .model_inputs import pad_id, read_model_inputs

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def load_auto_tokenizer(model_dir: str):
    missing = [name for name in TOKENIZER_FILES if not (Path(model_dir) / name).is_file()]
    if missing:
        raise MethodError(f"{model_dir}: tokenizer file(s) missing: {', '.join(missing)}")
    return AutoTokenizer.from_pretrained(model_dir)


class TransformersEncoder:
    """Tokenizes with the model's fast tokenizer, truncating at the limit every method uses
    (nerlib/model_inputs.py); `input_names` are the inputs the tokenizer gives the model."""

    def __init__(self, model_dir: str):
        self.tokenizer = load_auto_tokenizer(model_dir)
        inputs = read_model_inputs(model_dir)
        self.max_length = inputs.max_length
        self.pad_id = pad_id(inputs, self.tokenizer.backend_tokenizer.token_to_id, model_dir)
        self.input_names = list(self.tokenizer.model_input_names)

    def encode(self, lines: list[str]) -> list[Encoded]:
        return encoded_from_tokenizers(self.tokenizer(lines, truncation=True, max_length=self.max_length).encodings)
