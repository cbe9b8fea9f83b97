#!/usr/bin/env python3
"""The reference run, and how sure it was of each word-piece.

Runs the reference method's own backend (its program's `PROGRAM.backend`) through the shared
frame exactly as `PROGRAM -d cpu -b 1` does, so its predictions are the program's, byte for byte;
from the same logits it writes each sentence's gaps: [[start, end, {label: gap}], ...], how far
each label's logit was below the best one at every word-piece (0 for the best), with the
characters it covers. A cell that differs from the reference where the label it chose was a hair
below the reference's best has flipped a near-tie, which another kernel's rounding does; where it
was far below, it has not (check_cell.py).

    reference.py --program scripts/baseline.py -m MODEL_DIR --predictions reference.jsonl
                 --gaps reference-gaps.jsonl CORPUS
"""

import argparse
import json
import sys

import numpy as np

import common  # noqa: F401  (puts scripts/ on the path)
from nerlib.atomic import write_text_atomically
from nerlib.corpus import CorpusError, read_corpus
from nerlib.frame import MethodError, load_program, predict_with_backend
from nerlib.output import write_predictions
from nerlib.timings import PhaseTimer


class Recording:
    """A backend that keeps what the frame asked of it: the encodings and every batch's logits."""

    def __init__(self, backend):
        self.backend = backend
        self.encoded, self.logits_seen = [], []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def encode(self, lines):
        self.encoded = self.backend.encode(lines)
        return self.encoded

    def logits(self, inputs, worker: int = 0):
        found = self.backend.logits(inputs, worker)
        self.logits_seen.append(found)
        return found


def token_gaps(logits: np.ndarray) -> np.ndarray:
    """Each label's logit below the best one, per token ([tokens, labels] → [tokens, labels])."""
    return logits.max(axis=-1, keepdims=True) - logits


def sentence_gaps(recording: Recording) -> list[list[list]]:
    """At batch size 1, unsorted, the frame's batches are the sentences in order."""
    labels = [recording.id2label[index] for index in range(len(recording.id2label))]
    rows = []
    for item, logits in zip(recording.encoded, recording.logits_seen, strict=True):
        gaps = token_gaps(np.asarray(logits[0, : len(item.ids)], dtype=np.float64))
        rows.append(
            [
                [start, end, {label: round(float(gap), 5) for label, gap in zip(labels, token, strict=True)}]
                for (start, end), special, token in zip(item.offsets, item.special, gaps, strict=True)
                if not special
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--program", required=True, help="the reference method's program")
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("--predictions", required=True)
    parser.add_argument("--gaps", required=True)
    parser.add_argument("corpus")
    args = parser.parse_args()
    try:
        program = load_program(args.program)
        if program.backend is None:
            raise MethodError(f"{args.program}: its program has no backend class, whose logits the gaps need")
        method_args = program.parse_args(["-d", "cpu", "-b", "1", "-m", args.model, args.corpus])
        lines = read_corpus(args.corpus)
        recording = Recording(program.backend(method_args))
        predictions = predict_with_backend(recording, method_args, lines, PhaseTimer())
    except (CorpusError, MethodError) as error:
        sys.exit(f"reference.py: error: {error}")
    write_predictions(args.predictions, predictions)
    write_text_atomically(args.gaps, "".join(json.dumps(row) + "\n" for row in sentence_gaps(recording)))
    print(f"reference.py: {len(lines)} sentences, {args.predictions}, {args.gaps}")


if __name__ == "__main__":
    main()
