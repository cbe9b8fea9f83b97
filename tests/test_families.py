"""Encoder families: every family through every method, one line for what cannot run, the family table.

A random-weight model of each family with a real tokenizer of its kind (WordPiece, byte-level BPE,
Unigram), built and exported as the pipeline does, run by every method on the tricky sentences
(one of them longer than 512 tokens)."""

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import PYTHON_METHODS, REGISTRY, REPO, STEPS, TRICKY, run_in_one_process, run_method, run_rust

FAMILIES = ["distilbert", "bert", "electra", "roberta", "xlm-roberta", "deberta-v2", "modernbert"]
# The families CTranslate2 4.8 cannot convert: ct2-lean has no model to run there.
NOT_CONVERTED = ["electra", "deberta-v2", "modernbert"]
# What does not run, and the one line that says so (docs/methodology.md's family table says it too).
LIMITS = {
    ("deberta-v2", "ov-lean"): "OpenVINO cannot compile the model: Unexpected: CPU plug-in doesn't support If",
    **{(family, "ct2-lean"): "ct2/config.json: missing: not a model directory" for family in NOT_CONVERTED},
}

# Builds every family in one process (build_model.main with each family's arguments, then the
# exporter optimum-cli calls, then the CTranslate2 conversion, whose refusal is kept in
# ct2.refused), so that torch and transformers are imported once, not 21 times.
BUILD_ALL = """
import sys
from pathlib import Path
sys.path[:0] = [sys.argv[1], str(Path(sys.argv[1]).parents[1])]
import build_model, convert_ct2
from nerbench.registry import Registry
encoders = Registry.load().methods["ct2-lean"]["model_types"]
from optimum.exporters.onnx import main_export
train, folder = sys.argv[2], sys.argv[3]
for family in sys.argv[4:]:
    sys.argv = ["build_model.py", "--source", "random", "--preset", f"{family}-tiny", "--seed", "42",
                "--train", train, "--out", f"{folder}/{family}/torch"]
    build_model.main()
    main_export(f"{folder}/{family}/torch", f"{folder}/{family}/onnx", task="token-classification")
    try:
        convert_ct2.write_conversion(Path(f"{folder}/{family}/torch"), "ct2", Path(f"{folder}/{family}/ct2"), encoders)
    except SystemExit as refusal:
        Path(f"{folder}/{family}/ct2.refused").write_text(str(refusal))
"""


