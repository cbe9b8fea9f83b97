"""The methods: byte-identical predictions from every one, and one clear line for what it cannot run.

Every method gives byte-identical predictions: on the smoke corpus inside the pipeline, and
here on tricky sentences (punctuation runs, hyphens and apostrophes, numbers and dates, accents
and non-Latin scripts, all caps, blank lines, a sentence over 512 tokens). What a method cannot
run (no GPU, no tokenizer, a corrupt model) is one line naming it, and a write that fails leaves
no partial file."""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import (
    LEAN,
    PYTHON_METHODS,
    REGISTRY,
    TRICKY,
    Run,
    read_json,
    run_in_one_process,
    run_method,
    run_rust,
    write,
)
from nerbench import sources


def nerlib_modules(importtime: str) -> set[str]:
    """The scripts/nerlib files a `python -X importtime` run imported."""
    names = {line.split("|")[-1].strip() for line in importtime.splitlines() if "|" in line}
    return {f"scripts/{name.replace('.', '/')}.py" for name in names if name.startswith("nerlib.")} | (
        {"scripts/nerlib/__init__.py"} if "nerlib" in names else set()
    )


# The methods that batch in the shared frame do so here by token budget, sorted (their plain -b 4
# batches are compared on every encoder family in test_families.py); the pipeline batches its own way.
FRAME_BATCHING = ["--sort", "--token-budget"]


