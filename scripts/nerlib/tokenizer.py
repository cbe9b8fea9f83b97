"""The model's tokenizer through the `tokenizers` library alone (no transformers), set up as
every method tokenizes: no padding (the frame pads each batch), truncation at the limit every
method uses (nerlib/model_inputs.py). Used by the lean methods, and by the roofline's FLOP count,
which must see the tokens they see."""

from pathlib import Path

from tokenizers import Tokenizer

from .model_dir import MethodError
from .model_inputs import pad_id, read_model_inputs


def load_tokenizer(model_dir: str | Path) -> tuple[Tokenizer, int]:
    """The tokenizer, and the id it pads with."""
    path = Path(model_dir) / "tokenizer.json"
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises plain Exception
        raise MethodError(f"{path}: cannot load tokenizer: {error}") from None
    inputs = read_model_inputs(model_dir)
    tokenizer.no_padding()
    tokenizer.enable_truncation(inputs.max_length)
    return tokenizer, pad_id(inputs, tokenizer.token_to_id, model_dir)
