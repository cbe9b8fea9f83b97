"""Entity-level precision, recall and F1 against CoNLL gold labels (seqeval's definition, the
one conlleval uses), and the mapping from predicted character spans back to word tags. Used by
the checks (checks/check_cell.py) and the fine-tune's dev-set score (model/build_model.py);
seqeval is imported when scoring, so the rest of the package does not need it."""


def word_spans(line: str) -> list[tuple[int, int]]:
    """Character spans of the words of a corpus line (tokens joined by single spaces)."""
    spans, start = [], 0
    for word in line.split(" "):
        spans.append((start, start + len(word)))
        start += len(word) + 1
    return spans


def tags_from_entities(line: str, entities: list[dict]) -> list[str]:
    """IOB2 tag per word: a word belongs to an entity when their characters overlap; the first
    word of each entity is B-, the rest I-."""
    spans = word_spans(line)
    tags = ["O"] * len(spans)
    for entity in entities:
        covered = [i for i, (start, end) in enumerate(spans) if start < entity["end"] and entity["start"] < end]
        for position, word in enumerate(covered):
            tags[word] = ("B-" if position == 0 else "I-") + entity["label"]
    return tags


def span_f1(gold: list[list[str]], predicted: list[list[str]]) -> dict:
    from seqeval.metrics import f1_score, precision_score, recall_score

    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted, strict=True)):
        raise ValueError("gold and predicted tags are not aligned sentence by sentence and word by word")
    return {
        "entity_precision": float(precision_score(gold, predicted, zero_division=0)),
        "entity_recall": float(recall_score(gold, predicted, zero_division=0)),
        "f1": float(f1_score(gold, predicted, zero_division=0)),
    }
