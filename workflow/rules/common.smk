# What the rules share: the grid (the package workflow/nerbench, which the steps and the tests
# import too), paths, the resources and inputs of a timed cell, and the model build's arguments.

import json
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(workflow.basedir)
sys.path.insert(0, str(REPO / "workflow"))

import snakemake_scheduler  # noqa: E402

snakemake_scheduler.mend()  # one wake-up timer, not one per finished job (see the module)

from nerbench import layout, sources  # noqa: E402
from nerbench.config import ConfigError  # noqa: E402
from nerbench.grid import (  # noqa: E402
    BEST,
    CELL_FILES,
    MACHINE_FILES,
    MACHINE_FOLDER,
    MACHINE_NAME,
    ROUND_FILES,
    SERVING_FILES,
    Grid,
)
from nerbench.record import Status  # noqa: E402

try:
    GRID = Grid.from_config(config)
except ConfigError as error:
    sys.exit(error.line)
if refusal := GRID.timed_elsewhere():
    sys.exit(ConfigError(refusal).line)
REFERENCE = GRID.reference()


def results(path=""):
    return GRID.results(path)


def script(name):
    """A timed program or a file it imports (scripts/)."""
    return str(REPO / "scripts" / name)


def step(name):
    """A pipeline step (workflow/scripts/<stage>/<name>) and every file its code depends on
    (nerbench.sources): a rule takes them all as inputs, so that editing any of them re-runs it.
    """
    path = f"workflow/scripts/{name}"
    return {"script": str(REPO / path), "code": repo_paths(sources.dependencies(path))}


def repo_paths(paths):
    return [str(REPO / path) for path in paths]


def harness():
    """What every timed job runs around its program (the timing harness): editing any of it
    re-times every cell (docs/contributing.md)."""
    return {
        "script": str(REPO / sources.HARNESS[0]),
        "harness": repo_paths(sources.harness_files()),
    }


def write_manifest(path, manifest):
    Path(path).write_text(f"{manifest}\n")


def host_cores(wildcards=None):
    """Every core Snakemake may use (--cores): a job that claims them all runs alone. A cluster
    profile gives jobs rather than cores; its set-threads decides there."""
    return workflow.resource_settings.cores or 1


# ---- the cells ---------------------------------------------------------------------------------

CELL_WILDCARDS = {
    "where": f"({MACHINE_FOLDER.format(name=MACHINE_NAME)})?",
    "method": GRID.registry.wildcard_pattern,
    "device": "cpu|cuda",
    "batch_size": r"\d+",
}


def cell_file(kind):
    """The output pattern of one kind of cell file, for a rule."""
    return results(CELL_FILES[kind])


def wildcard_cell(wildcards):
    return GRID.cell_at(
        wildcards.where, wildcards.method, wildcards.device, wildcards.batch_size
    )


# ---- the serving cells -------------------------------------------------------------------------

SERVING_WILDCARDS = {
    "where": CELL_WILDCARDS["where"],
    "scenario": r"(offline|single-stream|server)(@[0-9]+x[0-9]+)?",
    "method": CELL_WILDCARDS["method"],
    "device": CELL_WILDCARDS["device"],
    "batch": rf"bs\d+|{BEST}",
}


def serving_file(kind):
    """The output pattern of one kind of serving-cell file, for a rule."""
    return results(SERVING_FILES[kind])


def serving_cell(wildcards):
    batch = wildcards.batch.removeprefix("bs")
    return GRID.cell_at(
        wildcards.where, wildcards.method, wildcards.device, batch, wildcards.scenario
    )


SERVE = "scripts/serve.py"  # the LoadGen harness a serving job runs its method in


def serve_code():
    """serve.py and every file it runs (nerbench.sources): editing any of it serves again."""
    return repo_paths(sources.code_dependencies(SERVE))


def serving_inputs(wildcards):
    """A serving cell's: its method's program, model and corpus, serve.py's code, and for a BEST
    batch size its method's process cells (the fastest gives the batch size)."""
    cell = serving_cell(wildcards)
    refuse_unplaceable(cell.machine)
    inputs = method_inputs(cell.method)
    inputs["serve"] = serve_code()
    inputs["best_of"] = best_of(cell)
    return inputs


def best_of(cell):
    return (
        [candidate.path("result") for candidate in GRID.best_candidates(cell)]
        if cell.batch_size == BEST
        else []
    )


def serving_command(wildcards):
    cell = serving_cell(wildcards)
    command = cell.serving_command(
        GRID.method_model(cell.method), GRID.corpus_text(), config["serving"]
    )
    return json.dumps(command)


