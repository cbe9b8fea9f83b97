"""The model build: the offline recipe, a local model, and the Hub path: up to the network boundary,
and end to end through a Hub-shaped server on 127.0.0.1 (tests/hub_server.py)."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import REPO, SMOKE, STEPS, make_in
from hub_server import HubServer, commit_of


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
        [sys.executable, str(STEPS / "model/build_model.py"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.complete
def test_a_fine_tune_without_its_recipe_is_one_line_naming_what_is_missing(tmp_path):
    done = build_model("--source", "finetune", "--epochs", "1", "--out", str(tmp_path / "m"))
    assert done.returncode != 0 and not (tmp_path / "m").exists()
    assert done.stderr.strip() == (
        "build_model.py: error: --source finetune needs --train, --dev, --architecture, --learning-rate, "
        "--batch-size, --seed (the workflow passes the config's model.finetune)"
    )


@pytest.mark.complete
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
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode != 0 and "no weights" in last and "model.allow_pickle: true" in last, done.stderr
    allowed = build_model("--source", "local", "--path", str(model), "--out", str(tmp_path / "out"), "--allow-pickle")
    assert allowed.returncode == 0, allowed.stderr


def test_the_schema_lists_every_random_preset_the_build_knows():
    import yaml

    from build_model import PRESETS
    from families import PRESETS as FAMILY_PRESETS

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    listed = schema["properties"]["model"]["properties"]["random"]["properties"]["preset"]["enum"]
    assert sorted(listed) == sorted([*PRESETS, *FAMILY_PRESETS])


@pytest.mark.slow
def test_the_bert_headed_minilm_reaches_its_f1_floor(tmp_path):
    """configs/minilm-bert.yaml end to end: the fine-tune (a quarter of an hour on two cores), every
    method at batch size 8, F1 at least 0.85 on the 1000 test sentences, every method agreeing."""
    import pandas as pd

    from conftest import run_snakemake

    workdir = Path(os.environ.get("NERBENCH_SLOW_WORKDIR", tmp_path))
    run_snakemake(workdir, "--cores", "2", configfile=REPO / "configs" / "minilm-bert.yaml")
    metrics = json.loads((workdir / "data/models/minilm-bert/torch/metrics.json").read_text())
    info = json.loads((workdir / "data/models/minilm-bert/torch/model_info.json").read_text())
    assert info["architecture"] == "BertForTokenClassification" and metrics["dev_f1"] > 0.85
    summary = pd.read_csv(workdir / "results/minilm-bert/summary.csv")
    measured = summary[summary["status"] == "ok"]
    assert len(measured) >= 7 and (measured["agreement_pct"] == 100).all()
    assert (measured["f1"] >= 0.85).all(), measured[["method", "f1"]]


def test_allow_pickle_still_loads_a_safetensors_model(smoke_models, tmp_path):
    assert not list(smoke_models["torch"].glob("*.bin"))
    done = build_model(
        "--source", "local", "--allow-pickle", "--path", smoke_models["torch"], "--out", tmp_path / "out"
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "model.safetensors").is_file()


# ---- the Hub, served on 127.0.0.1 ----

HUB_ID = "test-org/tiny-ner"


@pytest.fixture
def hub_repo(smoke_models, tmp_path):
    """A Hub repository's files: the smoke model as its author would push it (no build records)."""
    folder = tmp_path / "pushed"
    shutil.copytree(smoke_models["torch"], folder, ignore=shutil.ignore_patterns("model_info.json", "metrics.json"))
    return folder


def hub_environment(endpoint: str, tmp_path) -> dict:
    """huggingface_hub pointed at the test's Hub, with a cache of its own, online for this run only."""
    return {
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
    }


@pytest.mark.complete
def test_an_unpinned_hub_revision_is_resolved_to_its_commit_recorded_and_warned_about(hub_repo, tmp_path):
    commit = commit_of(hub_repo)
    hub = HubServer({HUB_ID: {"main": hub_repo}})
    with hub as endpoint:
        arguments = ["--source", "hub", "--hub-id", HUB_ID, "--revision", "main", "--out", str(tmp_path / "m")]
        done = build_model(*arguments, env=hub_environment(endpoint, tmp_path))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    info = json.loads((tmp_path / "m/model_info.json").read_text())
    assert (info["hub_id"], info["revision"], info["requested_revision"]) == (HUB_ID, commit, "main")
    assert f"warning: model.hub.revision main is not a commit: {HUB_ID} is built at {commit}" in done.stdout
    # The branch asked for once; the files downloaded at its commit, cached under it.
    assert [r for r in hub.requests if "/resolve/" in r] and all(
        f"/resolve/{commit}/" in r for r in hub.requests if "/resolve/" in r
    )
    assert (tmp_path / f"hf/hub/models--test-org--tiny-ner/snapshots/{commit}/model.safetensors").is_file()
    # Offline, the cache's refs resolve the branch to the same commit: the model builds again.
    again = build_model(
        *arguments[:-1], str(tmp_path / "again"), env={"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((tmp_path / "again/model_info.json").read_text())["revision"] == commit


@pytest.mark.complete
@pytest.mark.parametrize(
    "repo, revision, why",
    [
        ("test-org/missing", "main", "no such model on the Hub (or a private one: log in with `hf auth login`)"),
        (HUB_ID, "v9", "the model has no such revision (branch, tag or commit)"),
        (HUB_ID, "0" * 40, "the model has no such revision (branch, tag or commit)"),
    ],
)
def test_a_missing_hub_model_or_revision_is_one_line(hub_repo, tmp_path, repo, revision, why):
    with HubServer({HUB_ID: {"main": hub_repo}}) as endpoint:
        arguments = ["--source", "hub", "--hub-id", repo, "--revision", revision, "--out", str(tmp_path / "m")]
        done = build_model(*arguments, env=hub_environment(endpoint, tmp_path))
    assert done.returncode != 0 and not (tmp_path / "m").exists()
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"build_model.py: error: model.hub: cannot download {repo}@{revision}: {why}"
    )


@pytest.mark.e2e
def test_make_bench_runs_a_hub_model(smoke_clone, hub_repo, tmp_path):
    """make bench MODEL=hub:org/name (a branch: main), through the pipeline: downloaded, built at the
    branch's commit (recorded and said in the tables), exported, timed in Python and Rust, checked."""
    settings = yaml.safe_load(SMOKE.read_text())
    settings["benchmark"].update(methods=["baseline", "onnxruntime-ner"], batch_sizes=[8])
    workdir = smoke_clone["workdir"]
    with HubServer({HUB_ID: {"main": hub_repo}}) as endpoint:
        done = make_in(
            workdir, settings, tmp_path, "bench", f"MODEL=hub:{HUB_ID}", env=hub_environment(endpoint, tmp_path)
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    commit, name = (
        commit_of(hub_repo),
        f"test-org--tiny-ner-{hashlib.sha256(f'{HUB_ID}@main'.encode()).hexdigest()[:6]}",
    )
    assert f"  model {name}: downloaded from the Hub first" in done.stdout
    assert json.loads((workdir / f"data/models/{name}/torch/model_info.json").read_text())["revision"] == commit
    results = workdir / "results/smoke/models" / name
    tables = (results / "tables.md").read_text()
    assert f"Model: `{name}` (hub `{HUB_ID}` at {commit}" in tables
    assert f"asked for at `main`, not a commit: it was built at {commit}" in tables
    assert "use `" in "\n".join(tables.splitlines()[:10]) and (results / "verified.txt").is_file()
