# Helpers shared by the workflow: config and registry validation, paths, the grid of timed cells
# (each described once, completely, by cell()), which devices this host can run, and the
# arguments the model build gets.

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
SCHEMAS = REPO / "workflow" / "schemas"


def config_error(message):
    """One line, then stop: before any job runs."""
    sys.exit(f"nerbench: config error: {message}")


def key_path(error):
    path = ".".join(
        f"[{part}]" if isinstance(part, int) else str(part)
        for part in error.absolute_path
    )
    return path.replace(".[", "[") or "config"


def schema_errors(document, schema):
    """Validation that fills in the schema's defaults, errors in document order."""
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

    # JSON Schema counts 8.0 as an integer; nerbench would then name files bs8.0 or test-1.0k.
    whole_numbers_only = validator_class.TYPE_CHECKER.redefine(
        "integer",
        lambda checker, value: isinstance(value, int) and not isinstance(value, bool),
    )
    with_defaults = jsonschema.validators.extend(
        validator_class, {"properties": set_defaults}, type_checker=whole_numbers_only
    )
    return sorted(
        with_defaults(schema).iter_errors(document),
        key=lambda e: list(e.absolute_path),
    )


def first_error_line(error, where=""):
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{where}{key_path(error)}: unknown key(s): {', '.join(unknown)}"
    return f"{where}{key_path(error)}: {error.message}"


# ---- the method registry -------------------------------------------------------------------


def load_registry():
    path = REPO / "workflow" / "methods.yaml"
    registry = yaml.safe_load(path.read_text())
    errors = schema_errors(
        registry, yaml.safe_load((SCHEMAS / "methods.schema.yaml").read_text())
    )
    if errors:
        config_error(first_error_line(errors[0], "workflow/methods.yaml: "))
    for name, entry in registry["methods"].items():
        for source in [entry["program"]] * (not entry["built"]) + entry["imports"]:
            if not (REPO / source).is_file():
                config_error(
                    f"workflow/methods.yaml: methods.{name}: {source}: no such file"
                )
    return registry


REGISTRY = load_registry()
METHODS = REGISTRY["methods"]
EXPORT_VARIANTS = REGISTRY["variants"]
OPTIONS = REGISTRY["options"]

# A grid method is a program of the registry, optionally on an export variant (@o2, @int8, ...)
# and with run-time options (+sort, +dp, ...), in the registry's order: ort-lean@int8+sort+dp.
METHOD_PATTERN = f"({'|'.join(METHODS)})(@({'|'.join(EXPORT_VARIANTS)}))?" + "".join(
    f"(\\+{option})?" for option in OPTIONS
)


def parse_method(method):
    """{"program": "ort-lean", "variant": "int8", "options": ["sort"], "sort": True} for
    "ort-lean@int8+sort"."""
    head, *options = method.split("+")
    program, _, variant = head.partition("@")
    return {
        "program": program,
        "variant": variant or None,
        "options": options,
        "sort": "sort" in options,
    }


def method_parts(method):
    """The registry entries a method is made of: its program, variant and options."""
    parts = parse_method(method)
    variant = [EXPORT_VARIANTS[parts["variant"]]] if parts["variant"] else []
    return (
        [METHODS[parts["program"]]] + variant + [OPTIONS[o] for o in parts["options"]]
    )


def method_dtype(method):
    """The number format: the variant's or an option's (bf16), else the program's."""
    return [part["dtype"] for part in method_parts(method) if "dtype" in part][-1]


def method_devices(method):
    """The devices every part of the method can run on."""
    devices = {"cpu", "cuda"}
    for part in method_parts(method):
        devices &= set(part.get("devices", devices))
    return devices


def method_arguments(method):
    """The program's own options for this method's run-time options (+sort: --sort, ...);
    run_cell.py fills in {threads}."""
    return [
        arg
        for option in parse_method(method)["options"]
        for arg in OPTIONS[option]["arguments"]
    ]


def method_model(method):
    parts = parse_method(method)
    kind = METHODS[parts["program"]]["model"]
    return model_dir(f"{kind}-{parts['variant']}" if parts["variant"] else kind)


def method_env(method):
    return str(
        REPO / "envs" / f"{METHODS[parse_method(method)['program']]['env']}.yaml"
    )


def method_sources(method):
    """What a method's cells must be re-timed after: its program and the files it imports
    (the registry lists them), or its binary alone when it is built."""
    entry = METHODS[parse_method(method)["program"]]
    if entry["built"]:
        return [entry["program"]]
    files = [entry["program"]] + REGISTRY["shared"] + entry["imports"]
    return [str(REPO / source) for source in files]


def method_program(method):
    """A built program lives in the working directory; scripts in the repository."""
    entry = METHODS[parse_method(method)["program"]]
    return entry["program"] if entry["built"] else str(REPO / entry["program"])


# ---- config validation ---------------------------------------------------------------------