def round_file(kind):
    """The output pattern of one kind of a round's file (benchmark.rounds > 1)."""
    return results(ROUND_FILES[kind])


def round_files(wildcards):
    """A cell's rounds' results."""
    cell = wildcard_cell(wildcards)
    return [cell.round_path("result", number) for number in range(GRID.rounds)]


def round_priority(wildcards):
    return GRID.round_priority(wildcard_cell(wildcards), int(wildcards.round))


# What the timed jobs need (corpus, models, exports, the Rust binary) is built before any round is
# timed: above every round's priority (the scheduler ranks by priority before cores), else a variant
# exported late would have all its rounds timed together at the end of the grid.
PREPARATION_PRIORITY = len(GRID.runnable()) * GRID.rounds + 1 if GRID.rounds > 1 else 0


def runnable(kind):
    """One kind of file (result, check, ...) of every cell this host can run that has it (a serving
    cell has no phases)."""
    return [cell.path(kind) for cell in GRID.runnable() if kind in cell.files]


def serving_overheads():
    """Each machine's serving harness costs, where the grid serves anything."""
    if not any(cell.serving for cell in GRID.runnable()):
        return []
    return [
        machine.path("serving_overhead", GRID.results()) for machine in GRID.machines
    ]


def hyperfine_version():
    """What times the cells is part of their measurement: a new hyperfine re-times them."""
    if not shutil.which("hyperfine"):
        return "none"
    done = subprocess.run(["hyperfine", "--version"], capture_output=True, text=True)
    return done.stdout.strip()


HYPERFINE = hyperfine_version()


def timing_settings(wildcards):
    return GRID.timing_settings(wildcard_cell(wildcards), HYPERFINE)


def program(method):
    """What a cell runs: a built program in the working directory, a script in the repository."""
    return method.executable if method.built else str(REPO / method.executable)


def cell_command(wildcards):
    """A timed job's command (nerbench.grid.Cell.command), as JSON: a cell's, or one round's."""
    cell = wildcard_cell(wildcards)
    files = {
        name: (
            cell.round_path(name, int(wildcards.round))
            if "round" in wildcards.keys()
            else cell.path(name)
        )
        for name in ("predictions", "phases")
    }
    model, corpus = GRID.method_model(cell.method), GRID.corpus_text()
    return json.dumps(cell.command(model, corpus, **files))


def cell_identity(wildcards):
    return json.dumps(wildcard_cell(wildcards).key._asdict())


def program_inputs(method):
    """What a method's predictions depend on: its code (its program and every file of the
    repository it imports: nerbench.sources), its model and the corpus. Editing ort-hf.py re-times
    only the ort-hf cells."""
    if method.built:
        code = [method.executable]
    else:
        code = repo_paths(sources.code_dependencies(method.executable))
    return {
        "sources": code,
        "model": GRID.method_model(method),
        "corpus": GRID.corpus_text(),
    }


def method_inputs(method):
    """A cell's inputs: its program's, and the results folder's corpus check, so that a bad
    corpus stops the run before any timing. The check gates the cells but is not part of their
    measurement (ancient: its being made again re-times nothing)."""
    return {**program_inputs(method), "corpus_checked": ancient(results("corpus.json"))}


def cell_inputs(wildcards):
    refuse_unplaceable(GRID.machine_at(wildcards.where))
    return method_inputs(GRID.registry.parse(wildcards.method))


def machine_inputs(wildcards):
    refuse_unplaceable(GRID.machine_at(wildcards.where))
    return []


def refuse_unplaceable(machine):
    """Under a cluster executor, a machine without a partition has no node of its own to time
    on; without one, a SLURM machine's cells and peaks would be timed on this host (and recorded
    as failed, or as the node's): stop with one line either way, before any job.
    """
    if not workflow.is_main_process:
        return  # a cluster job's own Snakemake, on the node the main process placed it on
    executor = workflow.executor_plugin
    local = executor is None or executor.common_settings.local_exec
    if local and machine.on_scheduler and not workflow.dryrun:
        sys.exit(
            ConfigError(
                f"machine {machine.name} runs on SLURM partition {machine.partition}, and this run has no cluster "
                "executor: its cells and peaks would be timed on this host. Run with --workflow-profile "
                "profiles/slurm (make bench PROFILE=slurm)"
            ).line
        )
    if local or machine.on_scheduler:
        return
    sys.exit(
        ConfigError(
            f"machine {machine.name} has no partition, and the {executor.name} executor would run its timed "
            "cells on shared nodes of the default partition: name each kind of node in machines: "
            "(partition and cpus), or run without the cluster profile"
        ).line
    )


