#!/usr/bin/env python3
"""One row per encoder family from the smoke grid run on each family's random-weight preset
(`make families`): which methods ran, whether the fp32 methods agreed, and how much faster the
fastest ONNX method was than baseline.py at the same batch size.

  family_table.py results/families/*/summary.csv
"""

import argparse
import sys
from pathlib import Path

from tabulate import tabulate

from frames import measured, read_summary
from nerbench.registry import Registry


def family_row(summary_path: Path, registry: Registry, onnx_methods: set[str]) -> list:
    summary = read_summary(summary_path)
    done = measured(summary)
    ran = f"{done['method'].nunique()}/{summary['method'].nunique()}"
    fp32 = done[done["dtype"] == "fp32"]
    agreement = f"{fp32['agreement_pct'].min():.2f}%" if not fp32.empty else "n/a"
    best = ""
    baseline = done[done["method"] == "baseline"].set_index("batch_size")["mean"]
    onnx = done[[registry.parse(method).program in onnx_methods for method in done["method"]]]
    if not onnx.empty and not baseline.empty:
        onnx = onnx[onnx["batch_size"].isin(baseline.index)]
        fastest = onnx.loc[onnx["mean"].idxmin()]
        ratio = baseline[fastest["batch_size"]] / fastest["mean"]
        best = f"`{fastest['method']}` {ratio:.1f}× (bs {fastest['batch_size']})"
    return [summary_path.parent.name, ran, agreement, best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("summaries", nargs="+", type=Path)
    args = parser.parse_args()
    missing = [str(path) for path in args.summaries if not path.is_file()]
    if missing:  # a dry run (SNAKEMAKE_ARGS=-n) plans the families and makes no summary
        sys.exit(f"family_table.py: error: {', '.join(missing)}: missing (the families' grids have not run)")
    registry = Registry.load()
    onnx_methods = {name for name, entry in registry.methods.items() if entry["model"] == "onnx"}
    rows = [family_row(path, registry, onnx_methods) for path in args.summaries]
    headers = ["Family", "Methods that ran", "fp32 agreement (lowest)", "Fastest ONNX method vs baseline"]
    print(tabulate(rows, headers=headers, tablefmt="github"))


if __name__ == "__main__":
    main()
