#!/usr/bin/env python3
"""Compare two results directories (two machines, or before and after a change): one
side-by-side table of every cell measured in both, with the time ratio, its 95% interval and
Welch's t-test on the two cells' runs; "~" marks a cell whose difference is within noise
(p >= 0.05), and a last line counts the cells that got faster, slower or stayed within noise.

A cell is (machine, method, device, batch size). Machines are paired by name; where the two
folders share no machine name and each holds one machine, those two are paired (a run on one
host against a run on another). --pair A_MACHINE=B_MACHINE pairs others. The output says which
machines it paired and which it left out.

A machine drifts between grids by more than one grid's runs show. With --drift-pct, the drift of
one cell's time between two grids (what repeatability.py reports for compare, from repeated grids
on the machine), its variance is in every interval and test, so a change within it is "~".

  python workflow/scripts/compare.py results/before results/after
  python workflow/scripts/compare.py results/a results/b --pair epyc=xeon
  python workflow/scripts/compare.py results/before results/after --drift-pct 2.5
"""

import argparse
import sys
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from common import KEY_COLUMNS, describe_machine, flags, marks_legend, measured, read_summary
from uncertainty import ALPHA, drift_percentage, parse_times, ratio_interval, welch_p

CELL = ["method", "device", "batch_size"]  # a cell's key within one machine


def load(directory: Path) -> pd.DataFrame:
    path = directory / "summary.csv"
    if not path.is_file():
        sys.exit(f"compare.py: error: {path}: missing (run the pipeline, or `make tables`, there first)")
    summary = read_summary(path)
    if "times" not in summary.columns:
        sys.exit(f"compare.py: error: {path}: no `times` column (written by an older nerbench: `make tables` there)")
    done = measured(summary)
    return done.assign(flags=[flags(row) for _, row in done.iterrows()])


def machine_pairs(a: pd.DataFrame, b: pd.DataFrame, asked: list[str]) -> dict[str, str]:
    """A's machine -> B's machine."""
    names_a, names_b = list(dict.fromkeys(a["machine"])), list(dict.fromkeys(b["machine"]))
    if asked:
        pairs = dict(pair.split("=", 1) for pair in asked)
        for name_a, name_b in pairs.items():
            if name_a not in names_a or name_b not in names_b:
                sys.exit(
                    f"compare.py: error: --pair {name_a}={name_b}: A has {', '.join(names_a) or 'no machine'}, "
                    f"B has {', '.join(names_b) or 'no machine'}"
                )
        return pairs
    shared = [name for name in names_a if name in names_b]
    if shared:
        return {name: name for name in shared}
    if len(names_a) == 1 and len(names_b) == 1:
        return {names_a[0]: names_b[0]}
    sys.exit(
        f"compare.py: error: A's machines ({', '.join(names_a)}) and B's ({', '.join(names_b)}) share no name: "
        "pair them with --pair A_MACHINE=B_MACHINE"
    )


def compare(before: pd.DataFrame, after: pd.DataFrame, pairs: dict[str, str], drift_pct: float = 0.0) -> pd.DataFrame:
    columns = KEY_COLUMNS + ["mean", "stddev", "agreement_pct", "times", "flags"]
    left = before[before["machine"].isin(pairs)][columns].rename(columns={"machine": "machine_a"})
    left["machine_b"] = left["machine_a"].map(pairs)
    right = after[columns].rename(columns={"machine": "machine_b"})
    joined = left.merge(right, on=["machine_b", *CELL], suffixes=("_a", "_b"))
    runs_a, runs_b = joined["times_a"].map(parse_times), joined["times_b"].map(parse_times)
    intervals = [ratio_interval(a, b, drift_pct) for a, b in zip(runs_a, runs_b, strict=True)]
    joined["speedup"] = [ratio for ratio, _, _ in intervals]
    joined["speedup_low"] = [low for _, low, _ in intervals]
    joined["speedup_high"] = [high for _, _, high in intervals]
    joined["p"] = [welch_p(a, b, drift_pct) for a, b in zip(runs_a, runs_b, strict=True)]
    joined["verdict"] = [verdict(r) for r in joined.itertuples()]
    return joined.sort_values(["machine_a", *CELL])


def verdict(row) -> str:
    """faster or slower (B against A), ~ within noise, ? too few runs to tell."""
    if row.p is None or pd.isna(row.p):
        return "?"
    if row.p >= ALPHA:
        return "~"
    return "faster" if row.speedup > 1 else "slower"


def speedup_text(row) -> str:
    interval = "" if pd.isna(row.speedup_low) else f" [{row.speedup_low:.2f}–{row.speedup_high:.2f}]"
    mark = {"~": " ~", "?": " ?"}.get(row.verdict, "")
    return f"{row.speedup:.2f}×{interval}{mark}"


def describe(summary: pd.DataFrame, machine: str) -> str:
    rows = summary[summary["machine"] == machine]
    return describe_machine(rows.iloc[0]) if not rows.empty else "nothing measured"


def seconds(mean, stddev) -> str:
    return f"{mean:.3f} ± {0 if pd.isna(stddev) else stddev:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--pair", action="append", default=[], metavar="A_MACHINE=B_MACHINE")
    parser.add_argument(
        "--drift-pct", type=drift_percentage, default=0.0, help="a cell's drift between two grids, in percent"
    )
    args = parser.parse_args()
    a, b = load(args.a), load(args.b)
    pairs = machine_pairs(a, b, args.pair)
    joined = compare(a, b, pairs, args.drift_pct)
    print(f"A: {args.a}\nB: {args.b}\n")
    if args.drift_pct:
        print(f"Intervals and tests hold a drift between grids of {args.drift_pct:g}%.\n")
    for name_a, name_b in pairs.items():
        print(f"Paired A's `{name_a}` ({describe(a, name_a)})\n  with B's `{name_b}` ({describe(b, name_b)})")
    left_out = [f"A's `{m}`" for m in dict.fromkeys(a["machine"]) if m not in pairs]
    left_out += [f"B's `{m}`" for m in dict.fromkeys(b["machine"]) if m not in pairs.values()]
    if left_out:
        print(f"Left out (no machine to pair with): {', '.join(left_out)}")
    several = len(pairs) > 1
    rows = [
        ([f"{r.machine_a} → {r.machine_b}"] if several else [])
        + [f"`{r.method}`", r.device, r.batch_size, seconds(r.mean_a, r.stddev_a) + r.flags_a]
        + [seconds(r.mean_b, r.stddev_b) + r.flags_b]
        + [speedup_text(r), "" if r.p is None or pd.isna(r.p) else f"{r.p:.3f}"]
        for r in joined.itertuples()
    ]
    headers = (["Machines"] if several else []) + ["Method", "Device", "Batch", "A [s]", "B [s]"]
    headers += ["B faster by (A/B) [95%]", "Welch p"]
    print("\n" + tabulate(rows, headers=headers, tablefmt="github"))
    if (joined["flags_a"] + joined["flags_b"]).any():
        print(f"\n{marks_legend()}")
    counts = joined["verdict"].value_counts()
    print(
        f"\n{len(joined)} cells: {counts.get('faster', 0)} faster in B, {counts.get('slower', 0)} slower, "
        f"{counts.get('~', 0)} within noise (p ≥ {ALPHA}), {counts.get('?', 0)} with too few runs to tell."
    )
    paired_a = set(map(tuple, joined[["machine_a", *CELL]].values))
    unpaired = len(a) + len(b) - 2 * len(paired_a)
    if unpaired:
        print(f"\n{unpaired} cell(s) measured in only one of the two are left out.")


if __name__ == "__main__":
    main()
