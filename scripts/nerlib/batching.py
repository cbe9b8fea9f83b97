"""Which sentences go together into a batch, and padding a batch to its own longest sentence."""

from dataclasses import dataclass

import numpy as np


@dataclass
class Encoded:
    """One tokenized sentence: ids, character offsets into its line, which tokens are special
    ([CLS], [SEP]) and their token types (all 0 for one sentence, but a model that takes
    token_type_ids gets them). `cut_tokens` counts the tokens lost to truncation."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    special: list[int]
    type_ids: list[int] | None = None
    cut_tokens: int = 0


def processing_order(lengths: list[int], sort_by_length: bool) -> list[int]:
    """Input order, or sorted by token count (longest first, ties in input order) so that each
    batch holds sentences of similar length and little padding; callers restore input order."""
    order = list(range(len(lengths)))
    if sort_by_length:
        order.sort(key=lambda index: -lengths[index])
    return order


def token_budget(lengths: list[int], batch_size: int) -> int:
    """The padded tokens a batch may hold under --token-budget: the batch size times the corpus's
    mean sentence length in tokens, rounded up. Batches then hold about the tokens of
    `batch_size` sentences: more short sentences, fewer long ones."""
    return batch_size * -(-sum(lengths) // max(len(lengths), 1))


def batch_indices(
    lengths: list[int], batch_size: int, sort_by_length: bool, by_token_budget: bool = False
) -> list[list[int]]:
    """Indices of the sentences in each batch, in processing order: `batch_size` sentences, or
    `by_token_budget`, as many as keep the padded batch (rows times its longest sentence) within
    the token budget; a sentence longer than the budget alone."""
    order = processing_order(lengths, sort_by_length)
    if not by_token_budget:
        return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    max_tokens = token_budget(lengths, batch_size)
    batches: list[list[int]] = []
    width = 0
    for index in order:
        wider = max(width, lengths[index])
        if batches and (len(batches[-1]) + 1) * wider <= max_tokens:
            batches[-1].append(index)
            width = wider
        else:
            batches.append([index])
            width = lengths[index]
    return batches


def pad_batch(batch: list[Encoded], pad_id: int) -> dict[str, np.ndarray]:
    """input_ids, attention_mask and token_type_ids (int64), padded on the right to the batch's
    longest sentence, never to a fixed length; a backend passes on the ones its model takes."""
    width = max(len(item.ids) for item in batch)
    input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(batch), width), dtype=np.int64)
    token_type_ids = np.zeros((len(batch), width), dtype=np.int64)
    for row, item in enumerate(batch):
        input_ids[row, : len(item.ids)] = item.ids
        attention_mask[row, : len(item.ids)] = 1
        if item.type_ids:
            token_type_ids[row, : len(item.ids)] = item.type_ids
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
