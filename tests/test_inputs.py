"""The user's inputs: the corpus reader, awkward and unusable corpora, and the user's paths, kept and quoted.

The corpus reader's rules (the Rust reader has the same, tested by cargo test); corpora with
Windows line endings, a byte-order mark, tabs, a very long line, invalid UTF-8, no sentences or a
name like an option, as every method and the config check read them; and the user's own files,
which the pipeline never takes for its own and never hands a shell unquoted."""

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import (
    LEAN,
    PYTHON_METHODS,
    STEPS,
    TRICKY,
    Run,
    config_error_of,
    planned_jobs,
    read_json,
    run_cell,
    run_method,
    run_rust,
    run_snakemake,
    write,
)
from nerlib.corpus import CorpusError, decode_corpus, read_corpus
from nerlib.output import read_json_lines

# ---- the corpus reader ----


def test_lines_blank_lines_kept_final_newline_does_not_add_one():
    assert decode_corpus(b"a b\n\nc\n", "f") == ["a b", "", "c"]
    assert decode_corpus(b"a\nb", "f") == ["a", "b"]
    assert decode_corpus(b"\n", "f") == [""]
    assert decode_corpus(b"", "f") == []


def test_windows_line_endings_and_byte_order_mark():
    assert decode_corpus(b"\xef\xbb\xbfone\r\ntwo\r\n", "f") == ["one", "two"]


def test_only_newline_splits_lines_not_other_unicode_breaks():
    assert decode_corpus("a\u2028b\x0bc\n".encode(), "f") == ["a\u2028b\x0bc"]


def test_invalid_utf8_names_file_and_line():
    with pytest.raises(CorpusError, match=r"^c\.txt:3: invalid UTF-8 \(byte 0xff\)$"):
        decode_corpus(b"ok\nfine\nbad \xff\n", "c.txt")


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(CorpusError, match="cannot read corpus"):
        read_corpus(tmp_path / "nope.txt")


def test_a_corpus_without_sentences_is_refused(tmp_path):
    from nerlib.corpus import read_sentences

    (tmp_path / "blank.txt").write_bytes(b"\n \n\t\n")
    with pytest.raises(CorpusError, match=r"blank\.txt: no sentences"):
        read_sentences(tmp_path / "blank.txt")
    (tmp_path / "one.txt").write_bytes(b"\nPeter Blackburn\n")
    assert read_sentences(tmp_path / "one.txt") == ["", "Peter Blackburn"]


# ---- awkward and unusable corpora, in every method ----


ALIGNED_CORPORA = {
    "windows line endings": b"EU rejects German call .\r\n\r\nPeter Blackburn\r\n",
    "byte-order mark": b"\xef\xbb\xbfEU rejects German call .\nPeter Blackburn\n",
    "tab-separated": b"EU\trejects\tGerman\tcall\nPeter\tBlackburn\n",
    "line of 10,000 characters": ("Germany " * 1250).encode() + b"\nPeter Blackburn\n",
}


@pytest.mark.parametrize("name", ALIGNED_CORPORA)
def test_awkward_corpora_give_line_aligned_predictions(name, smoke_models, tmp_path):
    corpus = write(tmp_path / "corpus.txt", ALIGNED_CORPORA[name])
    lines = corpus.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").split("\n")[:-1]
    run_method(LEAN, "-b", "2", "-m", smoke_models["onnx"], "-o", tmp_path / "lean.jsonl", corpus)
    rust = run_rust(
        smoke_models["rust"], "-b", "2", "-m", smoke_models["onnx"], "-o", tmp_path / "rust.jsonl", corpus, check=False
    )
    assert rust.returncode == 0, rust.stderr
    predicted = read_json_lines(tmp_path / "lean.jsonl")
    assert len(predicted) == len(lines)
    for line, entities in zip(lines, predicted, strict=True):
        for entity in entities:
            assert line[entity["start"] : entity["end"]] == entity["text"]
    assert (tmp_path / "rust.jsonl").read_bytes() == (tmp_path / "lean.jsonl").read_bytes()


REFUSED_CORPORA = {
    "empty": (b"", "no sentences"),
    "only blank lines": (b"\n  \n\t\n", "no sentences"),
    "invalid UTF-8": (b"fine\nstill fine\nbroken \xc3\x28 here\n", "corpus.txt:3: invalid UTF-8"),
}


@pytest.mark.parametrize("name", REFUSED_CORPORA)
def test_unusable_corpus_stops_the_run_before_any_job(name, tmp_path):
    """The config's validation reads the corpus as every method will (tests/test_workflow.py shows
    that Snakemake stops with the validation's one line before any job)."""
    data, message = REFUSED_CORPORA[name]
    corpus = write(tmp_path / "corpus.txt", data)
    error = config_error_of({"corpus": {"file": str(corpus)}}, tmp_path)
    assert error and "\n" not in error and "corpus.file" in error and message in error, error


def test_invalid_utf8_names_the_line_in_every_method(smoke_models, tmp_path):
    corpus = write(tmp_path / "c.txt", b"ok\n\xff\n")
    lean = run_method(LEAN, "-m", smoke_models["onnx"], corpus, check=False)
    rust = run_rust(smoke_models["rust"], "-m", smoke_models["onnx"], corpus, check=False)
    for done in (lean, rust):
        assert done.returncode != 0
        assert done.stderr.strip().endswith(f"{corpus}:2: invalid UTF-8 (byte 0xff)")


