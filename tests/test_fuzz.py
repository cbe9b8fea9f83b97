"""Differential fuzzing: the Rust reimplementation against scripts/nerlib, and the two lean methods
against each other, on input generated from the whole of Unicode.

`make test` runs a fixed seed and a small example budget; `make fuzz` runs the same properties
with a large budget and a fresh seed (NERBENCH_FUZZ=long). An example the fuzzer finds failing is
committed as an @example of its property, so it is tried first on every later run.
"""

import json
import os
import subprocess

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import REPO, run_method, run_rust
from nerlib.batching import batch_indices, processing_order, token_budget
from nerlib.corpus import CorpusError, decode_corpus
from nerlib.decode import group_entities
from nerlib.output import format_entities, read_json_lines

settings.register_profile("ci", max_examples=150, derandomize=True, deadline=None, database=None)
settings.register_profile("long", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("NERBENCH_FUZZ", "ci"))
# Whole runs of two methods cost a second an example: fewer of them.
METHOD_EXAMPLES = {"ci": 25, "long": 400}[os.environ.get("NERBENCH_FUZZ", "ci")]

# Characters a corpus line may hold beyond what st.characters() finds by chance: combining marks,
# zero-width and bidi controls, every kind of space, the Unicode line and paragraph separators,
# NEL (a mojibake of the Windows ellipsis), other control characters.
AWKWARD = (
    "\u0300\u0301\u0308\u20dd\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "\u061c\u00a0\u1680\u2000\u2003\u2007\u2009\u200a\u202f\u205f\u3000\u2028\u2029\u0085\x0b\x0c\x1c\x1d\x1e"
    "\x1f\t\x00\x01\x7f\x9f\ufffd\U0001f600\U0001f3fd\U000e0001\U0010fffd"
)
CHARACTER = st.one_of(st.characters(codec="utf-8", exclude_characters="\n"), st.sampled_from(AWKWARD))
WORD = st.text(CHARACTER, min_size=1, max_size=12)
LONG_TOKEN = st.text(st.sampled_from("aé日\u0301"), min_size=200, max_size=1500)
LINE = st.one_of(
    st.lists(st.one_of(WORD, st.sampled_from(["Peter", "Blackburn", "EU", "German", "."])), max_size=12).map(" ".join),
    st.text(CHARACTER, max_size=80),
    LONG_TOKEN,
)
LABEL = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "PER", "B-", "I-O", "B-O", "X-Y"])


@st.composite
def corpus_bytes(draw) -> bytes:
    """Lines joined by \\n or \\r\\n, maybe a byte-order mark and a final newline, maybe a bad byte."""
    lines = draw(st.lists(LINE, max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8")
    if data and draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])) + data[at:]
    return data


@st.composite
def labelled_tokens(draw) -> tuple[str, list]:
    """A line and tokens over it in order, as a tokenizer gives them (offsets within the line)."""
    line = draw(LINE)
    cuts = sorted(draw(st.lists(st.integers(0, len(line)), max_size=20)))
    tokens = [(draw(LABEL), start, end) for start, end in zip(cuts, cuts[1:], strict=False)]
    return line, tokens


class Conformance:
    """The crate's conformance binary, asked one JSON request at a time."""

    def __init__(self, path):
        self.process = subprocess.Popen([str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, request: dict) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        assert "failed" not in reply, reply
        return reply


@pytest.fixture(scope="module")
def rust():
    crate = REPO / "onnxruntime-ner"
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "conformance"], cwd=crate, check=True)
    conformance = Conformance(crate / "target" / "release" / "conformance")
    yield conformance
    conformance.process.stdin.close()
    conformance.process.wait(timeout=30)


def python_lines(data: bytes) -> dict:
    try:
        return {"lines": decode_corpus(data, "corpus")}
    except CorpusError as error:
        return {"error": str(error)}


@given(corpus_bytes())
@example(b"Peter\xe2\x80\xa8Blackburn\n")  # U+2028 inside a line (issue 12): one line, not two
@example(b"a\xc2\x85b\r\n\r\n")  # NEL inside a line, Windows line endings, a blank line
def test_python_and_rust_read_the_same_lines(rust, data):
    assert rust.ask({"corpus": list(data)}) == python_lines(data)


@given(labelled_tokens())
def test_python_and_rust_decode_labels_into_the_same_entities(rust, case):
    line, tokens = case
    assert rust.ask({"decode": {"line": line, "tokens": tokens}})["entities"] == group_entities(line, tokens)


@given(st.lists(labelled_tokens().map(lambda case: group_entities(*case)), max_size=6))
def test_python_and_rust_write_the_same_json_lines_and_they_read_back_line_aligned(rust, tmp_path_factory, lines):
    text = "".join(format_entities(entities) + "\n" for entities in lines)
    assert rust.ask({"format": lines})["text"] == text
    path = tmp_path_factory.mktemp("jsonl") / "p.jsonl"
    path.write_text(text, encoding="utf-8")
    assert read_json_lines(path) == lines


@given(st.lists(st.integers(1, 600), max_size=40), st.integers(1, 64), st.booleans(), st.booleans())
def test_python_and_rust_form_the_same_batches(rust, lengths, batch_size, sort, budget):
    tokens = token_budget(lengths, batch_size) if budget else None
    batches = batch_indices(lengths, batch_size, sort, budget)
    request = {"lengths": lengths, "batch_size": batch_size, "sort": sort, "token_budget": budget}
    assert rust.ask({"batches": request})["batches"] == batches
    # Every sentence once, in processing order; within the budget unless alone, and no batch
    # could have taken the next sentence.
    assert [index for batch in batches for index in batch] == processing_order(lengths, sort)
    for position, batch in enumerate(batches):
        following = batches[position + 1] if position + 1 < len(batches) else None
        padded = len(batch) * max(lengths[index] for index in batch)
        if tokens is None:
            assert len(batch) == batch_size or following is None
            continue
        assert padded <= tokens or len(batch) == 1
        if following:
            assert (len(batch) + 1) * max(lengths[index] for index in [*batch, following[0]]) > tokens


@settings(max_examples=METHOD_EXAMPLES)
@given(st.lists(LINE, min_size=1, max_size=6), st.sampled_from([[], ["--sort"], ["--sort", "--token-budget"]]))
@example(["Peter\u2028Blackburn visited Brussels .", "\u0085", "EU rejects German call"], [])
def test_ort_lean_and_the_rust_binary_write_the_same_bytes(smoke_models, tmp_path_factory, lines, batching):
    folder = tmp_path_factory.mktemp("methods")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    common = ["-b", "4", *batching, "-m", smoke_models["onnx"]]
    run_method("scripts/ort-lean.py", *common, "-o", folder / "lean.jsonl", corpus)
    run_rust(smoke_models["rust"], *common, "-o", folder / "rust.jsonl", corpus)
    assert (folder / "rust.jsonl").read_bytes() == (folder / "lean.jsonl").read_bytes()
    read = decode_corpus(corpus.read_bytes(), "corpus")
    predicted = read_json_lines(folder / "lean.jsonl")
    assert len(predicted) == len(read)
    for line, entities in zip(read, predicted, strict=True):
        for entity in entities:
            assert line[entity["start"] : entity["end"]] == entity["text"]
