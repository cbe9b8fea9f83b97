"""Where the pipeline keeps what it makes, relative to the working directory, and the time a
timed cell's scheduler job must allow. Every rule and step takes its paths from here (through
`Grid`), and the config refuses a user's file inside these places: Snakemake removes a rule's
output before it runs the rule again."""

import re
import sys
from pathlib import Path

# The timed programs' shared core (`nerlib`): the grid model calls a few of its pieces rather than
# keeping copies that could drift.
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def nerlib_importable() -> None:
    """Put scripts/ on the import path, so that `nerlib` imports wherever the caller was started."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))


# The benchmark corpus made from CoNLL-2003 (data/test-1k.txt and .gold), its training and
# development splits, the models and their exports.
CORPUS = "data/{split}-{size}"
CORPUS_WILDCARDS = {"split": "test|valid|train", "size": r"[0-9]+k?"}
CONLL_SPLIT = "data/conll2003/{split}.jsonl"
TRAIN_SPLIT = CONLL_SPLIT.format(split="train")
DEV_SPLIT = CONLL_SPLIT.format(split="valid")
MODELS = "data/models"

# Folders whose every file the pipeline makes (a user's file there could be replaced or removed):
# the models, the CoNLL splits, the built Rust binary, the rules' logs, Snakemake's own.
OWNED_FOLDERS = (MODELS, "data/conll2003", "bin", "logs", ".snakemake")


def corpus_name(split: str, sentences: int) -> str:
    """test-1k for the first 1000 test sentences, test-50 for 50."""
    size = f"{sentences // 1000}k" if sentences % 1000 == 0 else str(sentences)
    return f"{split}-{size}"


def corpus_sentences(size: str) -> int:
    """The sentence count a corpus name's size stands for: 1000 for 1k."""
    return int(size[:-1]) * 1000 if size.endswith("k") else int(size)


def model_dir(name: str, kind: str) -> str:
    return f"{MODELS}/{name}/{kind}"


# The reference run of one model on one corpus, kept beside the model rather than in a results
# folder: every results folder that times the model on that corpus checks against the same run.
REFERENCE_FILES = {
    "predictions": MODELS + "/{model}/reference/{corpus}.jsonl",
    "gaps": MODELS + "/{model}/reference/{corpus}-gaps.jsonl",
    "log": "logs/models/{model}-reference-{corpus}.log",
}


def owned_by_the_pipeline(path: str, results: str, workdir: str | Path = ".") -> str | None:
    """Which of the pipeline's places a user's path lies in, or None. Both are resolved first
    (absolute, `..` and links followed), relative ones from the working directory as Snakemake
    takes them: `/abs/results/x` and `data/../results/x` are inside `results/` too."""
    base = Path(workdir).resolve()
    target = (base / path).resolve()
    for folder in (*OWNED_FOLDERS, results):
        owner = (base / folder).resolve()
        if target == owner or owner in target.parents:
            return f"{folder}/"
    if target.parent == (base / "data").resolve():
        corpus = CORPUS.format(split=f"({CORPUS_WILDCARDS['split']})", size=f"({CORPUS_WILDCARDS['size']})")
        if re.fullmatch(corpus + r"\.(txt|gold)", f"data/{target.name}"):
            return "the CoNLL-2003 corpus files (data/<split>-<size>.txt and .gold)"
    return None