def validate_config(config):
    """JSON-schema validation that fills in defaults, with the first error as one line."""
    schema = yaml.safe_load((SCHEMAS / "config.schema.yaml").read_text())
    # The method names come from the registry, so the schema cannot list them itself.
    schema["properties"]["benchmark"]["properties"]["methods"]["items"] = {
        "type": "string",
        "pattern": f"^{METHOD_PATTERN}$",
    }
    errors = schema_errors(config, schema)
    if errors:
        config_error(first_error_line(errors[0]))
    check_methods(config)
    check_paths(config)


def check_methods(config):
    for index, method in enumerate(config["benchmark"]["methods"]):
        parts = parse_method(method)
        kind = METHODS[parts["program"]]["model"]
        for name, entry in [
            (f"@{parts['variant']}", EXPORT_VARIANTS.get(parts["variant"]))
        ] + [(f"+{option}", OPTIONS[option]) for option in parts["options"]]:
            if entry and parts["program"] not in entry.get(
                "methods", [parts["program"]]
            ):
                config_error(
                    f"benchmark.methods[{index}]: {method}: {name} applies to {', '.join(entry['methods'])} only"
                )
        if not method_devices(method) & set(config["benchmark"]["devices"]):
            config_error(
                f"benchmark.methods[{index}]: {method} runs on {', '.join(sorted(method_devices(method)))} only, "
                f"and benchmark.devices is {', '.join(config['benchmark']['devices'])}"
            )
        if kind == "torch" and model_format(config) == "onnx":
            config_error(
                f"benchmark.methods[{index}]: {method} runs the transformers model, and model.local.path is an "
                "ONNX export alone: give the transformers directory, or leave the method out"
            )


def model_format(config):
    """onnx for a user's ONNX export alone (model.local.path holds model.onnx), else torch: a
    transformers model, which the pipeline exports itself."""
    model = config["model"]
    if (
        model["source"] == "local"
        and (Path(model["local"]["path"]) / "model.onnx").is_file()
    ):
        return "onnx"
    return "torch"


# The config's paths, by key. They become parts of Snakemake's file patterns and of command lines.
CONFIG_PATHS = (("results",), ("corpus", "file"), ("model", "local", "path"))


def check_paths(config):
    for keys in CONFIG_PATHS:
        parent = config
        for key in keys[:-1]:
            parent = parent.get(key) or {}
        path = parent.get(keys[-1])
        if not path:
            continue
        if "{" in path or "}" in path:
            config_error(
                f"{'.'.join(keys)}: {path}: braces are not allowed in paths (Snakemake reads them as wildcards)"
            )
        if path.startswith("-"):
            # Every program would take it for an option.
            parent[keys[-1]] = f"./{path}"
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


def script(name):
    """A timed program or a file it imports (scripts/)."""
    return str(REPO / "scripts" / name)


def step(name):
    """A pipeline step (workflow/scripts/); rules take it as an input so that editing it re-runs them."""
    return str(REPO / "workflow" / "scripts" / name)


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


def normalised_model():
    """The directory build_model.py writes, with model_info.json (the provenance) in it."""
    return model_dir(MODEL_FORMAT)


# ---- machines ------------------------------------------------------------------------------

MACHINE_FOLDER = "machines/{name}/"


def machines():
    """The machines of the config, each with `where`, the folder its cells' files go to under
    the results folder. Without `machines:` the one machine is the host Snakemake runs on, and
    its files stay where they always were (where = "")."""
    named = config["machines"]
    if not named:
        return [{"name": "local", "where": ""}]
    return [
        {**machine, "where": MACHINE_FOLDER.format(name=machine["name"])}
        for machine in named
    ]


def machine_at(where):
    return next(machine for machine in machines() if machine["where"] == where)


def machine_devices(machine):
    return machine.get("devices") or config["benchmark"]["devices"]


def on_scheduler(machine):
    """A machine with a partition is a kind of SLURM node; its cells run in SLURM jobs there."""
    return "partition" in machine


def machine_resources(kind):
    """SLURM resources of the jobs that must have a machine to themselves (timed cells, the
    roofline), from the machine's config: a whole node (--exclusive), its partition, account,
    time, memory, and a GPU for CUDA. Values that are not set are 0 or "", which the SLURM
    executor leaves out; without SLURM, Snakemake ignores them all."""

    def resource(wildcards):
        machine = machine_at(wildcards.where)
        if not on_scheduler(machine):
            return "" if kind == "gres" or kind.startswith("slurm") else 0
        gpu_job = getattr(
            wildcards, "device", "cuda"
        ) == "cuda" and "cuda" in machine_devices(machine)
        if kind == "slurm_extra":
            return " ".join(["--exclusive", machine.get("slurm_extra", "")]).strip()
        if kind == "gpu":
            return machine.get("gpus", 1) if gpu_job and "gres" not in machine else 0
        if kind == "gres":
            return machine.get("gres", "") if gpu_job else ""
        return machine.get(
            MACHINE_RESOURCE_KEYS[kind], "" if kind.startswith("slurm") else 0
        )

    return resource


# Snakemake resource -> key of a machine in the config.
MACHINE_RESOURCE_KEYS = {
    "slurm_partition": "partition",
    "slurm_account": "account",
    "cpus_per_task": "cpus",
    "mem_mb": "mem_mb",
    "runtime": "runtime",
}


