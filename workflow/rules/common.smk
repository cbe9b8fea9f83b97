# Helpers shared by the workflow: config validation, paths, the method registry, the grid of
# timed cells, which devices this host can run, and the arguments the model build gets.

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

REPO = Path(workflow.basedir)
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
METHODS = yaml.safe_load((REPO / "workflow" / "methods.yaml").read_text())
SHARED_SOURCES = sorted(str(p) for p in (REPO / "scripts" / "nerlib").glob("*.py"))


def config_error(message):
    """One line, then stop: before any job runs."""
    sys.exit(f"nerbench: config error: {message}")


def key_path(error):
    path = ".".join(
        f"[{part}]" if isinstance(part, int) else str(part)
        for part in error.absolute_path
    )
    return path.replace(".[", "[") or "config"


def validate_config(config):
    """JSON-schema validation that fills in defaults, with the first error as one line."""
    schema = yaml.safe_load(SCHEMA.read_text())
    # The method names come from the registry, so the schema cannot list them itself.
    schema["properties"]["benchmark"]["properties"]["methods"]["items"] = {
        "type": "string",
        "pattern": f"^{METHOD_PATTERN}$",
    }
    validator_class = jsonschema.validators.validator_for(schema)

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(
                        name, json.loads(json.dumps(subschema["default"]))
                    )
        yield from validator_class.VALIDATORS["properties"](
            validator, properties, instance, schema
        )

    with_defaults = jsonschema.validators.extend(
        validator_class, {"properties": set_defaults}
    )
    errors = sorted(
        with_defaults(schema).iter_errors(config), key=lambda e: list(e.absolute_path)
    )
    if errors:
        error = errors[0]
        if error.validator == "additionalProperties":
            unknown = sorted(
                set(error.instance) - set(error.schema.get("properties", {}))
            )
            config_error(f"{key_path(error)}: unknown key(s): {', '.join(unknown)}")
        config_error(f"{key_path(error)}: {error.message}")
    check_methods(config)
    check_paths(config)


def check_methods(config):
    for index, method in enumerate(config["benchmark"]["methods"]):
        program, variant, _ = parse_method(method)
        if variant and METHODS[program]["model"] != "onnx":
            config_error(
                f"benchmark.methods[{index}]: {method}: export variants (@{variant}) apply to ONNX methods only"
            )


def check_paths(config):
    corpus = config["corpus"]["file"]
    if corpus is not None:
        check_corpus(corpus)
    model = config["model"]
    if (
        model["source"] == "local"
        and not (Path(model["local"]["path"]) / "config.json").is_file()
    ):
        config_error(
            f"model.local.path: {model['local']['path']}: not a model directory (no config.json)"
        )


def check_corpus(path):
    """Read the user's corpus as every method will, so a bad file stops the run here."""
    sys.path.insert(0, script(""))
    from nerlib.corpus import CorpusError, read_sentences

    if not Path(path).is_file():
        config_error(f"corpus.file: {path}: no such file")
    try:
        read_sentences(path)
    except CorpusError as error:
        config_error(f"corpus.file: {error}")


def available_devices():
    """cpu always; cuda when nvidia-smi lists a GPU. Asked without importing torch, which
    would cost seconds on every Snakemake start. NERBENCH_DEVICES=cpu,cuda overrides."""
    override = os.environ.get("NERBENCH_DEVICES")
    if override:
        return set(override.split(","))
    devices = {"cpu"}
    if shutil.which("nvidia-smi"):
        listed = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30
        )
        if listed.returncode == 0 and "GPU" in listed.stdout:
            devices.add("cuda")
    return devices


# ---- paths -------------------------------------------------------------------------------


def results(path=""):
    return str(Path(config["results"]) / path)


def corpus_name():
    corpus = config["corpus"]
    if corpus["file"]:
        return Path(corpus["file"]).stem
    count = corpus["sentences"]
    size = f"{count // 1000}k" if count % 1000 == 0 else str(count)
    return f"{corpus['split']}-{size}"


def corpus_text():
    return config["corpus"]["file"] or f"data/{corpus_name()}.txt"


def corpus_gold():
    """Gold IOB2 tags exist for CoNLL-2003 only; a user's own text has none."""
    return None if config["corpus"]["file"] else f"data/{corpus_name()}.gold"


def model_dir(kind="torch"):
    return f"data/models/{config['model']['name']}/{kind}"


# A grid method is a program of workflow/methods.yaml, optionally on an ONNX export variant
# (@o2, @o3, @o4, @int8: scripts/export_variant.py) and with length-sorted batches (+sort).
EXPORT_VARIANTS = {"o2": "fp32", "o3": "fp32-approx", "o4": "fp16", "int8": "int8"}
METHOD_PATTERN = f"({'|'.join(METHODS)})(@({'|'.join(EXPORT_VARIANTS)}))?(\\+sort)?"