# ---- where a timed job runs --------------------------------------------------------------------


def machine_threads(wildcards):
    """A timed job claims every core: on the host all of Snakemake's, so it runs alone whatever
    --cores; on a node, the machine's cores (cpus), so SLURM's cpus-per-task matches."""
    machine = GRID.machine_at(wildcards.where)
    return machine.entry["cpus"] if machine.on_scheduler else host_cores()


def machine_resources(kind):
    """SLURM resources of the jobs that must have a machine to themselves (timed cells, the
    roofline), from the machine's config: a whole node (--exclusive), its partition, account,
    time, memory, and a GPU for CUDA. Values that are not set are 0 or "", which the SLURM
    executor leaves out; without SLURM, Snakemake ignores them all."""

    def resource(wildcards):
        machine = GRID.machine_at(wildcards.where)
        unset = "" if kind == "gres" or kind.startswith("slurm") else 0
        if not machine.on_scheduler:
            return unset
        entry = machine.entry
        gpu_job = getattr(
            wildcards, "device", "cuda"
        ) == "cuda" and "cuda" in machine.devices(config["benchmark"]["devices"])
        if kind == "slurm_extra":
            return " ".join(["--exclusive", entry.get("slurm_extra", "")]).strip()
        if kind == "gpu":
            return entry.get("gpus", 1) if gpu_job and "gres" not in entry else 0
        if kind == "gres":
            return entry.get("gres", "") if gpu_job else ""
        if kind == "runtime":
            return GRID.job_runtime(machine)
        return entry.get(MACHINE_RESOURCE_KEYS[kind], unset)

    return resource


# Snakemake resource -> key of a machine in the config.
MACHINE_RESOURCE_KEYS = {
    "slurm_partition": "partition",
    "slurm_account": "account",
    "cpus_per_task": "cpus",
    "mem_mb": "mem_mb",
}


def quiet_start(key):
    """A measurement's conditions (benchmark.quiet_start_s, quiet_share) as a resource of its
    job, which Snakemake does not compare with the last run's (an input produced by the grid job
    would disable its check of the params): editing the quiet start re-measures nothing.
    """
    return lambda wildcards: str(config["benchmark"][key])


# ---- the model ---------------------------------------------------------------------------------


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
        args += ["--train", layout.TRAIN_SPLIT, "--dev", layout.DEV_SPLIT]
    elif source == "random":
        args += [
            "--preset",
            model["random"]["preset"],
            "--seed",
            model["random"]["seed"],
        ]
        args += ["--train", layout.TRAIN_SPLIT] if trains_a_tokenizer(model) else []
    elif source == "hub":
        args += ["--hub-id", model["hub"]["id"], "--revision", model["hub"]["revision"]]
    else:
        args += ["--path", model["local"]["path"]]
    if model["allow_pickle"]:
        args.append("--allow-pickle")
    return " ".join(shlex.quote(str(arg)) for arg in args)


def trains_a_tokenizer(model):
    """A family preset (<family>-tiny) trains its tokenizer on CoNLL-2003 train text."""
    return model["source"] == "random" and model["random"]["preset"].endswith("-tiny")


def model_build_inputs(wildcards):
    if config["model"]["source"] == "finetune":
        return [layout.TRAIN_SPLIT, layout.DEV_SPLIT]
    return [layout.TRAIN_SPLIT] if trains_a_tokenizer(config["model"]) else []


unserved = [
    GRID.unserved(name) for name in config["serving"]["methods"] if GRID.unserved(name)
]
if unserved and any(
    scenario != "process" for scenario in config["benchmark"]["scenarios"]
):
    print(
        f"nerbench: not served (serving.methods): {'; '.join(unserved)}",
        file=sys.stderr,
    )

if GRID.unavailable():
    reasons = Counter(cell.unavailable_reason for cell in GRID.unavailable())
    print(
        f"nerbench: {Status.NOT_AVAILABLE}, skipped: "
        + ", ".join(
            f"{count} cell(s): {why}" for why, count in sorted(reasons.items())
        ),
        file=sys.stderr,
    )


# The resources of every job that must have its machine to itself (a timed cell or round, the
# roofline), defined once.
TIMED_JOB_RESOURCES = {
    **{
        kind: machine_resources(kind)
        for kind in (
            "slurm_partition",
            "slurm_account",
            "slurm_extra",
            "cpus_per_task",
            "mem_mb",
            "runtime",
            "gpu",
            "gres",
        )
    },
    **{key: quiet_start(key) for key in ("quiet_start_s", "quiet_share")},
}
