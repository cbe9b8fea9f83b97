#!/usr/bin/env python3
"""Print one value of the configuration as Snakemake will see it: the later files extend the
earlier ones key by key, and a key none of them sets has its default from the config schema.
The Makefile asks it for the results folder instead of parsing YAML in shell.

  config_value.py results config.yaml configs/smoke.yaml
"""

import argparse
from pathlib import Path

import yaml

from common import REPO


def merged(files: list[str]) -> dict:
    config: dict = {}
    for path in files:
        extend(config, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    return config


def extend(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            extend(base[key], value)
        else:
            base[key] = value


def value(config: dict, schema: dict, key: str):
    for part in key.split("."):
        schema = schema.get("properties", {}).get(part, {})
        config = config.get(part, {}) if isinstance(config, dict) else {}
    return config if config != {} else schema.get("default")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("key", help="a dotted key, e.g. results or model.name")
    parser.add_argument("files", nargs="+", help="config files, in the order Snakemake reads them")
    args = parser.parse_args()
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    print(value(merged(args.files), schema, args.key))


if __name__ == "__main__":
    main()
