#!/usr/bin/env python3
"""Ask the grid what Snakemake will see, for the Makefile and for people: one value of the
config, the result files of one cell, the methods that run a model type, MODEL='s config, the
plan. The config files extend one another key by key, as Snakemake reads them; what none sets has
the schema's default. Errors are one line.

  query.py value results config.yaml configs/smoke.yaml
  query.py cell --machine local --method ort-hf --device cpu --batch-size 8 config.yaml
                                        (with benchmark.rounds > 1: its rounds' files, one a line)
  query.py methods --model-type electra config.yaml configs/smoke.yaml
                                        (the config's methods that run such a model, a YAML list)
  query.py model /data/my-ner config.yaml   (MODEL=: a config of the model's own, written beside its
  query.py model hub:org/name@main config.yaml     results; prints its path)
  query.py plan config.yaml               (what `make bench` will do, before it starts)
"""

import argparse
import copy
import hashlib
import re
import statistics
import sys
from pathlib import Path

import common  # noqa: F401  (puts the grid package on the path)
from nerbench.config import ConfigError, extend, load
from nerbench.grid import BEST, CellKey, Grid
from nerbench.record import CellRecord


def value(config: dict, key: str):
    for part in key.split("."):
        if not isinstance(config, dict) or part not in config:
            raise ConfigError(f"{key}: no such key")
        config = config[part]
    return config


def cell_files(grid: Grid, args) -> str:
    """The files to time again for one cell."""
    if args.batch_size != BEST and not args.batch_size.isdigit():
        raise ConfigError(f"BS={args.batch_size}: a batch size is a number, or best (a serving cell's)")
    batch_size = args.batch_size if args.batch_size == BEST else int(args.batch_size)
    key = CellKey(args.machine or grid.machines[0].name, args.method, args.device, batch_size, args.scenario)
    if key.machine not in [machine.name for machine in grid.machines]:
        names = ", ".join(machine.name for machine in grid.machines)
        raise ConfigError(f"MACHINE={key.machine}: not a machine of the config (it has: {names})")
    if args.machine is None and grid.several_machines():
        names = ", ".join(machine.name for machine in grid.machines)
        raise ConfigError(f"the config has several machines ({names}): say which with MACHINE=")
    try:
        grid.registry.parse(key.method)
    except ValueError as error:
        raise ConfigError(f"METHOD={key.method}: {error}") from None
    cell = grid.cell(key)
    if cell not in grid.cells:
        where = (
            "serving.methods, batch_sizes, parallelism" if cell.serving else "benchmark.methods, devices, batch_sizes"
        )
        raise ConfigError(f"{cell.label} is not a cell of the config's grid ({where})")
    if grid.rounds > 1 and not cell.serving:  # its timed files are its rounds'
        return "\n".join(cell.round_path("result", number) for number in range(grid.rounds))
    return cell.path("result")


def methods_for(grid: Grid, model_type: str) -> str:
    """benchmark.methods without those that do not run the model type, as Snakemake's --config reads a list."""
    kept = [
        name for name in grid.config["benchmark"]["methods"] if grid.registry.parse(name).runs_model_type(model_type)
    ]
    return "[" + ", ".join(kept) + "]"


def model_config(spec: str, files: list[str]) -> Path:
    """MODEL=: the config's model replaced by a local folder (an existing directory wins) or a Hub
    model (hub:org/name[@revision]), its results in a folder of their own under the config's, so
    they never land on the config's own model's cells. Written as a config file in that folder."""
    base = Grid.from_config(load(files)).config
    folder = Path(spec).expanduser()
    if folder.is_dir():
        where = str(folder.resolve())
        name = re.sub(r"[^A-Za-z0-9._-]", "-", folder.resolve().name).lstrip("._-") or "model"
        model = {"source": "local", "local": {"path": where}}
    elif spec.startswith("hub:"):
        repo, _, revision = spec.removeprefix("hub:").partition("@")
        where, name = f"{repo}@{revision or 'main'}", repo.replace("/", "--")
        model = {"source": "hub", "hub": {"id": repo, "revision": revision or "main"}}
    else:
        raise ConfigError(f"MODEL={spec}: no such directory (a Hub model is MODEL=hub:org/name[@revision])")
    # The name holds a hash of where the model comes from: two folders of one name (checkpoint-500),
    # two revisions of one Hub model, never share data/models/NAME or their results.
    name += "-" + hashlib.sha256(where.encode()).hexdigest()[:6]
    results = f"{base['results']}/models/{name}"
    # Every model key the config could carry over from its own model is given.
    override = {"results": results, "model": {"name": name, **model, "allow_pickle": False}}
    try:
        Grid.from_config(extend(load(files), copy.deepcopy(override)))
    except ConfigError as error:
        raise ConfigError(f"MODEL={spec}: {error}") from None
    path = Path(results) / "model.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    import yaml

    path.write_text(f"# MODEL={spec} (make bench MODEL=...): written by workflow/scripts/query.py\n")
    with path.open("a") as out:
        yaml.safe_dump(override, out, sort_keys=False)
    return path


