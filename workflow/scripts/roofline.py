#!/usr/bin/env python3
"""A roofline reference for the inference phase.

1. The machine's fp32 GEMM peak: the best of repeated square matrix products (torch and numpy,
   whichever is faster), with the thread count the methods use.
2. The model's FLOPs for this corpus at each batch size, counting the padding each batch really
   carries (batches padded to their longest sentence, in input order or length-sorted):
   per layer and sequence of padded length n, 8·n·d² (Q, K, V, output projections)
   + 4·n²·d (scores and weighted sum) + 4·n·d·f (feed-forward), d the hidden size, f the
   feed-forward size; embeddings, layer norms and the classifier are left out (under 1%).

Each method's inference-phase FLOP/s divided by the peak is reported in tables.md.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import common  # noqa: F401  (puts scripts/ on the path)
import numpy as np
from nerlib.batching import batch_indices
from nerlib.cli import physical_cores
from nerlib.corpus import read_corpus
from tokenizers import Tokenizer


def model_shape(config: dict) -> dict:
    if "dim" in config:  # DistilBERT
        return {"layers": config["n_layers"], "hidden": config["dim"], "ffn": config["hidden_dim"]}
    return {"layers": config["num_hidden_layers"], "hidden": config["hidden_size"], "ffn": config["intermediate_size"]}


def sequence_flops(length: int, shape: dict) -> float:
    d, f = shape["hidden"], shape["ffn"]
    return shape["layers"] * (8 * length * d * d + 4 * length * length * d + 4 * length * d * f)


def corpus_flops(lengths: list[int], batch_size: int, sort: bool, shape: dict) -> dict:
    useful = sum(sequence_flops(n, shape) for n in lengths)
    padded_tokens = total = 0
    for batch in batch_indices(lengths, batch_size, sort):
        width = max(lengths[i] for i in batch)
        padded_tokens += width * len(batch)
        total += len(batch) * sequence_flops(width, shape)
    return {"flops": total, "useful_flops": useful, "padded_tokens": padded_tokens, "tokens": sum(lengths)}


def gemm_peak(threads: int, size: int = 2048, repeats: int = 10) -> dict:
    """Best sustained fp32 matrix-product rate, in FLOP/s."""
    found = {}
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
    candidates = {"numpy": lambda: a @ b}
    try:
        import torch

        torch.set_num_threads(threads)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        candidates["torch"] = lambda: torch.mm(ta, tb)
    except ImportError:
        pass
    for name, product in candidates.items():
        product()  # warm-up
        best = min(timed(product) for _ in range(repeats))
        found[name] = 2 * size**3 / best
    return {"peak_flops": max(found.values()), "by_library": found, "matrix_size": size, "threads": threads}


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the model directory (config.json, tokenizer.json)")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--batch-sizes", type=int, nargs="+", required=True)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    threads = args.threads or physical_cores()

    config = json.loads((Path(args.model) / "config.json").read_text())
    shape = model_shape(config)
    tokenizer = Tokenizer.from_file(str(Path(args.model) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(config["max_position_embeddings"])
    lengths = [len(e.ids) for e in tokenizer.encode_batch(read_corpus(args.corpus))]
    record = {
        "model_shape": shape,
        "gemm": gemm_peak(threads),
        "corpus_flops": {
            f"{size}{'+sort' if sort else ''}": corpus_flops(lengths, size, sort, shape)
            for size in args.batch_sizes for sort in (False, True)
        },
    }
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    gemm = record["gemm"]
    print(f"fp32 GEMM peak: {gemm['peak_flops'] / 1e9:.1f} GFLOP/s ({', '.join(f'{k} {v / 1e9:.1f}' for k, v in gemm['by_library'].items())})")


if __name__ == "__main__":
    sys.exit(main())
