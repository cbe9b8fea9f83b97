#!/usr/bin/env python3
"""Check one cell's predictions: agreement with the reference run and, where the corpus has
gold labels, entity-level precision, recall and F1.

Agreement is entity-level: the share of entities, over both runs, that the two runs found
identically (same label and span); 100% only when every sentence's entities are identical.
Every sentence that differs is listed with the entities only one run found and the reference's
smallest margin (best minus second-best logit) over the words they cover: a difference at a
near-tie is what another kernel's rounding flips; one where the reference was sure is not.
"""

import argparse
import json
import sys
from pathlib import Path

import common  # noqa: F401  (puts scripts/ on the path)
from nerlib.atomic import write_text_atomically
from nerlib.corpus import read_corpus
from nerlib.output import read_json_lines
from score import span_f1, tags_from_entities

# A difference where the reference's two best labels were closer than this (in logits) is a
# near-tie. Two fp32 kernels on the CPU (torch, ONNX Runtime) give the same margins to 1e-3 here
# (tests/test_checks.py); the bar is a hundred times that, for the coarser rounding of other
# hardware (TF32 keeps 10 bits of mantissa). Not yet calibrated on a GPU.
NEAR_TIE_LOGITS = 0.1


def entity_key(entity: dict) -> tuple:
    return (entity["label"], entity["start"], entity["end"])


def entity_keys(entities: list[dict]) -> set[tuple]:
    return {entity_key(entity) for entity in entities}


def smallest_margin(entities: list[dict], margins: list[list]) -> float | None:
    """The reference's smallest margin over the word-pieces that overlap these entities' spans
    (None where no word-piece does: the entities lie past the truncation)."""
    found = [
        margin
        for start, end, margin in margins
        for entity in entities
        if start < entity["end"] and end > entity["start"]
    ]
    return min(found) if found else None


def difference(number: int, line: str, mine: list[dict], theirs: list[dict], margins: list[list]) -> dict:
    mine_keys, their_keys = entity_keys(mine), entity_keys(theirs)
    only_mine = [entity for entity in mine if entity_key(entity) not in their_keys]
    only_theirs = [entity for entity in theirs if entity_key(entity) not in mine_keys]
    margin = smallest_margin(only_mine + only_theirs, margins)
    return {
        "line": number,
        "text": line,
        "predicted": only_mine,
        "reference": only_theirs,
        "reference_margin": margin,
        "near_tie": margin is not None and margin < NEAR_TIE_LOGITS,
    }


def agreement(lines, predicted, reference, margins) -> dict:
    shared = total = 0
    differences = []
    rows = zip(lines, predicted, reference, margins, strict=True)
    for number, (line, mine, theirs, line_margins) in enumerate(rows, 1):
        mine_keys, their_keys = entity_keys(mine), entity_keys(theirs)
        shared += len(mine_keys & their_keys)
        total += len(mine_keys | their_keys)
        if mine_keys != their_keys:
            differences.append(difference(number, line, mine, theirs, line_margins))
    return {
        "agreement_pct": 100.0 * shared / total if total else 100.0,
        "identical_sentences_pct": 100.0 * (len(lines) - len(differences)) / len(lines) if lines else 100.0,
        "differing_sentences": len(differences),
        "near_tie_sentences": sum(1 for item in differences if item["near_tie"]),
        "near_tie_logits": NEAR_TIE_LOGITS,
        "differences": differences,
    }


def gold_scores(lines, predicted, gold_path) -> dict:
    gold = [line.split(" ") for line in read_corpus(gold_path)]
    found = [tags_from_entities(line, entities) for line, entities in zip(lines, predicted, strict=True)]
    return span_f1(gold, found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cell", required=True, help="the cell's result JSON")
    parser.add_argument("--predictions", required=True, help="the predictions its timed runs wrote")
    parser.add_argument("--reference", required=True)
    parser.add_argument("--margins", required=True, help="the reference's margins (reference.py)")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--gold")
    parser.add_argument("--dtype", required=True, help="the method's number format (fp32, int8, ...)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    cell = json.loads(Path(args.cell).read_text())
    check = {"cell": cell["cell"], "dtype": args.dtype}
    if cell["status"] != "ok":
        check["status"] = "not checked: the cell failed"
    else:
        lines = read_corpus(args.corpus)
        predicted = read_json_lines(args.predictions)
        reference = read_json_lines(args.reference)
        margins = read_json_lines(args.margins)
        if len(predicted) != len(lines):
            check["status"] = f"wrong line count: {len(predicted)} predictions for {len(lines)} input lines"
        elif len(reference) != len(lines) or len(margins) != len(lines):
            stale, count = (
                (args.reference, len(reference)) if len(reference) != len(lines) else (args.margins, len(margins))
            )
            check["status"] = f"{stale}: {count} lines for {len(lines)} input lines: rebuild it"
        else:
            check["status"] = "ok"
            check.update(agreement(lines, predicted, reference, margins))
            if args.gold:
                check.update(gold_scores(lines, predicted, args.gold))
    write_text_atomically(args.out, json.dumps(check, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in check.items() if k != "differences"}))


if __name__ == "__main__":
    sys.exit(main())
