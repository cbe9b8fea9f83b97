"""Predictions as JSON Lines: one line per input line, in input order, each a list of
{"label", "start", "end", "text"} with character offsets into that line.

Compact separators and raw UTF-8 match serde_json's defaults, so the Rust binary writes the
same bytes. A line of the file ends at "\\n" only: the text of an entity may hold other Unicode
line breaks (U+2028, U+0085, ...) raw, as JSON allows, so readers must not split there.
"""

import json
from pathlib import Path

from .atomic import atomic_file


def format_entities(entities: list[dict]) -> str:
    return json.dumps(entities, ensure_ascii=False, separators=(",", ":"))


def write_predictions(path: str | Path, per_line: list[list[dict]]) -> None:
    with atomic_file(path) as stream:
        for entities in per_line:
            stream.write(format_entities(entities) + "\n")


def read_json_lines(path: str | Path) -> list:
    """Every JSON Lines file of the project (predictions, training splits), split at "\\n" only."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [json.loads(line) for line in lines]
