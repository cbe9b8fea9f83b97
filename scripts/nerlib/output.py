"""Predictions as JSON Lines: one line per input line, in input order, each a list of
{"label", "start", "end", "text"} with character offsets into that line.

Compact separators and raw UTF-8 match serde_json's defaults, so the Rust binary writes the
same bytes.
"""

import json
import os
from pathlib import Path


def format_entities(entities: list[dict]) -> str:
    return json.dumps(entities, ensure_ascii=False, separators=(",", ":"))


def write_predictions(path: str | Path, per_line: list[list[dict]]) -> None:
    """Written to a temporary file and renamed, so a killed run never leaves a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8", newline="\n") as stream:
        for entities in per_line:
            stream.write(format_entities(entities) + "\n")
    os.replace(partial, path)