@pytest.mark.parametrize("method", [*PYTHON_METHODS, "onnxruntime-ner"])
def test_an_empty_corpus_gives_an_empty_predictions_file_in_every_method(
    method, smoke_models, method_error_runs, tmp_path
):
    if method == "onnxruntime-ner":
        corpus, out = tmp_path / "empty.txt", tmp_path / "p.jsonl"
        corpus.write_bytes(b"")
        done = run_rust(smoke_models["rust"], "-m", smoke_models["onnx"], "-o", out, corpus, check=False)
        run = Run(done.returncode, done.stderr, out)
    else:
        run = method_error_runs[method, "empty corpus"]
    assert run.status == 0 and "Traceback" not in run.stderr, run.stderr
    assert run.output.read_bytes() == b""


def test_a_corpus_named_like_an_option_is_read_by_every_program(smoke_models, tmp_path):
    shutil.copy(TRICKY, tmp_path / "-x.txt")
    done, record = run_cell(tmp_path, "-x.txt", cwd=tmp_path, model=smoke_models["onnx"])
    assert record["status"] == "ok", done.stdout + done.stderr
    lean = run_method(LEAN, "-m", smoke_models["onnx"], "-o", tmp_path / "lean.jsonl", "--", "-x.txt", cwd=tmp_path)
    rust = run_rust(smoke_models["rust"], "-m", smoke_models["onnx"], "-o", "rust.jsonl", "--", "-x.txt", cwd=tmp_path)
    assert lean.returncode == rust.returncode == 0
    assert (tmp_path / "rust.jsonl").read_bytes() == (tmp_path / "lean.jsonl").read_bytes()


@pytest.mark.e2e
def test_a_corpus_named_like_an_option_passes_the_config_check(tmp_path):
    (tmp_path / "-corpus.txt").write_text("Peter Blackburn\n")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"corpus": {"file": "-corpus.txt"}, "results": "-results"}))
    run_snakemake(tmp_path, "--cores", "1", "./-results/corpus.json", configfile=config)
    assert json.loads((tmp_path / "-results" / "corpus.json").read_text())["lines"] == 1


# ---- the user's files: never the pipeline's, always quoted ----


@pytest.mark.e2e
def test_a_users_corpus_in_data_is_untouched_when_the_corpus_rule_is_newer(tmp_path):
    corpus = tmp_path / "data" / "news-2024.txt"
    corpus.parent.mkdir()
    corpus.write_text("Peter Blackburn visited Brussels .\n")
    config = tmp_path / "news.yaml"
    config.write_text(yaml.safe_dump({"corpus": {"file": "data/news-2024.txt"}, "results": "results/news"}))
    rule_script = STEPS / "corpus/conll.py"
    stat = rule_script.stat()
    os.utime(corpus, (stat.st_atime - 3600, stat.st_mtime - 3600))  # the rule's script is newer (a git pull)
    plan = run_snakemake(tmp_path, "-n", "--cores", "1", configfile=config)
    assert "conll_corpus" not in planned_jobs(plan.stdout), plan.stdout[-3000:]
    run_snakemake(tmp_path, "--cores", "1", "results/news/corpus.json", configfile=config)
    assert corpus.read_text() == "Peter Blackburn visited Brussels .\n"
    assert json.loads((tmp_path / "results/news/corpus.json").read_text())["lines"] == 1


@pytest.mark.parametrize(
    "override,message",
    [
        ({"corpus": {"file": "data/test-500.txt"}}, "corpus.file: data/test-500.txt: inside the CoNLL-2003 corpus"),
        (
            {"corpus": {"file": "./data/conll2003/mine.txt"}},
            "corpus.file: ./data/conll2003/mine.txt: inside data/conll",
        ),
        (
            {"model": {"source": "local", "local": {"path": "data/models/mine"}}},
            "model.local.path: data/models/mine: inside data/models/, which the pipeline writes",
        ),
        ({"corpus": {"file": "results/corpus.txt"}}, "corpus.file: results/corpus.txt: inside results/"),
    ],
    ids=["conll name", "conll folder", "models folder", "results folder"],
)
def test_a_user_path_where_the_pipeline_writes_is_refused_in_one_line(override, message, tmp_path):
    error = config_error_of(override, tmp_path)
    assert error and message in error and "\n" not in error, error


@pytest.mark.parametrize(
    "where, key, owner",
    [
        (lambda base: str(base / "results" / "corpus.txt"), "corpus", "inside results/"),
        (lambda base: "data/../results/corpus.txt", "corpus", "inside results/"),
        (lambda base: f"../{base.name}/data/test-50.txt", "corpus", "inside the CoNLL-2003 corpus files"),
        (lambda base: str(base / "data/models/minilm-conll/torch"), "model", "inside data/models/"),
    ],
    ids=["absolute into results", "dot-dot into results", "dot-dot onto a CoNLL file", "absolute into the models"],
)
def test_a_path_that_reaches_the_pipelines_places_another_way_is_refused_too(tmp_path, where, key, owner):
    """Resolved before it is judged: an absolute path, `..` or a detour lands where it lands."""
    path = where(tmp_path)
    override = (
        {"corpus": {"file": path}} if key == "corpus" else {"model": {"source": "local", "local": {"path": path}}}
    )
    error = config_error_of(override, tmp_path)
    assert error and owner in error and "\n" not in error, error


@pytest.mark.e2e
def test_paths_with_spaces_quotes_and_semicolons_run_nothing_unintended(tmp_path):
    strange = tmp_path / 'we\'ird "dir"; touch PWNED'
    strange.mkdir()
    corpus = strange / "my corpus; rm -rf x.txt"
    corpus.write_text("Peter Blackburn visited Brussels .\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"corpus": {"file": str(corpus)}, "results": str(strange / "res ults")}))
    run_snakemake(tmp_path, "--cores", "1", str(strange / "res ults" / "corpus.json"), configfile=config)
    assert read_json(strange / "res ults" / "corpus.json")["lines"] == 1
    assert not list(tmp_path.rglob("PWNED")) and not (Path.cwd() / "PWNED").exists()
