"""The offline model recipe and the hub path up to the network boundary."""

import json
import os
import subprocess
import sys

import torch

from conftest import STEPS


def test_minilm_maps_onto_distilbert_exactly():
    """The converted DistilBERT computes what the pretrained MiniLM BERT computes."""
    from transformers import AutoModel

    from build_model import minilm_as_distilbert

    distil, source = minilm_as_distilbert()
    bert = AutoModel.from_pretrained(source).eval()
    ids = torch.tensor([[101, 7592, 2088, 2003, 1037, 3231, 1012, 102]])
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        expected = bert(input_ids=ids, attention_mask=mask).last_hidden_state
        found = distil.eval().distilbert(input_ids=ids, attention_mask=mask).last_hidden_state
    assert torch.allclose(expected, found, atol=1e-4), (expected - found).abs().max()


def test_smoke_model_records_its_dev_score_and_provenance(smoke_models):
    info = json.loads((smoke_models["torch"] / "model_info.json").read_text())
    metrics = json.loads((smoke_models["torch"] / "metrics.json").read_text())
    assert info["source"] == "finetune" and len(info["sha256"]) == 64
    assert 0 < metrics["dev_f1"] <= 1 and metrics["dev_sentences"] == 300
    tokenizer_config = json.loads((smoke_models["torch"] / "tokenizer_config.json").read_text())
    assert tokenizer_config["model_max_length"] == 512
    assert tokenizer_config["model_input_names"] == ["input_ids", "attention_mask"]


def build_model(*args, env=None):
    return subprocess.run(
        [sys.executable, str(STEPS / "build_model.py"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_hub_download_stops_at_the_network_boundary_with_one_line(tmp_path):
    """Offline, huggingface_hub is asked for the pinned revision and refuses; the error names
    the config key and the model. (Online, the same call downloads it.)"""
    done = build_model(
        "--source",
        "hub",
        "--hub-id",
        "dslim/distilbert-NER",
        "--revision",
        "0" * 40,
        "--out",
        str(tmp_path / "m"),
        env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")},
    )
    assert done.returncode != 0
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"build_model.py: error: model.hub: cannot download dslim/distilbert-NER@{'0' * 40}")
    )
    assert not (tmp_path / "m").exists()


def test_local_model_without_safetensors_is_refused(tmp_path, smoke_models):
    model = tmp_path / "pickled"
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    AutoModelForTokenClassification.from_pretrained(smoke_models["torch"]).save_pretrained(
        model, safe_serialization=False
    )
    AutoTokenizer.from_pretrained(smoke_models["torch"]).save_pretrained(model)
    done = build_model("--source", "local", "--path", str(model), "--out", str(tmp_path / "out"))
    assert done.returncode != 0 and "cannot load a token-classification model" in done.stderr.strip().splitlines()[-1]
    allowed = build_model("--source", "local", "--path", str(model), "--out", str(tmp_path / "out"), "--allow-pickle")
    assert allowed.returncode == 0, allowed.stderr
