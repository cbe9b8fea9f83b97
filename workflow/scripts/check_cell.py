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
from nerlib.corpus import read_corpus
from score import span_f1, tags_from_entities


def read_predictions(path: str) -> list[list[dict]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def entity_keys(entities: list[dict]) -> set[tuple]:
    return {(e["label"], e["start"], e["end"]) for e in entities}


def agreement(lines, predicted, reference) -> dict:
    shared = total = 0
    first_difference = None
    for number, (line, mine, theirs) in enumerate(zip(lines, predicted, reference), 1):
        mine_keys, their_keys = entity_keys(mine), entity_keys(theirs)
        shared += len(mine_keys & their_keys)
        total += len(mine_keys | their_keys)
        if mine != theirs and first_difference is None:
            first_difference = {"line": number, "text": line, "predicted": mine, "reference": theirs}
    identical = sum(1 for mine, theirs in zip(predicted, reference) if mine == theirs)
    return {
        "agreement_pct": 100.0 * shared / total if total else 100.0,
        "identical_sentences_pct": 100.0 * identical / len(lines) if lines else 100.0,
        "first_difference": first_difference,
    }


def gold_scores(lines, predicted, gold_path) -> dict:
    gold = [line.split(" ") for line in Path(gold_path).read_text(encoding="utf-8").splitlines()]
    found = [tags_from_entities(line, entities) for line, entities in zip(lines, predicted)]
    return span_f1(gold, found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cell", required=True, help="the cell's result JSON (names its predictions)")
    parser.add_argument("--reference", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--gold")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    cell = json.loads(Path(args.cell).read_text())
    check = {"cell": cell["cell"], "precision": args.precision}
    if cell["status"] != "ok":
        check["status"] = "not checked: the cell failed"
    else:
        lines = read_corpus(args.corpus)
        predicted = read_predictions(cell["cell"]["predictions"])
        reference = read_predictions(args.reference)
        if len(predicted) != len(lines):
            check["status"] = f"wrong line count: {len(predicted)} predictions for {len(lines)} input lines"
        else:
            check["status"] = "ok"
            check.update(agreement(lines, predicted, reference))
            if args.gold:
                check.update(gold_scores(lines, predicted, args.gold))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(check, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in check.items() if k != "first_difference"}))


if __name__ == "__main__":
    sys.exit(main())
