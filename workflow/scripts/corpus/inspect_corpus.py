#!/usr/bin/env python3
"""Read the corpus exactly as every method will and record its shape, so that a bad file
(unreadable, invalid UTF-8, empty) stops the run with one line before any timing starts."""

import json
import sys

import common  # noqa: F401  (puts scripts/ on the path)
from nerlib.atomic import write_text_atomically
from nerlib.corpus import CorpusError, read_sentences


def main() -> None:
    corpus, out = sys.argv[1], sys.argv[2]
    try:
        lines = read_sentences(corpus)
    except CorpusError as error:
        sys.exit(f"inspect_corpus.py: error: {error}")
    shape = {
        "file": corpus,
        "lines": len(lines),
        "blank_lines": sum(1 for line in lines if not line.strip()),
        "words": sum(len(line.split()) for line in lines),
        "longest_line_chars": max(len(line) for line in lines),
    }
    write_text_atomically(out, json.dumps(shape, indent=1) + "\n")
    print(json.dumps(shape))


if __name__ == "__main__":
    main()
