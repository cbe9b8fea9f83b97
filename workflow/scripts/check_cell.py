#!/usr/bin/env python3
"""Check one cell's predictions: agreement with the reference run and, where the corpus has
gold labels, entity-level precision, recall and F1.

Agreement is entity-level: the share of entities, over both runs, that the two runs found
identically (same label and span); 100% only when every sentence's entities are identical.
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


def entity_keys(entities: list[dict]) -> set[tuple]:
    return {(e["label"], e["start"], e["end"]) for e in entities}


def agreement(lines, predicted, reference) -> dict:
    shared = total = 0
    first_difference = None
    for number, (line, mine, theirs) in enumerate(zip(lines, predicted, reference, strict=True), 1):
        mine_keys, their_keys = entity_keys(mine), entity_keys(theirs)
        shared += len(mine_keys & their_keys)
        total += len(mine_keys | their_keys)
        if mine != theirs and first_difference is None:
            first_difference = {"line": number, "text": line, "predicted": mine, "reference": theirs}
    identical = sum(1 for mine, theirs in zip(predicted, reference, strict=True) if mine == theirs)
    return {
        "agreement_pct": 100.0 * shared / total if total else 100.0,
        "identical_sentences_pct": 100.0 * identical / len(lines) if lines else 100.0,
        "first_difference": first_difference,
    }


def gold_scores(lines, predicted, gold_path) -> dict:
    gold = [line.split(" ") for line in read_corpus(gold_path)]
    found = [tags_from_entities(line, entities) for line, entities in zip(lines, predicted, strict=True)]
    return span_f1(gold, found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cell", required=True, help="the cell's result JSON (names its predictions)")
    parser.add_argument("--reference", required=True)
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
        predicted = read_json_lines(cell["cell"]["predictions"])
        reference = read_json_lines(args.reference)
        if len(predicted) != len(lines):
            check["status"] = f"wrong line count: {len(predicted)} predictions for {len(lines)} input lines"
        elif len(reference) != len(lines):
            check["status"] = f"{args.reference}: {len(reference)} lines for {len(lines)} input lines: rebuild it"
        else:
            check["status"] = "ok"
            check.update(agreement(lines, predicted, reference))
            if args.gold:
                check.update(gold_scores(lines, predicted, args.gold))
    write_text_atomically(args.out, json.dumps(check, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in check.items() if k != "first_difference"}))


if __name__ == "__main__":
    sys.exit(main())
