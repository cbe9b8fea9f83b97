#!/usr/bin/env python3
"""pipelines: the transformers token-classification pipeline with aggregation_strategy="simple".
Its grouping of tokens into entities is the reference that nerlib/decode.py reproduces."""

from transformers import pipeline

from nerlib.batching import processing_order
from nerlib.frame import MethodError, run_predictor
from nerlib.hf import load_auto_tokenizer
from nerlib.torch_device import load_torch_model, torch_device


def predict(args, lines, timer):
    if args.token_budget:
        raise MethodError("--token-budget: the transformers pipeline batches by sentence count only")
    with timer.phase("load"):
        device = torch_device(args.device, args.threads)
        tokenizer = load_auto_tokenizer(args.model)
        ner = pipeline(
            "token-classification",
            model=load_torch_model(args.model, device),
            tokenizer=tokenizer,
            aggregation_strategy="simple",
            device=device,
        )
    order = processing_order(token_counts(tokenizer, lines, args.sort), args.sort)
    predictions = [[] for _ in lines]
    with timer.phase("inference"):
        # The pipeline tokenizes, batches, runs the model and groups entities in one call.
        found = ner([lines[index] for index in order], batch_size=args.batch_size) if lines else []
    with timer.phase("decode"):
        for index, entities in zip(order, found, strict=True):
            predictions[index] = [as_entity(lines[index], entity) for entity in entities]
    return predictions


def token_counts(tokenizer, lines, needed):
    if not needed:
        return [0] * len(lines)
    return [len(ids) for ids in tokenizer(lines, truncation=True)["input_ids"]]


def as_entity(line: str, entity: dict) -> dict:
    start, end = int(entity["start"]), int(entity["end"])
    return {"label": entity["entity_group"], "start": start, "end": end, "text": line[start:end]}


if __name__ == "__main__":
    run_predictor(__doc__, "torch", predict)
