#!/usr/bin/env python3
"""The model's FLOPs for the corpus at each batch size (flops.json), counting the padding each
batch really carries: batches padded to their longest sentence, in input order or length-sorted,
cut by count or by token budget, exactly as the methods batch (scripts/nerlib/batching.py), on the
tokens they see (scripts/nerlib/tokenizer.py). Per sequence, nerbench.flops. An engine that removes
the padding before the position-wise layers (CTranslate2 on the CPU: methods.yaml
`removes_padding`) does the projections and feed-forward on the real tokens alone and the
attention on the padded batch: `flops_padding_removed` counts that.

A count, not a measurement: a new batch size measures no peak again. tables.md reports each
cell's inference-phase FLOP/s against the peak of its own format and device (timing/roofline.py).
"""

import argparse
import json
from pathlib import Path

import common  # noqa: F401  (puts the grid package on the path)
from nerbench.flops import (
    attention_flops,
    flops_key,
    model_shape,
    positionwise_flops,
    sequence_flops,
    weight_parameters,
)
from nerbench.record import write_atomically
from nerlib.batching import batch_indices
from nerlib.corpus import read_corpus
from nerlib.tokenizer import load_tokenizer


def corpus_flops(lengths: list[int], batch_size: int, sort: bool, shape: dict, budget: bool = False) -> dict:
    """The corpus's work batched as the methods batch it (scripts/nerlib/batching.py)."""
    useful = sum(sequence_flops(n, shape) for n in lengths)
    padded_tokens = total = padding_removed = 0
    batches = batch_indices(lengths, batch_size, sort, budget)
    for batch in batches:
        width = max(lengths[i] for i in batch)
        padded_tokens += width * len(batch)
        total += len(batch) * sequence_flops(width, shape)
        padding_removed += sum(positionwise_flops(lengths[i], shape) for i in batch)
        padding_removed += len(batch) * attention_flops(width, shape)
    return {
        "flops": total,
        "flops_padding_removed": padding_removed,
        "useful_flops": useful,
        # By part, for a bound that counts each at the peak of the format it runs in.
        "useful_positionwise_flops": sum(positionwise_flops(n, shape) for n in lengths),
        "useful_attention_flops": sum(attention_flops(n, shape) for n in lengths),
        "padded_tokens": padded_tokens,
        "tokens": sum(lengths),
        "sentences": len(lengths),
        # Each batch reads every weight once: the memory traffic the bound compares with the FLOPs.
        "batches": len(batches),
    }


def count(args) -> None:
    shape = model_shape(json.loads((Path(args.model) / "config.json").read_text()))
    tokenizer, _ = load_tokenizer(args.model)
    lengths = [len(e.ids) for e in tokenizer.encode_batch(read_corpus(args.corpus))]
    record = {
        "model_shape": shape,
        "weight_parameters": weight_parameters(shape),
        "corpus_flops": {
            flops_key(size, sort, budget): corpus_flops(lengths, size, sort, shape, budget)
            for size in args.batch_sizes
            for sort in (False, True)
            for budget in (False, True)
        },
    }
    write_atomically(args.out, json.dumps(record, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the model directory (config.json, tokenizer.json)")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--batch-sizes", type=int, nargs="+", required=True)
    parser.add_argument("--out", required=True)
    count(parser.parse_args())


if __name__ == "__main__":
    main()
