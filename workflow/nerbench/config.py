"""The config's validation: its schema (workflow/schemas/config.schema.yaml) with defaults filled
in, then what a schema cannot say (methods that cannot run, paths, machines). Every problem is
one line naming the key, raised before any job runs."""

import copy
import json
import math
from pathlib import Path

from nerbench import jobs, layout, schema
from nerbench.errors import ConfigError  # noqa: F401  (the config's errors, imported from here)
from nerbench.registry import Registry

# A machine without a partition is the host Snakemake runs on; these keys are a SLURM node's.
# The host's CPU features are read from its CPU: only a SLURM machine's are given (cpu_features).
SCHEDULER_KEYS = ("account", "cpus", "mem_mb", "runtime", "gpus", "gres", "slurm_extra", "cpu_features")
# The config's paths, by key. They become parts of Snakemake's file patterns and of command lines.
CONFIG_PATHS = (("results",), ("corpus", "file"), ("model", "local", "path"))
CONFIG_SCHEMA = "workflow/schemas/config.schema.yaml"


def validate(config: dict, registry: Registry | None = None) -> dict:
    """Fill in the defaults (in place) and check everything before any job runs; relative paths
    are taken from the working directory. Returns the config."""
    registry = registry or Registry.load()
    config_schema = schema.load_schema(CONFIG_SCHEMA)
    # The method names come from the registry, so the schema cannot list them itself.
    for section, key in (("benchmark", "methods"), ("benchmark", "more_methods"), ("serving", "methods")):
        config_schema["properties"][section]["properties"][key]["items"] = {
            "type": "string",
            "pattern": f"^{registry.wildcard_pattern}$",
        }
    problem = schema.first_error(config, config_schema)
    if problem:
        raise ConfigError(problem)
    bench = config["benchmark"]
    bench["methods"] = list(dict.fromkeys([*bench["methods"], *bench["more_methods"]]))
    check_methods(config, registry)
    check_paths(config)
    check_machines(config)
    return config


def validated(config: dict, registry: Registry | None = None) -> dict:
    """A validated copy, the given config left as it was."""
    return validate(copy.deepcopy(config), registry)


def model_format(config: dict) -> str:
    """onnx for a user's ONNX export alone (model.local.path holds model.onnx), else torch: a
    transformers model, which the pipeline exports itself."""
    model = config["model"]
    if model["source"] == "local" and (Path(model["local"]["path"]) / "model.onnx").is_file():
        return "onnx"
    return "torch"


