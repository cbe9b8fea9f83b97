#!/usr/bin/env python3
"""Compare two results directories (two machines, or before and after a change): one
side-by-side table of every cell measured in both, with the time ratio, its 95% interval and
Welch's t-test on the two cells' runs (their round means, paired, where timed in rounds); "~" marks
a cell whose difference is within noise after Holm's correction over every pair compared (so two
folders of the same grid report no change at all 95% of the time), and a last line counts the
cells that got faster, slower or stayed within noise.

A cell is (machine, method, device, batch size). Machines are paired by name; where the two
folders share no machine name and each holds one machine, those two are paired (a run on one
host against a run on another). --pair A_MACHINE=B_MACHINE pairs others. The output says which
machines it paired and which it left out.

A machine drifts between grids by more than one grid's runs show. With --drift-pct, the drift of
one cell's time between two grids (what repeatability.py reports for compare, from repeated grids
on the machine), its variance is in every interval and test, so a change within it is "~".

  python workflow/scripts/report/compare.py results/before results/after
  python workflow/scripts/report/compare.py results/a results/b --pair epyc=xeon
  python workflow/scripts/report/compare.py results/before results/after --drift-pct 2.5
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

import common  # noqa: F401  (puts the grid package on the path)
from nerbench.record import Status, SummaryRow, read_rows, serving_figure
from nerbench.stats import ALPHA, drift_percentage, holm, observations, ratio_interval, welch_p
from nerbench.trust import flags, marks_legend


@dataclass
class Pair:
    """A cell measured in both folders: A's row and B's."""

    a: SummaryRow
    b: SummaryRow
    drift_pct: float = 0.0
    adjusted: float | None = None  # p after Holm's correction over every pair compared

    def __post_init__(self) -> None:
        if not self.a.process:
            # A serving cell is one LoadGen run: its figure's ratio, with no interval or test.
            self.speedup, self.low, self.high, self.p = figure_value(self.b) / figure_value(self.a), None, None, None
            if serving_figure(self.a.scenario).lower_is_better:
                self.speedup = 1 / self.speedup  # a latency: B faster where it is lower
            return
        runs_a, runs_b = observations(self.a.times, self.a.round_means), observations(self.b.times, self.b.round_means)
        self.speedup, self.low, self.high = ratio_interval(runs_a, runs_b, self.drift_pct)
        self.p = welch_p(runs_a, runs_b, self.drift_pct)

    @property
    def verdict(self) -> str:
        """faster or slower (B against A), ~ within noise, ? too few runs to tell: by the adjusted p,
        so that of two folders of the same grid, 95% report no change at all."""
        if self.adjusted is None:
            return "?"
        if self.adjusted >= ALPHA:
            return "~"
        return "faster" if self.speedup > 1 else "slower"

    def speedup_text(self) -> str:
        interval = "" if self.low is None else f" [{self.low:.2f}–{self.high:.2f}]"
        mark = {"~": " ~", "?": " ?"}.get(self.verdict, "")
        return f"{self.speedup:.2f}×{interval}{mark}"


def machine_pair(text: str) -> str:
    """--pair's A_MACHINE=B_MACHINE (argparse's type)."""
    name_a, equals, name_b = text.partition("=")
    if not (equals and name_a and name_b):
        raise argparse.ArgumentTypeError(f"{text!r}: give A_MACHINE=B_MACHINE")
    return text


def figure_value(row: SummaryRow) -> float:
    """A serving cell's figure (nerbench.record.SERVING_FIGURES)."""
    return getattr(row, serving_figure(row.scenario).column)


def load(directory: Path) -> list[SummaryRow]:
    path = directory / "summary.csv"
    if not path.is_file():
        sys.exit(f"compare.py: error: {path}: missing (run the pipeline, or `make tables`, there first)")
    rows = read_rows(path)
    if rows and all(row.times is None for row in rows) and any(row.status == Status.OK for row in rows):
        sys.exit(f"compare.py: error: {path}: no `times` column (written by an older nerbench: `make tables` there)")
    return [row for row in rows if row.status == Status.OK and (row.mean is not None or row.loadgen_valid)]


def machines_of(rows: list[SummaryRow]) -> list[str]:
    return list(dict.fromkeys(row.machine for row in rows))


def machine_pairs(a: list[SummaryRow], b: list[SummaryRow], asked: list[str]) -> dict[str, str]:
    """A's machine -> B's machine."""
    names_a, names_b = machines_of(a), machines_of(b)
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


def compare(before: list[SummaryRow], after: list[SummaryRow], pairs: dict[str, str], drift_pct: float = 0.0):
    """Every cell of A's paired machines measured in B too, in A's machine and cell order."""
    in_b = {row.key: row for row in after}
    found = [
        Pair(row, in_b[(pairs[row.machine], *row.key[1:])], drift_pct)
        for row in before
        if row.machine in pairs and (pairs[row.machine], *row.key[1:]) in in_b
    ]
    for pair, p in zip(found, holm([pair.p for pair in found]), strict=True):
        pair.adjusted = p
    return sorted(found, key=lambda pair: tuple(map(str, pair.a.key)))


def describe(rows: list[SummaryRow], machine: str) -> str:
    from frames import describe_machine

    found = [row for row in rows if row.machine == machine]
    return describe_machine(found[0].as_columns()) if found else "nothing measured"


def probability(p: float | None) -> str:
    return "" if p is None else f"{p:.3f}"


def seconds(row: SummaryRow) -> str:
    if row.mean is None:  # a serving cell: its figure
        return f"{figure_value(row):.1f} {serving_figure(row.scenario).unit}{flags(row)}"
    return f"{row.mean:.3f} ± {row.stddev or 0:.3f} s{flags(row)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--pair", action="append", default=[], type=machine_pair, metavar="A_MACHINE=B_MACHINE")
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
    left_out = [f"A's `{m}`" for m in machines_of(a) if m not in pairs]
    left_out += [f"B's `{m}`" for m in machines_of(b) if m not in pairs.values()]
    if left_out:
        print(f"Left out (no machine to pair with): {', '.join(left_out)}")
    several = len(pairs) > 1
    rows = [
        ([f"{pair.a.machine} → {pair.b.machine}"] if several else [])
        + [f"`{pair.a.method}`", pair.a.device, pair.a.batch_size, pair.a.scenario or "process"]
        + [seconds(pair.a), seconds(pair.b)]
        + [
            pair.speedup_text(),
            probability(pair.p),
            probability(pair.adjusted),
        ]
        for pair in joined
    ]
    headers = (["Machines"] if several else []) + ["Method", "Device", "Batch", "Scenario", "A", "B"]
    headers += ["B faster by (A/B) [95%]", "Welch p", "Holm-adjusted p"]
    print("\n" + tabulate(rows, headers=headers, tablefmt="github"))
    if any(flags(pair.a) + flags(pair.b) for pair in joined):
        print(f"\n{marks_legend()}")
    verdicts = [pair.verdict for pair in joined]
    print(
        f"\n{len(joined)} cells: {verdicts.count('faster')} faster in B, {verdicts.count('slower')} slower, "
        f"{verdicts.count('~')} within noise (Holm-adjusted p ≥ {ALPHA} over the {len(joined)} pairs), "
        f"{verdicts.count('?')} with too few runs to tell "
        "(a serving cell is one LoadGen run)."
    )
    unpaired = len(a) + len(b) - 2 * len(joined)
    if unpaired:
        print(f"\n{unpaired} cell(s) measured in only one of the two are left out.")


if __name__ == "__main__":
    main()