def parse_method(method):
    """("ort-lean", "int8", True) for "ort-lean@int8+sort"."""
    program, _, sort = method.partition("+")
    program, _, variant = program.partition("@")
    return program, variant or None, sort == "sort"


def method_precision(method):
    program, variant, _ = parse_method(method)
    return EXPORT_VARIANTS[variant] if variant else METHODS[program]["precision"]


def method_model(method):
    program, variant, _ = parse_method(method)
    kind = METHODS[program]["model"]
    return model_dir(f"{kind}-{variant}" if variant else kind)


def method_env(method):
    return str(REPO / "envs" / f"{METHODS[parse_method(method)[0]]['env']}.yaml")


def method_sources(method):
    """What a method's cells must be re-timed after: its code, or its binary when it is built."""
    entry = METHODS[parse_method(method)[0]]
    if entry.get("built"):
        return [entry["program"]]
    return [str(REPO / source) for source in entry["sources"]] + SHARED_SOURCES


def script(name):
    """A timed program or a file it imports (scripts/)."""
    return str(REPO / "scripts" / name)


def step(name):
    """A pipeline step (workflow/scripts/); rules take it as an input so that editing it re-runs them."""
    return str(REPO / "workflow" / "scripts" / name)


def method_program(method):
    """A built program lives in the working directory; scripts in the repository."""
    entry = METHODS[parse_method(method)[0]]
    if entry.get("built"):
        return entry["program"]
    return str(REPO / entry["program"])


def method_options(method):
    return "--sort" if parse_method(method)[2] else ""


# ---- inputs of rules ----


def cell_inputs_for(method):
    """A cell depends on its method's code, its model and the corpus: editing ort-hf.py
    re-times only the ort-hf cells."""
    return {
        "sources": method_sources(method),
        "model": method_model(method),
        "corpus": corpus_text(),
        "corpus_checked": results("corpus.json"),
    }


def model_build_args():
    model = config["model"]
    source = model["source"]
    args = ["--source", source]
    if source == "finetune":
        tune = model["finetune"]
        args += ["--seed", tune["seed"], "--epochs", tune["epochs"]]
        args += [
            "--learning-rate",
            tune["learning_rate"],
            "--batch-size",
            tune["batch_size"],
        ]
        args += ["--max-train-sentences", tune["max_train_sentences"]]
        args += ["--max-dev-sentences", tune["max_dev_sentences"]]
        args += [
            "--train",
            "data/conll2003/train.jsonl",
            "--dev",
            "data/conll2003/valid.jsonl",
        ]
    elif source == "random":
        args += [
            "--preset",
            model["random"]["preset"],
            "--seed",
            model["random"]["seed"],
        ]
    elif source == "hub":
        args += ["--hub-id", model["hub"]["id"], "--revision", model["hub"]["revision"]]
    else:
        args += ["--path", model["local"]["path"]]
    if model["allow_pickle"]:
        args.append("--allow-pickle")
    return " ".join(shlex.quote(str(arg)) for arg in args)


def model_build_inputs(wildcards):
    if config["model"]["source"] == "finetune":
        return ["data/conll2003/train.jsonl", "data/conll2003/valid.jsonl"]
    return []


# ---- the grid ----------------------------------------------------------------------------


def cell_name(method, device, batch_size):
    return f"{method}/{device}-bs{batch_size}"


def grid():
    """Every (method, device, batch size) cell the config asks for, with whether it can run."""
    bench = config["benchmark"]
    return [
        {
            "method": method,
            "device": device,
            "batch_size": batch_size,
            "precision": method_precision(method),
            "available": device in DEVICES,
        }
        for method in bench["methods"]
        for device in bench["devices"]
        for batch_size in bench["batch_sizes"]
    ]


def runnable_cells(kind):
    """Result paths of one kind (cells, predictions, checks, ...) for the cells this host can run."""
    suffix = "jsonl" if kind == "predictions" else "json"
    return [
        results(
            f"{kind}/{cell_name(c['method'], c['device'], c['batch_size'])}.{suffix}"
        )
        for c in grid()
        if c["available"]
    ]


def unavailable_cells():
    return [c for c in grid() if not c["available"]]


validate_config(config)
CONFIG_SHA256 = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
DEVICES = available_devices()
if unavailable_cells():
    skipped = sorted({c["device"] for c in unavailable_cells()})
    print(
        f"nerbench: device(s) {', '.join(skipped)} not available on this host: "
        f"{len(unavailable_cells())} cell(s) skipped",
        file=sys.stderr,
    )
