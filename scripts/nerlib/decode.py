"""The one decoding of per-token labels into entities, shared by every method.

It reproduces the transformers token-classification pipeline with
aggregation_strategy="simple" (scripts/pipelines.py runs that pipeline itself and is the
reference): argmax per token; special tokens skipped; consecutive tokens grouped while they
share a tag and the next one is not a B- tag; groups labelled O dropped. An entity spans from
its first token's start offset to its last token's end offset in the input line.
"""


def split_tag(label: str) -> tuple[str, str]:
    """("B", "PER") for "B-PER"; anything without a B-/I- prefix (such as "O") counts as inside."""
    if label.startswith("B-"):
        return "B", label[2:]
    if label.startswith("I-"):
        return "I", label[2:]
    return "I", label


def group_entities(line: str, tokens: list[tuple[str, int, int]]) -> list[dict]:
    """Entities from (label, start, end) tokens in order, special tokens already removed."""
    entities: list[dict] = []
    group: list[tuple[str, int, int]] = []

    def close_group() -> None:
        label = group[0][0].split("-", 1)[-1]
        if label != "O":
            start, end = group[0][1], group[-1][2]
            entities.append({"label": label, "start": start, "end": end, "text": line[start:end]})

    for token in tokens:
        if group:
            bi, tag = split_tag(token[0])
            _, last_tag = split_tag(group[-1][0])
            if tag == last_tag and bi != "B":
                group.append(token)
                continue
            close_group()
        group = [token]
    if group:
        close_group()
    return entities


def decode_sentence(line, label_ids, offsets, special, id2label) -> list[dict]:
    """Entities of one sentence from its predicted label ids (one per token, padding excluded)."""
    tokens = [
        (id2label[int(label_id)], int(start), int(end))
        for label_id, (start, end), is_special in zip(label_ids, offsets, special, strict=True)
        if not is_special
    ]
    return group_entities(line, tokens)