@pytest.fixture(scope="module")
def tricky_predictions(smoke_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("tricky")
    found = {}
    for method, model in PYTHON_METHODS.items():
        done = run_method(
            REGISTRY.methods[method]["program"],
            "-b",
            "4",
            *([] if method == "pipelines" else FRAME_BATCHING),
            "-m",
            smoke_models[model],
            "-o",
            out / f"{method}.jsonl",
            "--timings",
            out / f"{method}.timings.json",
            TRICKY,
            python_flags=["-X", "importtime"],
        )
        found[method] = (out / f"{method}.jsonl").read_bytes(), done.stderr, read_json(out / f"{method}.timings.json")
    rust = run_rust(
        smoke_models["rust"],
        "-b",
        "4",
        *FRAME_BATCHING,
        "-m",
        smoke_models["onnx"],
        "-o",
        out / "rust.jsonl",
        "--timings",
        out / "rust.timings.json",
        TRICKY,
        check=False,
    )
    assert rust.returncode == 0, rust.stderr
    found["onnxruntime-ner"] = (out / "rust.jsonl").read_bytes(), rust.stderr, read_json(out / "rust.timings.json")
    return found


def test_tricky_sentences_byte_identical_across_methods(tricky_predictions):
    reference = tricky_predictions["pipelines"][0]
    for method, (predictions, _, _) in tricky_predictions.items():
        assert predictions == reference, f"{method} differs from the transformers pipeline"


def test_one_line_per_input_line_and_blank_lines_are_empty(tricky_predictions):
    lines = TRICKY.read_text(encoding="utf-8").split("\n")[:-1]
    predicted = [json.loads(line) for line in tricky_predictions["pipelines"][0].decode().split("\n")[:-1]]
    assert len(predicted) == len(lines)
    for line, entities in zip(lines, predicted, strict=True):
        if not line.strip():
            assert entities == []
        for entity in entities:
            assert line[entity["start"] : entity["end"]] == entity["text"]


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
        assert timings["token_budget"] is (method != "pipelines"), method
        assert set(timings["phases"]) == {"startup", "load", "tokenize", "transfer", "inference", "decode", "output"}, (
            method
        )
        assert timings["phases"]["inference"] > 0, method


def test_smoke_cells_byte_identical_to_the_reference(smoke):
    reference = smoke["reference"].read_bytes()
    predictions = sorted((smoke["results"] / "predictions").glob("*/*.jsonl"))
    exact = {"baseline", "pipelines", "ort-hf", "onnxruntime-ner", "ort-lean", "ct2-lean"}
    assert {p.parent.name for p in predictions} == exact | {"ct2-lean@int8"}
    for path in predictions:
        if path.parent.name in exact:
            assert path.read_bytes() == reference, path


def test_ctranslate2_int8_answers_a_sentence_the_same_whatever_its_batch_mates(smoke, smoke_models):
    """CTranslate2 scales int8 activations per token (ONNX Runtime's dynamic int8, per batch)."""
    assert read_json(smoke_models["ct2"].with_name("ct2-int8") / "variant.json")["recipe"].endswith(" int8")
    cells = smoke["results"] / "predictions" / "ct2-lean@int8"
    assert (cells / "cpu-bs1.jsonl").read_bytes() == (cells / "cpu-bs8.jsonl").read_bytes()


@pytest.mark.parametrize(("method", "engine"), [("ort-lean", "onnxruntime"), ("ct2-lean", "ctranslate2")])
def test_lean_methods_import_neither_torch_nor_transformers(tricky_predictions, method, engine):
    imported = {line.split("|")[-1].strip().split(".")[0] for line in tricky_predictions[method][1].splitlines()}
    assert engine in imported
    assert not imported & {"torch", "transformers", "optimum"}


def test_a_methods_cells_depend_on_every_nerlib_module_it_imports_at_run_time(tricky_predictions):
    """The files its cells depend on are read from its imports (nerbench.sources): they hold every
    module a run really imports, so that editing one re-times the method."""
    for method in PYTHON_METHODS:
        found = set(sources.code_dependencies(REGISTRY.methods[method]["program"]))
        assert nerlib_modules(tricky_predictions[method][1]) <= found, method


def test_ctranslate2_replicas_give_the_same_bytes_and_a_cell_runs_the_type_it_was_converted_to(smoke_models, tmp_path):
    program = REGISTRY.methods["ct2-lean"]["program"]
    model = smoke_models["ct2"]
    for workers in (1, 2):
        run_method(
            program,
            "-b",
            "4",
            "--threads",
            "2",
            "--workers",
            workers,
            "-m",
            model,
            "-o",
            tmp_path / f"{workers}",
            TRICKY,
        )
    assert (tmp_path / "2").read_bytes() == (tmp_path / "1").read_bytes()
    too_many = run_method(program, "--threads", "2", "--workers", "3", "-m", model, TRICKY, check=False)
    assert too_many.stderr.strip() == "ct2-lean.py: error: --workers 3: at most --threads (2), on the CPU"
    relabelled = shutil.copytree(smoke_models["ct2"].with_name("ct2-int8"), tmp_path / "ct2-int16")
    (relabelled / "variant.json").write_text(json.dumps({"quantization": "int16"}))
    refused = run_method(program, "-m", relabelled, TRICKY, check=False)
    assert refused.returncode != 0 and refused.stderr.strip().splitlines()[-1] == (
        f"ct2-lean.py: error: {relabelled}: converted to int16, and CTranslate2 computes in int8_float32 on this CPU"
    )


def test_every_ctranslate2_folder_of_the_registry_has_a_conversion():
    from convert_ct2 import QUANTIZATIONS

    assert sorted(QUANTIZATIONS) == REGISTRY.model_folders("ct2")


def test_every_export_variant_of_the_registry_has_a_derivation():
    from export_variant import DERIVATIONS

    assert set(DERIVATIONS) == set(REGISTRY.variants)


def test_the_o2_variant_is_a_model_that_agrees_with_the_plain_export(smoke_models, tmp_path):
    """ORTOptimizer names its output model_optimized.onnx: the variant folder must still hold a
    model.onnx, and O2's fusions are exact, so ort-lean writes the plain export's bytes on it."""
    out = tmp_path / "onnx-o2"
    run_method("workflow/scripts/model/export_variant.py", smoke_models["onnx"], "o2", out)
    assert sorted(path.name for path in out.glob("*.onnx")) == ["model.onnx"]
    for name, model in (("plain", smoke_models["onnx"]), ("o2", out)):
        run_method(REGISTRY.methods["ort-lean"]["program"], "-b", "4", "-m", model, "-o", tmp_path / name, TRICKY)
    assert (tmp_path / "o2").read_bytes() == (tmp_path / "plain").read_bytes()


def test_u8u8_int8_products_are_byte_identical_in_python_and_rust(smoke_models, tmp_path):
    """+u8u8 sets ONNX Runtime's session.x64quantprecision in every ONNX Runtime program alike."""
    int8 = tmp_path / "onnx-int8"
    run_method("workflow/scripts/model/export_variant.py", smoke_models["onnx"], "int8", int8)
    for method in ("ort-lean", "ort-hf"):
        run_method(
            REGISTRY.methods[method]["program"], "-b", "4", "--u8u8", "-m", int8, "-o", tmp_path / method, TRICKY
        )
    run_rust(smoke_models["rust"], "-b", "4", "--u8u8", "-m", int8, "-o", tmp_path / "rust", TRICKY)
    python = (tmp_path / "ort-lean").read_bytes()
    assert python and (tmp_path / "ort-hf").read_bytes() == python == (tmp_path / "rust").read_bytes()
    # Where U8S8 can saturate (x86 without VNNI's dot products), U8U8 changes the logits.
    from nerbench.host import VNNI_FLAGS, cpu_flags

    flags = cpu_flags()
    if "avx2" in flags and not flags & VNNI_FLAGS:
        logits = [int8_logits(int8, u8u8) for u8u8 in (False, True)]
        assert not np.array_equal(*logits), "session.x64quantprecision changed nothing on a CPU without VNNI"


def int8_logits(model, u8u8: bool):
    """The logits of a long, mixed-case sentence: large activations are where U8S8 saturates."""
    import onnxruntime

    from nerlib.ort_session import session_options

    session = onnxruntime.InferenceSession(
        str(model / "model.onnx"), session_options(1, u8u8), providers=["CPUExecutionProvider"]
    )
    ids = np.array([[101] + list(range(2000, 2120)) + [102]], dtype=np.int64)
    inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    return session.run(["logits"], {item.name: inputs[item.name] for item in session.get_inputs()})[0]


def test_u8u8_is_a_session_setting():
    from nerlib.ort_session import session_options

    assert session_options(2, u8u8=True).get_session_config_entry("session.x64quantprecision") == "1"
    with pytest.raises(RuntimeError, match="does not have configuration"):
        session_options(2).get_session_config_entry("session.x64quantprecision")


def test_the_original_command_lines_run_as_written(smoke_clone, smoke_models, tmp_path):
    """From the working directory `make bench` ran in: no -m (the model config.yaml names), and
    the Rust binary without ORT_DYLIB_PATH (it asks the environment's python3 for the library)."""
    workdir = smoke_clone["workdir"]
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": smoke_models["torch"].parent.name}}))
    corpus = "data/test-50.txt"
    reference = smoke_clone["reference"].read_bytes()
    env = {key: value for key, value in os.environ.items() if key != "ORT_DYLIB_PATH"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    try:
        # In one process (run_in_one_process), as each command line would run: torch imported once.
        outputs = {method: tmp_path / f"{method}.jsonl" for method in PYTHON_METHODS}
        runs = [
            (REGISTRY.methods[method]["program"], ["-d", "cpu", "-b", "8", "-o", out, corpus])
            for method, out in outputs.items()
        ]
        found = run_in_one_process(runs, tmp_path / "runs", cwd=workdir)
        for (method, out), run in zip(outputs.items(), found, strict=True):
            assert run.status == 0, run.stderr
            assert out.read_bytes() == reference, method
        rust = subprocess.run(
            ["bin/onnxruntime-ner", "-d", "cpu", "-b", "8", "-o", tmp_path / "rust.jsonl", corpus],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
        )
        assert rust.returncode == 0, rust.stderr
        assert (tmp_path / "rust.jsonl").read_bytes() == reference
    finally:
        config.unlink()
    done = run_method("scripts/ort-lean.py", corpus, cwd=workdir, check=False)
    assert done.returncode != 0
    assert done.stderr.strip().endswith("no -m MODEL_DIR given, and config.yaml here names no model (model.name)")


@pytest.mark.parametrize(
    "wrong", [("--threads", "2", "--workers", "3"), ("-d", "cuda", "--threads", "2", "--workers", "2")]
)
def test_workers_beyond_the_threads_or_off_the_cpu_are_the_same_line_in_python_and_rust(wrong, smoke_models):
    args = (*wrong, "-m", smoke_models["onnx"], TRICKY)
    words = f"error: --workers {wrong[-1]}: at most --threads (2), on the CPU"
    lean = run_method("scripts/ort-lean.py", *args, check=False)
    rust = run_rust(smoke_models["rust"], *args, check=False)
    assert (lean.returncode, lean.stderr.strip()) == (1, f"ort-lean.py: {words}")
    assert (rust.returncode, rust.stderr.strip()) == (1, f"onnxruntime-ner: {words}")


def test_the_pipeline_refuses_a_token_budget_in_one_line(method_error_runs):
    run = method_error_runs["pipelines", "token budget"]
    last = run.stderr.strip().splitlines()[-1]
    assert run.status != 0 and "Traceback" not in run.stderr, run.stderr
    assert last == "pipelines.py: error: --token-budget: the transformers pipeline batches by sentence count only"


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this host has a GPU")
@pytest.mark.parametrize("method", sorted(PYTHON_METHODS) + ["onnxruntime-ner"])
def test_cuda_without_a_gpu_is_one_clear_line(method, smoke_models, method_error_runs):
    if method == "onnxruntime-ner":
        done = run_rust(smoke_models["rust"], "-d", "cuda", "-m", smoke_models["onnx"], TRICKY, check=False)
        run = Run(done.returncode, done.stderr)
    else:
        run = method_error_runs[method, "cuda"]
    assert run.status != 0
    last = run.stderr.strip().splitlines()[-1]
    assert "error: -d cuda" in last and "Traceback" not in run.stderr, run.stderr


@pytest.mark.parametrize("method", sorted(PYTHON_METHODS))
def test_model_directory_without_tokenizer_is_named(method, method_error_runs):
    run = method_error_runs[method, "no tokenizer"]
    assert run.status != 0 and "Traceback" not in run.stderr, run.stderr
    assert "tokenizer" in run.stderr.strip().splitlines()[-1]


def test_io_binding_gives_the_same_logits_as_a_plain_run(smoke_models):
    """The CUDA path of the ONNX methods, exercised on the CPU device: upload, run, download."""
    import numpy as np
    import onnxruntime

    from nerlib.ort_session import IOBinding

    session = onnxruntime.InferenceSession(str(smoke_models["onnx"] / "model.onnx"), providers=["CPUExecutionProvider"])
    ids = np.array([[101, 7592, 2088, 102], [101, 2088, 102, 0]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    binding = IOBinding(session, "cpu", ["input_ids", "attention_mask"])
    bound = binding.upload({"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    binding.run(bound)
    expected = session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]
    assert np.array_equal(binding.download(bound), expected)


# ---- a broken model, a failed write ----


def test_corrupt_onnx_model_is_named(smoke_models, tmp_path):
    broken = tmp_path / "onnx"
    shutil.copytree(smoke_models["onnx"], broken)
    write(broken / "model.onnx", (smoke_models["onnx"] / "model.onnx").read_bytes()[:1000])
    lean = run_method(LEAN, "-m", broken, TRICKY, check=False)
    rust = run_rust(smoke_models["rust"], "-m", broken, TRICKY, check=False)
    for done in (lean, rust):
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert f"{broken}/model.onnx: cannot load ONNX model" in done.stderr.strip().splitlines()[-1]


def test_truncated_safetensors_is_named(smoke_models, tmp_path):
    broken = tmp_path / "torch"
    shutil.copytree(smoke_models["torch"], broken)
    write(broken / "model.safetensors", (smoke_models["torch"] / "model.safetensors").read_bytes()[:100_000])
    done = run_method("scripts/baseline.py", "-m", broken, TRICKY, check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"{broken}/model.safetensors: cannot load model" in done.stderr.strip().splitlines()[-1]


def small_file_limit():
    """In the child: files may not grow past 200 bytes (as on a full disk), and the write fails
    with EFBIG rather than the signal ending the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))


@pytest.mark.parametrize("method", ["ort-lean", "onnxruntime-ner"])
def test_a_failing_write_leaves_no_partial_file(method, smoke_models, tmp_path):
    out = tmp_path / "out" / "p.jsonl"
    args = ["-m", smoke_models["onnx"], "-o", out, TRICKY]
    if method == "onnxruntime-ner":
        done = run_rust(smoke_models["rust"], *args, check=False, preexec_fn=small_file_limit)
    else:
        done = run_method(LEAN, *args, check=False, preexec_fn=small_file_limit)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "p.jsonl" in done.stderr.strip().splitlines()[-1]
    assert list(out.parent.iterdir()) == []


def test_the_atomic_writer_removes_its_temporary_file_on_any_error(tmp_path):
    from nerlib.atomic import atomic_file

    with pytest.raises(RuntimeError), atomic_file(tmp_path / "r.json") as stream:
        stream.write("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