def machine_threads(wildcards):
    """A timed job claims every core: locally all of Snakemake's, so it runs alone; on a node,
    the machine's cores (cpus), so SLURM's cpus-per-task matches."""
    return machine_at(wildcards.where).get("cpus", workflow.cores)


# ---- the grid ----------------------------------------------------------------------------

# Every file a cell produces, under the results folder. Rules take their output patterns from
# here and cell() fills them in, so a path is spelled once.
CELL_FILES = {
    "result": "{where}cells/{method}/{device}-bs{batch_size}.json",
    "predictions": "{where}predictions/{method}/{device}-bs{batch_size}.jsonl",
    "phases": "{where}phases/{method}/{device}-bs{batch_size}.json",
    "check": "{where}checks/{method}/{device}-bs{batch_size}.json",
    "log": "{where}logs/cells/{method}/{device}-bs{batch_size}.log",
    "check_log": "{where}logs/checks/{method}/{device}-bs{batch_size}.log",
}
CELL_WILDCARDS = {
    "where": f"({MACHINE_FOLDER.format(name='[A-Za-z0-9][A-Za-z0-9._-]*')})?",
    "method": METHOD_PATTERN,
    "device": "cpu|cuda",
    "batch_size": r"\d+",
}


def cell_file(kind):
    """The output pattern of one kind of cell file, for a rule."""
    return results(CELL_FILES[kind])


def cell(where, method, device, batch_size):
    """Everything about one timed cell: where it runs, what runs on what, where its files go."""
    machine = machine_at(where)
    keys = {
        "where": where,
        "method": method,
        "device": device,
        "batch_size": int(batch_size),
    }
    return {
        "name": f"{where}{method}/{device}-bs{batch_size}",
        "machine": machine["name"],
        **keys,
        **parse_method(method),
        "executable": method_program(method),
        "model": method_model(method),
        "dtype": method_dtype(method),
        # A scheduler's node has what its machine names; the host only what it has.
        "available": on_scheduler(machine) or device in DEVICES,
        **{
            kind: results(pattern.format(**keys))
            for kind, pattern in CELL_FILES.items()
        },
    }


def wildcard_cell(wildcards):
    return cell(
        wildcards.where, wildcards.method, wildcards.device, wildcards.batch_size
    )


def grid():
    """Every (machine, method, device, batch size) cell the config asks for that can be run."""
    bench = config["benchmark"]
    return [
        cell(machine["where"], method, device, batch_size)
        for machine in machines()
        for method in bench["methods"]
        for device in machine_devices(machine)
        if device in method_devices(method)
        for batch_size in bench["batch_sizes"]
    ]


def runnable(kind):
    """One kind of file (result, check, ...) of every cell this host can run."""
    return [c[kind] for c in grid() if c["available"]]


def unavailable_cells():
    return [c for c in grid() if not c["available"]]


def rooflines():
    """Each machine's roofline.json (its peaks are its own)."""
    return {m["name"]: results(f"{m['where']}roofline.json") for m in machines()}


# ---- inputs of rules ----


def cell_inputs(wildcards):
    """A cell depends on its method's code, its model and the corpus: editing ort-hf.py
    re-times only the ort-hf cells."""
    return method_inputs(wildcards.method)


def method_inputs(method):
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
        args += ["--architecture", tune["architecture"]]
        args += ["--train", TRAIN_SPLIT, "--dev", DEV_SPLIT]
    elif source == "random":
        args += [
            "--preset",
            model["random"]["preset"],
            "--seed",
            model["random"]["seed"],
        ]
        args += ["--train", TRAIN_SPLIT] if trains_a_tokenizer(model) else []
    elif source == "hub":
        args += ["--hub-id", model["hub"]["id"], "--revision", model["hub"]["revision"]]
    else:
        args += ["--path", model["local"]["path"]]
    if model["allow_pickle"]:
        args.append("--allow-pickle")
    return " ".join(shlex.quote(str(arg)) for arg in args)


TRAIN_SPLIT, DEV_SPLIT = "data/conll2003/train.jsonl", "data/conll2003/valid.jsonl"


def trains_a_tokenizer(model):
    """A family preset (<family>-tiny) trains its tokenizer on CoNLL-2003 train text."""
    return model["source"] == "random" and model["random"]["preset"].endswith("-tiny")


def model_build_inputs(wildcards):
    if config["model"]["source"] == "finetune":
        return [TRAIN_SPLIT, DEV_SPLIT]
    return [TRAIN_SPLIT] if trains_a_tokenizer(config["model"]) else []


validate_config(config)
MODEL_FORMAT = model_format(config)
REFERENCE_METHOD = REGISTRY["reference"][MODEL_FORMAT]
CONFIG_SHA256 = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
DEVICES = available_devices()
if unavailable_cells():
    skipped = sorted({c["device"] for c in unavailable_cells()})
    print(
        f"nerbench: device(s) {', '.join(skipped)} not available on this host: "
        f"{len(unavailable_cells())} cell(s) skipped",
        file=sys.stderr,
    )
