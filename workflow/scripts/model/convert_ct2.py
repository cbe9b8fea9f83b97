#!/usr/bin/env python3
"""Convert the transformers model to CTranslate2 for the ct2-lean method, one model folder:

  ct2       float32, the encoder as it is: must agree 100% with the reference
  ct2-int8  int8 weights (CTranslate2 scales activations per token at run time, so a sentence's
            answer does not depend on its batch mates); loads in a third of float32's time

CTranslate2 converts the encoder alone (its transformers converter knows the base models, not
their token-classification heads): the classifier after it is saved as classifier.npz (weight
[labels, hidden], bias [labels]) and applied by ct2-lean in numpy. The result is a directory like
the ONNX export (encoder/, classifier.npz, config.json, tokenizer files, variant.json), written
under a temporary name and renamed into place, so an interrupted conversion leaves nothing that
looks finished.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

# The weights of each model folder ct2-lean reads (Registry.model_folders("ct2")).
QUANTIZATIONS = {"ct2": "float32", "ct2-int8": "int8"}
# What the frame reads beside the weights: configurations, vocabularies, tokenizer models.
COPIED_SUFFIXES = (".json", ".txt", ".model")


def refuse(message: str) -> None:
    sys.exit(f"convert_ct2.py: error: {message}")


def model_type(source: Path, encoders: list[str]) -> str:
    try:
        found = json.loads((source / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError) as error:
        refuse(f"{source / 'config.json'}: unreadable: {error}")
    if found not in encoders:
        refuse(f"{source}: model_type {found}: CTranslate2 converts {', '.join(encoders)} only")
    return found


def save_classifier(source: Path, out: Path) -> int:
    """The token-classification head (a Linear on the encoder's last hidden state) as numpy."""
    import numpy as np
    import torch
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(source)
    head = model.classifier
    if not isinstance(head, torch.nn.Linear):
        refuse(f"{source}: the classifier is a {type(head).__name__}, not one linear layer")
    np.savez(
        out / "classifier.npz",
        weight=head.weight.detach().numpy().astype(np.float32),
        bias=head.bias.detach().numpy().astype(np.float32),
    )
    return head.out_features


def convert(source: Path, quantization: str, partial: Path) -> dict:
    import ctranslate2
    import torch

    # BERT checkpoints fine-tuned for tokens carry no pooler; transformers initialises one at
    # random, and CTranslate2 converts it (unused here): a fixed seed makes the files reproducible.
    torch.manual_seed(0)
    try:
        ctranslate2.converters.TransformersConverter(str(source)).convert(
            str(partial / "encoder"), quantization=None if quantization == "float32" else quantization
        )
    except Exception as error:  # the converter asserts and raises what its loaders meet
        why = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        refuse(f"{source}: CTranslate2 {ctranslate2.__version__} cannot convert it: {why}")
    labels = save_classifier(source, partial)
    return {
        "recipe": f"CTranslate2 {ctranslate2.__version__} {quantization}",
        "quantization": quantization,
        "labels": labels,
    }


def write_conversion(source: Path, folder: str, out: Path, encoders: list[str]) -> dict:
    """The conversion for a model folder (ct2, ct2-int8) in `out`, or SystemExit with one line
    saying why not."""
    kind = model_type(source, encoders)
    started = time.time()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        made = convert(source, QUANTIZATIONS[folder], partial)
        for item in source.iterdir():
            if item.is_file() and item.suffix in COPIED_SUFFIXES and not item.name.startswith("."):
                shutil.copy2(item, partial / item.name)
        made.update(model_type=kind, seconds=round(time.time() - started, 1))
        (partial / "variant.json").write_text(json.dumps(made, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the transformers model directory")
    parser.add_argument("folder", choices=QUANTIZATIONS, help="the model folder it makes: ct2 (float32), ct2-int8")
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--model-types",
        nargs="+",
        required=True,
        help="the encoders CTranslate2's converter has loaders for, by config.json model_type (methods.yaml, "
        "ct2-lean's model_types)",
    )
    args = parser.parse_args()
    made = write_conversion(args.source, args.folder, args.out, args.model_types)
    print(f"wrote {args.out}: {made['recipe']}")


if __name__ == "__main__":
    main()