BUILDS = {
    "finetune": "fine-tuned from MiniLM on CoNLL-2003 train first",
    "random": "made with random weights first",
    "hub": "downloaded from the Hub first",
    "local": "copied from model.local.path first",
}


def plan(grid: Grid, files: list[str]) -> str:
    """What the run will do, before it starts: the model, the cells, how long, where an earlier run
    of the same cells in the results folder says."""
    model = grid.config["model"]
    built = (Path(grid.normalised_model()) / "model_info.json").is_file()
    lines = [f"nerbench plan ({' + '.join(files)}):"]
    lines.append(f"  model {model['name']}: {'built already' if built else BUILDS[model['source']]}")
    cells = grid.runnable()
    serving = sum(cell.serving for cell in cells)
    machines = sorted({cell.machine.name for cell in cells})
    lines.append(
        f"  cells: {len(cells) - serving} process, {serving} serving on {', '.join(machines) or 'no machine'}"
        f"; {len(grid.unavailable())} not runnable here (the tables say why)"
    )
    walls: dict[bool, list[float]] = {False: [], True: []}
    missing = {False: 0, True: 0}
    for cell in cells:
        record = CellRecord.read(cell.path("result")) if Path(cell.path("result")).is_file() else None
        if record and record.wall_seconds:
            walls[cell.serving].append(record.wall_seconds)
        else:
            missing[cell.serving] += 1
    done = sum(len(found) for found in walls.values())
    lines.append(
        f"  {done} of them have a result in {grid.results()}/ (Snakemake re-times one whose code, model or "
        "settings changed; the others are kept)"
    )
    if not done:
        lines.append("  time: no estimate (no cell of this grid has a result here to go by)")
        return "\n".join(lines)
    took = sum(sum(found) for found in walls.values()) / 60
    left = sum(missing[kind] * statistics.median(walls[kind]) for kind in walls if walls[kind]) / 60
    unknown = sum(missing[kind] for kind in walls if not walls[kind])
    text = f"  time: those took {took:.0f} min when timed; the {sum(missing.values())} without a result, about "
    text += f"{left:.0f} min more at their kind's median"
    lines.append(text + (f" ({unknown} of a kind never timed here: not counted)" if unknown else ""))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    value_parser = commands.add_parser("value", help="one value of the config, by its dotted key")
    value_parser.add_argument("key", help="a dotted key, e.g. results or model.name")
    cell_parser = commands.add_parser("cell", help="the timed files of one cell")
    cell_parser.add_argument("--machine", help="its machine (the config's only one where left out)")
    cell_parser.add_argument("--method", required=True)
    cell_parser.add_argument("--device", required=True)
    cell_parser.add_argument("--batch-size", required=True, help="a number, or best (a serving cell's)")
    cell_parser.add_argument("--scenario", default="process", help="process, or a serving scenario[@WxT]")
    methods_parser = commands.add_parser("methods", help="the methods that run a model type")
    methods_parser.add_argument("--model-type", required=True, help="config.json's model_type, e.g. electra")
    model_parser = commands.add_parser("model", help="write MODEL='s config beside its results; print its path")
    model_parser.add_argument("model", help="a model folder, or hub:org/name[@revision]")
    plan_parser = commands.add_parser("plan", help="what the run will do")
    for command in (value_parser, cell_parser, methods_parser, model_parser, plan_parser):
        command.add_argument("files", nargs="+", help="config files, in the order Snakemake reads them")
    args = parser.parse_args()
    try:
        if args.command == "model":
            print(model_config(args.model, args.files))
            return
        grid = Grid.from_config(load(args.files))
        if args.command == "plan":
            print(plan(grid, args.files))
        elif args.command == "value":
            print(value(grid.config, args.key))
        elif args.command == "methods":
            print(methods_for(grid, args.model_type))
        else:
            print(cell_files(grid, args))
    except ConfigError as error:
        sys.exit(error.line)


if __name__ == "__main__":
    main()
