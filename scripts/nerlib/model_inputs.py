"""What a model directory says about the inputs every method builds, read once and the same way
by every method, and by the Rust binary (onnxruntime-ner/src/model.rs), which follows these rules:

- the truncation limit: the tokenizer's own (`model_max_length` in tokenizer_config.json),
  capped by what the model's position table holds; families that number positions after the
  padding index (RoBERTa, XLM-RoBERTa, ...: positions.json) lose pad_token_id + 1 rows of it;
- the pad id: the tokenizer's pad token (tokenizer_config.json), else config.json's pad_token_id.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from .model_dir import MethodError, read_model_config, read_model_json

POSITION_OFFSET_FAMILIES = set(
    json.loads((Path(__file__).parent / "positions.json").read_text())["position_offset_families"]
)
# transformers writes this (int(1e30)) when a tokenizer names no limit of its own.
NO_LIMIT = 10**6


@dataclass(frozen=True)
class ModelInputs:
    max_length: int
    pad_token: str | None  # looked up in the tokenizer's vocabulary
    pad_token_id: int | None  # config.json's, where the tokenizer names no pad token


def position_capacity(config: dict) -> int:
    positions = config["max_position_embeddings"]
    if config.get("model_type") in POSITION_OFFSET_FAMILIES:
        return positions - (config.get("pad_token_id", 1) + 1)
    return positions


def truncation_limit(config: dict, tokenizer_config: dict) -> int:
    capacity = position_capacity(config)
    own = tokenizer_config.get("model_max_length")
    return min(capacity, own) if isinstance(own, int) and 0 < own < NO_LIMIT else capacity


def token_text(token) -> str | None:
    """A special token as tokenizer_config.json spells it: a string, or {"content": ...}."""
    return token.get("content") if isinstance(token, dict) else token


def read_model_inputs(model_dir: str | Path) -> ModelInputs:
    config = read_model_config(model_dir)
    tokenizer_config = read_model_json(model_dir, "tokenizer_config.json", "the model has no tokenizer configuration")
    if "max_position_embeddings" not in config:
        raise MethodError(f"{Path(model_dir) / 'config.json'}: no max_position_embeddings: cannot tell its limit")
    return ModelInputs(
        max_length=truncation_limit(config, tokenizer_config),
        pad_token=token_text(tokenizer_config.get("pad_token")),
        pad_token_id=config.get("pad_token_id"),
    )


def pad_id(inputs: ModelInputs, token_to_id, model_dir: str | Path) -> int:
    """The pad token's id in this tokenizer (`token_to_id`), else the model's pad_token_id."""
    found = token_to_id(inputs.pad_token) if inputs.pad_token else None
    if found is None:
        found = inputs.pad_token_id
    if found is None:
        raise MethodError(
            f"{model_dir}: names no pad token (tokenizer_config.json pad_token, config.json pad_token_id)"
        )
    return found