@pytest.fixture(scope="session")
def family_models(tmp_path_factory):
    """Built from the CoNLL-2003 train split (its tokenizers' vocabularies), without the smoke run:
    a worker builds them while another runs it."""
    folder = tmp_path_factory.mktemp("families")
    train = folder / "train.jsonl"
    subprocess.run([sys.executable, STEPS / "corpus/conll.py", "split", "--split", "train", "--out", train], check=True)
    done = subprocess.run(
        [sys.executable, "-c", BUILD_ALL, str(STEPS / "model"), str(train), str(folder), *FAMILIES],
        capture_output=True,
        text=True,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return folder


@pytest.fixture(scope="session")
def family_predictions(family_models, smoke_models, tmp_path_factory):
    """Every method's predictions for every family: {family: {method: (bytes, stderr)}}. Each
    Python method runs its seven families in one process (run_in_one_process), the Rust binary
    one process per family: as many processes at once as there are cores."""
    out, rust = tmp_path_factory.mktemp("family-predictions"), smoke_models["rust"]

    def arguments(family: str, method: str, model: Path) -> list[str]:
        return ["-b", "4", "-m", str(model), "-o", str(out / f"{family}-{method}.jsonl"), str(TRICKY)]

    def predict_python(method: str) -> None:
        program = REGISTRY.methods[method]["program"]
        runs = [
            (program, arguments(family, method, family_models / family / PYTHON_METHODS[method])) for family in FAMILIES
        ]
        for family, run in zip(FAMILIES, run_in_one_process(runs, out / method), strict=True):
            (out / f"{family}-{method}.stderr").write_text(run.stderr)

    def predict_rust(family: str) -> None:
        done = run_rust(rust, *arguments(family, "onnxruntime-ner", family_models / family / "onnx"), check=False)
        (out / f"{family}-onnxruntime-ner.stderr").write_text(done.stderr)

    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        jobs = [pool.submit(predict_python, method) for method in PYTHON_METHODS]
        jobs += [pool.submit(predict_rust, family) for family in FAMILIES]
        for job in jobs:
            job.result()

    def output(family: str, method: str):
        path = out / f"{family}-{method}.jsonl"
        return (path.read_bytes() if path.is_file() else None, (out / f"{family}-{method}.stderr").read_text())

    return {
        family: {method: output(family, method) for method in [*PYTHON_METHODS, "onnxruntime-ner"]}
        for family in FAMILIES
    }


@pytest.mark.parametrize("family", FAMILIES)
def test_every_method_gives_the_pipelines_bytes_for_every_family(family, family_predictions):
    runs = family_predictions[family]
    reference, _ = runs["pipelines"]
    assert reference, runs["pipelines"][1][-2000:]
    for method, (predictions, stderr) in runs.items():
        if (family, method) in LIMITS:
            last = stderr.strip().splitlines()[-1]
            assert predictions is None and LIMITS[family, method] in last and "Traceback" not in stderr, stderr
            continue
        assert predictions == reference, f"{family}: {method} differs from the transformers pipeline\n{stderr[-2000:]}"


@pytest.mark.parametrize("family", FAMILIES)
def test_the_long_sentence_is_cut_at_one_limit_in_every_method(family, family_predictions):
    cuts = {
        method: [line for line in stderr.splitlines() if "truncated" in line]
        for method, (_, stderr) in family_predictions[family].items()
        if method != "pipelines" and (family, method) not in LIMITS
    }
    assert all(len(lines) == 1 for lines in cuts.values()), cuts
    assert len({lines[0] for lines in cuts.values()}) == 1, cuts


def test_ctranslate2_converts_the_families_it_knows_and_refuses_the_others_in_one_line(family_models):
    refused = {family: (family_models / family / "ct2.refused") for family in FAMILIES}
    assert {family for family, path in refused.items() if path.exists()} == set(NOT_CONVERTED)
    for family in NOT_CONVERTED:
        source, line = family_models / family / "torch", refused[family].read_text()
        assert line.startswith(f"convert_ct2.py: error: {source}: model_type {family}: CTranslate2 converts"), line
        assert "\n" not in line.strip() and not (family_models / family / "ct2").exists()


def test_the_exports_declare_the_inputs_their_family_takes(family_models):
    import onnxruntime

    declared = {}
    for family in FAMILIES:
        session = onnxruntime.InferenceSession(str(family_models / family / "onnx/model.onnx"))
        declared[family] = "token_type_ids" in [item.name for item in session.get_inputs()]
    assert declared == {
        "distilbert": False,
        "bert": True,
        "electra": True,
        "roberta": False,
        "xlm-roberta": False,
        "deberta-v2": False,
        "modernbert": False,
    }


def test_roberta_families_truncate_at_512_not_at_their_514_positions(family_models):
    from nerlib.model_inputs import read_model_inputs

    for family in ("roberta", "xlm-roberta"):
        config = json.loads((family_models / family / "torch/config.json").read_text())
        assert config["max_position_embeddings"] == 514 and config["pad_token_id"] == 1
        assert read_model_inputs(family_models / family / "onnx").max_length == 512


# ---- refusals: one line naming the file, before any timing -------------------------------------


def build_local(path, tmp_path, *extra):
    out = tmp_path / "normalised"
    done = subprocess.run(
        [sys.executable, STEPS / "model/build_model.py", "--source", "local", "--path", path, "--out", out, *extra],
        capture_output=True,
        text=True,
    )
    return done, out


def refused(done, out, *fragments):
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert last.startswith("build_model.py: error: ") and all(f in last for f in fragments), last
    assert not out.exists()


def test_a_sequence_classifier_is_refused(family_models, tmp_path):
    from transformers import AutoConfig, BertForSequenceClassification

    model = tmp_path / "sequence"
    BertForSequenceClassification(AutoConfig.from_pretrained(family_models / "bert/torch")).save_pretrained(model)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(family_models / "bert/torch" / name, model / name)
    refused(*build_local(model, tmp_path), "config.json", "BertForSequenceClassification", "not a token classifier")


def test_a_slow_only_tokenizer_is_refused(family_models, tmp_path):
    model = shutil.copytree(family_models / "bert/torch", tmp_path / "slow")
    (model / "tokenizer.json").unlink()
    refused(*build_local(model, tmp_path), str(model), "no tokenizer.json")


def test_missing_weights_are_refused(family_models, tmp_path):
    model = shutil.copytree(family_models / "bert/torch", tmp_path / "weightless")
    (model / "model.safetensors").unlink()
    refused(*build_local(model, tmp_path), str(model), "no weights")


def test_a_label_map_that_does_not_fit_the_classifier_is_refused(family_models, tmp_path):
    for kind in ("torch", "onnx"):
        model = shutil.copytree(family_models / f"roberta/{kind}", tmp_path / f"labels-{kind}")
        config = json.loads((model / "config.json").read_text())
        config["id2label"] = {"0": "O", "1": "B-PER", "2": "I-PER"}
        config["label2id"] = {label: int(index) for index, label in config["id2label"].items()}
        (model / "config.json").write_text(json.dumps(config))
        refused(*build_local(model, tmp_path), "id2label", "3 labels")


def test_an_export_without_logits_is_refused(family_models, tmp_path):
    import onnx

    model = shutil.copytree(family_models / "bert/onnx", tmp_path / "no-logits")
    graph = onnx.load(str(model / "model.onnx"))
    for node in graph.graph.node:
        node.output[:] = ["scores" if name == "logits" else name for name in node.output]
    graph.graph.output[0].name = "scores"
    onnx.save(graph, str(model / "model.onnx"))
    refused(*build_local(model, tmp_path), "model.onnx", "no output named logits")


def test_an_onnx_export_alone_is_imported_and_runs_in_the_onnx_methods(family_models, tmp_path):
    done, out = build_local(family_models / "xlm-roberta/onnx", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    info = json.loads((out / "model_info.json").read_text())
    assert info["format"] == "onnx" and len(info["sha256"]) == 64
    lean = run_method("scripts/ort-lean.py", "-m", out, "-o", tmp_path / "lean.jsonl", TRICKY)
    assert lean.returncode == 0 and (tmp_path / "lean.jsonl").stat().st_size > 0


# ---- the family table ----


def test_the_family_table_refuses_families_that_have_not_run_in_one_line(tmp_path):
    """`make families SNAKEMAKE_ARGS=-n` plans the grids and makes no summary to tabulate."""
    missing = tmp_path / "families" / "bert" / "summary.csv"
    done = subprocess.run(
        [sys.executable, str(REPO / "workflow/scripts/report/family_table.py"), str(missing)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and done.stderr == (
        f"family_table.py: error: {missing}: missing (the families' grids have not run)\n"
    ), done.stderr