def known_model_type(config: dict) -> tuple[str, str] | None:
    """(config.json model_type, the config key that says so) where the config tells before the
    model is built: a fine-tuned architecture, a random preset (<family>-tiny, else the DistilBERT
    shapes), a local directory's config.json; a hub model is known once downloaded."""
    model = config["model"]
    if model["source"] == "finetune":
        return model["finetune"]["architecture"], "model.finetune.architecture"
    if model["source"] == "random":
        preset = model["random"]["preset"]
        return (preset.removesuffix("-tiny") if preset.endswith("-tiny") else "distilbert"), "model.random.preset"
    if model["source"] == "local":
        try:
            found = json.loads((Path(model["local"]["path"]) / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # check_paths says what is wrong with the directory
        if isinstance(found, dict) and isinstance(found.get("model_type"), str):
            return found["model_type"], "model.local.path"
    return None


def with_defaults(config: dict) -> dict:
    """A config validated by an older nerbench (a manifest's) with the keys it did not know at
    their defaults, in place; what it did know is taken as it is."""
    schema.errors(config, schema.load_schema(CONFIG_SCHEMA))
    return config


def check_methods(config: dict, registry: Registry) -> None:
    known = known_model_type(config)  # read once: a local model's config.json is a file
    bench = config["benchmark"]
    for index, name in enumerate(bench["methods"]):
        check_method(config, registry, registry.parse(name), f"benchmark.methods[{index}]: {name}", known)
    # A method served at its best batch size is one of benchmark.methods, checked above (the grid
    # leaves out and names any that is not); one served at given batch sizes is checked here.
    if "best" not in config["serving"]["batch_sizes"]:
        for index, name in enumerate(config["serving"]["methods"]):
            check_method(config, registry, registry.parse(name), f"serving.methods[{index}]: {name}", known)
    check_serving(config, registry)


def check_serving(config: dict, registry: Registry) -> None:
    """Serving scenarios need methods to serve; a BEST batch size needs each method's process cells."""
    bench, serving = config["benchmark"], config["serving"]
    scenarios = [scenario for scenario in bench["scenarios"] if scenario != "process"]
    if scenarios and not serving["methods"]:
        raise ConfigError(f"benchmark.scenarios: {', '.join(scenarios)} needs the methods to serve: serving.methods")
    for index, name in enumerate(serving["methods"] if scenarios else []):
        method = registry.parse(name)
        if not method.scenarios & set(scenarios):
            raise ConfigError(
                f"serving.methods[{index}]: {name} can be timed in {', '.join(sorted(method.scenarios))} only"
            )


def check_method(config: dict, registry: Registry, method, where: str, known) -> None:
    """One method of benchmark.methods or serving.methods: its parts apply, it runs on a device the
    grid has, it reads a model the config gives."""
    bench = config["benchmark"]
    problem = registry.misapplied(method)
    if problem:
        raise ConfigError(f"{where}: {problem}")
    if not method.devices & set(bench["devices"]):
        raise ConfigError(
            f"{where} runs on {', '.join(sorted(method.devices))} only, "
            f"and benchmark.devices is {', '.join(bench['devices'])}"
        )
    if method.model_kind != "onnx" and model_format(config) == "onnx":
        raise ConfigError(
            f"{where} runs the transformers model{' (converted)' if method.model_kind != 'torch' else ''}, "
            "and model.local.path is an ONNX export alone: give the transformers directory, or leave the method out"
        )
    if known and not method.runs_model_type(known[0]):
        model_type, key = known
        raise ConfigError(
            f"{where} runs models of type {', '.join(method.entry['model_types'])} only; "
            f"{key} gives one of type {model_type}"
        )


def check_paths(config: dict) -> None:
    for keys in CONFIG_PATHS:
        parent = config
        for key in keys[:-1]:
            parent = parent.get(key) or {}
        path = parent.get(keys[-1])
        if not path:
            continue
        name = ".".join(keys)
        if "{" in path or "}" in path:
            raise ConfigError(f"{name}: {path}: braces are not allowed in paths (Snakemake reads them as wildcards)")
        if path.startswith("-"):
            # Every program would take it for an option.
            parent[keys[-1]] = path = f"./{path}"
        owner = layout.owned_by_the_pipeline(path, config["results"]) if keys != ("results",) else None
        if owner:
            raise ConfigError(
                f"{name}: {path}: inside {owner}, which the pipeline writes (and may remove): keep your files elsewhere"
            )
    if config["corpus"]["file"] is not None:
        check_corpus(config["corpus"]["file"])
    model = config["model"]
    if model["source"] == "local" and not (Path(model["local"]["path"]) / "config.json").is_file():
        raise ConfigError(f"model.local.path: {model['local']['path']}: not a model directory (no config.json)")


def check_corpus(path: str) -> None:
    """Read the user's corpus as every method will, so a bad file stops the run here."""
    layout.nerlib_importable()
    from nerlib.corpus import CorpusError, read_sentences

    if not Path(path).is_file():
        raise ConfigError(f"corpus.file: {path}: no such file")
    try:
        read_sentences(path)
    except CorpusError as error:
        raise ConfigError(f"corpus.file: {error}") from None


def check_machines(config: dict) -> None:
    seen = {}
    timeout_s, quiet_s = config["benchmark"]["timeout_s"], config["benchmark"]["quiet_start_s"]
    for index, machine in enumerate(config["machines"]):
        where = f"machines[{index}]"
        if machine["name"] in seen:
            raise ConfigError(
                f"{where}.name: {machine['name']}: also the name of machines[{seen[machine['name']]}] "
                "(a cell's files are kept by machine name)"
            )
        seen[machine["name"]] = index
        if "partition" not in machine:
            for key in SCHEDULER_KEYS:
                if key in machine:
                    raise ConfigError(
                        f"{where}.{key}: only a SLURM machine (one with a partition) takes {key}; a machine "
                        "without one is the host Snakemake runs on, and its timed cells have it to themselves"
                    )
        elif "runtime" in machine and machine["runtime"] * 60 < jobs.cell_job_seconds(timeout_s, quiet_s):
            raise ConfigError(
                f"{where}.runtime: {machine['runtime']} min leaves no room for benchmark.quiet_start_s ({quiet_s} s), "
                f"benchmark.timeout_s ({timeout_s} s), the re-run that shows why a cell failed (up to "
                f"{min(timeout_s, jobs.FAILURE_RERUN_S)} s) and the job's start-up ({jobs.JOB_STARTUP_S} s): "
                "SLURM would kill a hung cell before it is recorded; give at least "
                f"{minimum_runtime(timeout_s, quiet_s)}"
            )
    hosts = [index for index, machine in enumerate(config["machines"]) if "partition" not in machine]
    if len(hosts) > 1:
        raise ConfigError(
            f"machines[{hosts[1]}]: {config['machines'][hosts[1]]['name']} has no partition, nor has "
            f"machines[{hosts[0]}]: a machine without one is the host Snakemake runs on, which would time the "
            "same grid twice (give each kind of SLURM node its partition)"
        )


def minimum_runtime(timeout_s: int, quiet_start_s: int = 0) -> int:
    """The least SLURM time limit of a timed cell's job, in minutes."""
    return math.ceil(jobs.cell_job_seconds(timeout_s, quiet_start_s) / 60)


def extend(base: dict, extra: dict) -> dict:
    """Snakemake's rule for a further config file: extend key by key, replacing other values."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            extend(base[key], value)
        else:
            base[key] = value
    return base


def load(files: list[str | Path]) -> dict:
    """The config files merged as Snakemake merges them (config.yaml first), not yet validated."""
    import yaml

    config: dict = {}
    for path in files:
        extend(config, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    return config
