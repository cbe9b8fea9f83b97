#!/usr/bin/env python3
"""Check one cell's predictions: agreement with the reference run and, where the corpus has
gold labels, entity-level precision, recall and F1.

Agreement is entity-level: the share of entities, over both runs, that the two runs found
identically (same label and span); 100% only when every sentence's entities are identical.

Every sentence that differs is listed with the entities only one run found, each judged on its
own: at the word-pieces it covers, the cell's entities say which labels the cell must have chosen
there (simple aggregation: O outside its entities, B- or I- of the entity's type at an entity's
first piece, B- alone right after an entity of the same type, I- inside), and the reference's
gaps (reference.py: how far each label's logit was below its best) say how far below the
reference's best the closest of those was. The entity's gap is the largest over its pieces. Under
the device's bar it is a near-tie, what another kernel's rounding flips; a sentence passes as a
near-tie only when every differing entity in it is one.
"""

import argparse
import json
import sys
from pathlib import Path

import common  # noqa: F401  (puts scripts/ on the path)
from nerbench.record import Status
from nerbench.score import span_f1, tags_from_entities
from nerlib.atomic import write_text_atomically
from nerlib.corpus import read_corpus
from nerlib.decode import split_tag
from nerlib.output import read_json_lines

# The near-tie bar in logits, per device. On the CPU, torch's and ONNX Runtime's fp32 kernels give
# the same logits to about 1e-5 and the same gaps to 1e-3 (tests/test_checks.py; the largest seen
# is in docs/), so 0.01 is ten times what their rounding explains and a steady fault (TF32 switched
# on, a LayerNorm epsilon, a tanh GELU) shows above it. On a GPU, TF32-free fp32 sums in other
# orders; 0.1 there is not yet calibrated on a GPU's own runs.
NEAR_TIE_LOGITS = {"cpu": 0.01, "cuda": 0.1}


def entity_key(entity: dict) -> tuple:
    return (entity["label"], entity["start"], entity["end"])


def entity_keys(entities: list[dict]) -> set[tuple]:
    return {entity_key(entity) for entity in entities}


def covers(entity: dict, piece: list) -> bool:
    return piece[0] < entity["end"] and piece[1] > entity["start"]


def chosen_labels(entities: list[dict], pieces: list[list]) -> list[set[str]]:
    """The labels a run must have chosen at each word-piece to give these entities."""
    labels = list(pieces[0][2]) if pieces else []
    owner = [next((k for k, entity in enumerate(entities) if covers(entity, piece)), None) for piece in pieces]
    chosen = []
    for index, k in enumerate(owner):
        previous = owner[index - 1] if index else None
        if k is None:
            chosen.append({label for label in labels if split_tag(label)[1] == "O"})
            continue
        kind = entities[k]["label"]
        if previous == k:
            prefixes = {"I"}
        elif previous is not None and entities[previous]["label"] == kind:
            prefixes = {"B"}
        else:
            prefixes = {"B", "I"}
        chosen.append({label for label in labels if split_tag(label) in {(p, kind) for p in prefixes}})
    return chosen


def entity_gap(entity: dict, mine: list[dict], pieces: list[list]) -> float | None:
    """How far below the reference's best the label the cell chose was, at the worst of the
    word-pieces the entity covers (None where it covers none: past the truncation)."""
    chosen = chosen_labels(mine, pieces)
    gaps = [
        min((gaps[label] for label in labels), default=float("inf"))
        for (start, end, gaps), labels in zip(pieces, chosen, strict=True)
        if covers(entity, (start, end))
    ]
    return max(gaps) if gaps else None


def judged(entities: list[dict], mine: list[dict], pieces: list[list], bar: float) -> list[dict]:
    found = []
    for entity in entities:
        gap = entity_gap(entity, mine, pieces)
        found.append({**entity, "gap": gap, "near_tie": gap is not None and gap < bar})
    return found


def difference(number: int, line: str, mine: list[dict], theirs: list[dict], pieces: list[list], bar: float) -> dict:
    mine_keys, their_keys = entity_keys(mine), entity_keys(theirs)
    only_mine = judged([e for e in mine if entity_key(e) not in their_keys], mine, pieces, bar)
    only_theirs = judged([e for e in theirs if entity_key(e) not in mine_keys], mine, pieces, bar)
    differing = only_mine + only_theirs
    gaps = [entity["gap"] for entity in differing]
    return {
        "line": number,
        "text": line,
        "predicted": only_mine,
        "reference": only_theirs,
        "gap": None if None in gaps else max(gaps),
        "near_tie": all(entity["near_tie"] for entity in differing),
    }


def agreement(lines, predicted, reference, gaps, bar: float) -> dict:
    shared = total = 0
    differences = []
    rows = zip(lines, predicted, reference, gaps, strict=True)
    for number, (line, mine, theirs, pieces) in enumerate(rows, 1):
        mine_keys, their_keys = entity_keys(mine), entity_keys(theirs)
        shared += len(mine_keys & their_keys)
        total += len(mine_keys | their_keys)
        if mine_keys != their_keys:
            differences.append(difference(number, line, mine, theirs, pieces, bar))
    return {
        "agreement_pct": 100.0 * shared / total if total else 100.0,
        "identical_sentences_pct": 100.0 * (len(lines) - len(differences)) / len(lines) if lines else 100.0,
        "differing_sentences": len(differences),
        "near_tie_sentences": sum(1 for item in differences if item["near_tie"]),
        "near_tie_logits": bar,
        "differences": differences,
    }


def gold_scores(lines, predicted, gold_path) -> dict:
    gold = [line.split(" ") for line in read_corpus(gold_path)]
    found = [tags_from_entities(line, entities) for line, entities in zip(lines, predicted, strict=True)]
    return span_f1(gold, found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", required=True, help="the cell's result JSON")
    parser.add_argument("--predictions", required=True, help="the predictions its timed runs wrote")
    parser.add_argument("--reference", required=True)
    parser.add_argument("--gaps", required=True, help="the reference's gaps (reference.py)")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--gold")
    parser.add_argument("--dtype", required=True, help="the method's number format (fp32, int8, ...)")
    parser.add_argument("--device", required=True, choices=NEAR_TIE_LOGITS, help="the device: its near-tie bar")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    cell = json.loads(Path(args.cell).read_text())
    check = {"cell": cell["cell"], "dtype": args.dtype}
    if cell["status"] != Status.OK:
        check["status"] = Status.NOT_CHECKED
    else:
        lines = read_corpus(args.corpus)
        predicted = read_json_lines(args.predictions)
        reference = read_json_lines(args.reference)
        gaps = read_json_lines(args.gaps)
        if len(predicted) != len(lines):
            check["status"] = f"wrong line count: {len(predicted)} predictions for {len(lines)} input lines"
        elif len(reference) != len(lines) or len(gaps) != len(lines):
            stale, count = (args.reference, len(reference)) if len(reference) != len(lines) else (args.gaps, len(gaps))
            check["status"] = f"{stale}: {count} lines for {len(lines)} input lines: rebuild it"
        else:
            check["status"] = Status.OK
            check.update(agreement(lines, predicted, reference, gaps, NEAR_TIE_LOGITS[args.device]))
            if args.gold:
                check.update(gold_scores(lines, predicted, args.gold))
                # The reference's own F1: what the acceptance criterion (accept:) measures a drop from.
                check["reference_f1"] = gold_scores(lines, reference, args.gold)["f1"]
    write_text_atomically(args.out, json.dumps(check, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in check.items() if k != "differences"}))


if __name__ == "__main__":
    sys.exit(main())
