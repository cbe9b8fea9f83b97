#!/usr/bin/env python3
"""pipelines: the transformers token-classification pipeline with aggregation_strategy="simple".
Its grouping of tokens into entities is the reference that nerlib/decode.py reproduces."""

from transformers import pipeline

from nerlib.batching import processing_order
from nerlib.frame import MethodError, Program
from nerlib.hf import load_auto_tokenizer
from nerlib.torch_device import load_torch_model, torch_device


def load(args):
    """The pipeline, loaded once; it tokenizes, batches, runs the model and groups entities in one call."""
    if args.token_budget:
        raise MethodError("--token-budget: the transformers pipeline batches by sentence count only")
    device = torch_device(args.device, args.threads)
    tokenizer = load_auto_tokenizer(args.model)
    ner = pipeline(
        "token-classification",
        model=load_torch_model(args.model, device),
        tokenizer=tokenizer,
        aggregation_strategy="simple",
        device=device,
    )

    def predict(lines, timer):
        order = processing_order(token_counts(tokenizer, lines, args.sort), args.sort)
        predictions = [[] for _ in lines]
        with timer.phase("inference"):
            found = ner([lines[index] for index in order], batch_size=args.batch_size) if lines else []
        with timer.phase("decode"):
            for index, entities in zip(order, found, strict=True):
                predictions[index] = [as_entity(lines[index], entity) for entity in entities]
        return predictions

    return predict


def token_counts(tokenizer, lines, needed):
    if not needed:
        return [0] * len(lines)
    return [len(ids) for ids in tokenizer(lines, truncation=True)["input_ids"]]


def as_entity(line: str, entity: dict) -> dict:
    start, end = int(entity["start"]), int(entity["end"])
    return {"label": entity["entity_group"], "start": start, "end": end, "text": line[start:end]}


PROGRAM = Program(__doc__, "torch", load)

if __name__ == "__main__":
    PROGRAM.main()
