#!/usr/bin/env python3
"""Compare two results directories (two machines, or before and after a change): one
side-by-side table of every cell measured in both, with the time ratio.

  python workflow/scripts/compare.py results/before results/after
"""

import argparse
import sys
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from common import describe_machine, measured, read_summary

KEY = ["method", "device", "batch_size"]


def load(directory: Path) -> pd.DataFrame:
    path = directory / "summary.csv"
    if not path.is_file():
        sys.exit(f"compare.py: error: {path}: missing (run the pipeline, or `make tables`, there first)")
    return measured(read_summary(path))


def machine(summary: pd.DataFrame) -> str:
    return describe_machine(summary.iloc[0]) if not summary.empty else "nothing measured"


def compare(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    columns = KEY + ["mean", "stddev", "agreement_pct"]
    joined = before[columns].merge(after[columns], on=KEY, suffixes=("_a", "_b"))
    joined["speedup"] = joined["mean_a"] / joined["mean_b"]
    return joined.sort_values(KEY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    a, b = load(args.a), load(args.b)
    joined = compare(a, b)
    print(f"A: {args.a} ({machine(a)})\nB: {args.b} ({machine(b)})\n")
    rows = [
        [
            f"`{r.method}`",
            r.device,
            r.batch_size,
            f"{r.mean_a:.3f} ± {0 if pd.isna(r.stddev_a) else r.stddev_a:.3f}",
            f"{r.mean_b:.3f} ± {0 if pd.isna(r.stddev_b) else r.stddev_b:.3f}",
            f"{r.speedup:.2f}×",
        ]
        for r in joined.itertuples()
    ]
    print(
        tabulate(rows, headers=["Method", "Device", "Batch", "A [s]", "B [s]", "B faster by (A/B)"], tablefmt="github")
    )
    only = set(map(tuple, a[KEY].values)) ^ set(map(tuple, b[KEY].values))
    if only:
        print(f"\n{len(only)} cell(s) measured in only one of the two are left out.")


if __name__ == "__main__":
    main()
