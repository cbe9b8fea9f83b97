#!/usr/bin/env python3
"""Ask the grid what Snakemake will see, for the Makefile and for people: one value of the
config, or the result file of one cell. The config files extend one another key by key, as
Snakemake reads them; what none sets has the schema's default. Errors are one line.

  query.py value results config.yaml configs/smoke.yaml
  query.py cell --machine local --method ort-hf --device cpu --batch-size 8 config.yaml
                                        (with benchmark.rounds > 1: its rounds' files, one a line)
  query.py methods --model-type electra config.yaml configs/smoke.yaml
                                        (the config's methods that run such a model, a YAML list)
"""

import argparse
import sys

import common  # noqa: F401  (puts the grid package on the path)
from nerbench.config import ConfigError, load
from nerbench.grid import CellKey, Grid


def value(config: dict, key: str):
    for part in key.split("."):
        if not isinstance(config, dict) or part not in config:
            raise ConfigError(f"{key}: no such key")
        config = config[part]
    return config


def cell_files(grid: Grid, args) -> str:
    """The files to time again for one cell."""
    key = CellKey(args.machine or grid.machines[0].name, args.method, args.device, args.batch_size)
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
        raise ConfigError(f"{cell.label} is not a cell of the config's grid (benchmark.methods, devices, batch_sizes)")
    if grid.rounds > 1:  # its timed files are its rounds'
        return "\n".join(cell.round_path("result", number) for number in range(grid.rounds))
    return cell.path("result")


def methods_for(grid: Grid, model_type: str) -> str:
    """benchmark.methods without those that do not run the model type, as Snakemake's --config reads a list."""
    kept = [
        name for name in grid.config["benchmark"]["methods"] if grid.registry.parse(name).runs_model_type(model_type)
    ]
    return "[" + ", ".join(kept) + "]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    value_parser = commands.add_parser("value", help="one value of the config, by its dotted key")
    value_parser.add_argument("key", help="a dotted key, e.g. results or model.name")
    cell_parser = commands.add_parser("cell", help="the timed files of one cell")
    cell_parser.add_argument("--machine", help="its machine (the config's only one where left out)")
    cell_parser.add_argument("--method", required=True)
    cell_parser.add_argument("--device", required=True)
    cell_parser.add_argument("--batch-size", type=int, required=True)
    methods_parser = commands.add_parser("methods", help="the methods that run a model type")
    methods_parser.add_argument("--model-type", required=True, help="config.json's model_type, e.g. electra")
    for command in (value_parser, cell_parser, methods_parser):
        command.add_argument("files", nargs="+", help="config files, in the order Snakemake reads them")
    args = parser.parse_args()
    try:
        grid = Grid.from_config(load(args.files))
        if args.command == "value":
            print(value(grid.config, args.key))
        elif args.command == "methods":
            print(methods_for(grid, args.model_type))
        else:
            print(cell_files(grid, args))
    except ConfigError as error:
        sys.exit(error.line)


if __name__ == "__main__":
    main()
