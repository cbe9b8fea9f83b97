"""Every method gives byte-identical predictions: on the smoke corpus inside the pipeline, and
here on tricky sentences (punctuation runs, hyphens and apostrophes, numbers and dates, accents
and non-Latin scripts, all caps, blank lines, a sentence over 512 tokens)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, read_json, run_method

TRICKY = REPO / "tests" / "data" / "tricky.txt"
PYTHON_METHODS = {"baseline": "torch", "pipelines": "torch", "ort-hf": "onnx", "ort-lean": "onnx"}


@pytest.fixture(scope="module")
def tricky_predictions(smoke_models, ort_dylib, tmp_path_factory):
    out = tmp_path_factory.mktemp("tricky")
    found = {}
    for method, model in PYTHON_METHODS.items():
        done = run_method(f"scripts/{method}.py", "-b", "4", "-m", smoke_models[model], "-o", out / f"{method}.jsonl",
                          "--timings", out / f"{method}.timings.json", TRICKY)
        found[method] = (out / f"{method}.jsonl").read_bytes(), done.stderr, read_json(out / f"{method}.timings.json")
    rust = subprocess.run([str(smoke_models["rust"]), "-b", "4", "-m", str(smoke_models["onnx"]), "-o", str(out / "rust.jsonl"),
                           "--timings", str(out / "rust.timings.json"), str(TRICKY)],
                          capture_output=True, text=True, env={**os.environ, "ORT_DYLIB_PATH": ort_dylib})
    assert rust.returncode == 0, rust.stderr
    found["onnxruntime-ner"] = (out / "rust.jsonl").read_bytes(), rust.stderr, read_json(out / "rust.timings.json")
    return found


def test_tricky_sentences_byte_identical_across_methods(tricky_predictions):
    reference = tricky_predictions["pipelines"][0]
    for method, (predictions, _, _) in tricky_predictions.items():
        assert predictions == reference, f"{method} differs from the transformers pipeline"


def test_one_line_per_input_line_and_blank_lines_are_empty(tricky_predictions):
    lines = TRICKY.read_text(encoding="utf-8").split("\n")[:-1]
    predicted = [json.loads(line) for line in tricky_predictions["pipelines"][0].decode().splitlines()]
    assert len(predicted) == len(lines)
    for line, entities in zip(lines, predicted):
        if not line.strip():
            assert entities == []
        for entity in entities:
            assert line[entity["start"]: entity["end"]] == entity["text"]


def test_the_long_sentence_is_truncated_and_counted_the_same_everywhere(tricky_predictions):
    for method, (_, stderr, timings) in tricky_predictions.items():
        if method == "pipelines":
            continue  # the pipeline truncates inside transformers; its predictions match, checked above
        assert timings["truncated_sentences"] == 1, method
        assert "truncated" in stderr, method
    counts = {m: t["truncated_tokens"] for m, (_, _, t) in tricky_predictions.items() if m != "pipelines"}
    assert len(set(counts.values())) == 1 and counts["baseline"] > 0, counts


def test_timings_cover_every_phase(tricky_predictions):
    for method, (_, _, timings) in tricky_predictions.items():
        assert set(timings["phases"]) == {"startup", "load", "tokenize", "transfer", "inference", "decode", "output"}, method
        assert timings["phases"]["inference"] > 0, method


def test_smoke_cells_byte_identical_to_the_reference(smoke):
    reference = (smoke["results"] / "reference.jsonl").read_bytes()
    predictions = sorted((smoke["results"] / "predictions").glob("*/*.jsonl"))
    assert {p.parent.name for p in predictions} == {"baseline", "pipelines", "ort-hf", "onnxruntime-ner", "ort-lean"}
    for path in predictions:
        assert path.read_bytes() == reference, path


def test_ort_lean_imports_neither_torch_nor_transformers(smoke_models):
    done = subprocess.run([sys.executable, "-X", "importtime", str(REPO / "scripts/ort-lean.py"), "-m",
                           str(smoke_models["onnx"]), str(TRICKY)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "onnxruntime" in imported
    assert not imported & {"torch", "transformers", "optimum"}


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this host has a GPU")
@pytest.mark.parametrize("method", sorted(PYTHON_METHODS) + ["onnxruntime-ner"])
def test_cuda_without_a_gpu_is_one_clear_line(method, smoke_models, ort_dylib):
    model = smoke_models["torch" if PYTHON_METHODS.get(method) == "torch" else "onnx"]
    if method == "onnxruntime-ner":
        done = subprocess.run([str(smoke_models["rust"]), "-d", "cuda", "-m", str(model), str(TRICKY)],
                              capture_output=True, text=True, env={**os.environ, "ORT_DYLIB_PATH": ort_dylib})
    else:
        done = run_method(f"scripts/{method}.py", "-d", "cuda", "-m", model, TRICKY, check=False)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "error: -d cuda" in last and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("method", sorted(PYTHON_METHODS))
def test_model_directory_without_tokenizer_is_named(method, smoke_models, tmp_path):
    broken = tmp_path / "model"
    shutil.copytree(smoke_models[PYTHON_METHODS[method]], broken)
    (broken / "tokenizer.json").unlink()
    done = run_method(f"scripts/{method}.py", "-m", broken, TRICKY, check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "tokenizer" in done.stderr.strip().splitlines()[-1]


def test_io_binding_gives_the_same_logits_as_a_plain_run(smoke_models):
    """The CUDA path of the ONNX methods, exercised on the CPU device: upload, run, download."""
    import numpy as np
    import onnxruntime
    from nerlib.ort_session import IOBinding

    session = onnxruntime.InferenceSession(str(smoke_models["onnx"] / "model.onnx"), providers=["CPUExecutionProvider"])
    ids = np.array([[101, 7592, 2088, 102], [101, 2088, 102, 0]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    binding = IOBinding(session, "cpu")
    bound = binding.upload(ids, mask)
    binding.run(bound)
    expected = session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]
    assert np.array_equal(binding.download(bound), expected)
