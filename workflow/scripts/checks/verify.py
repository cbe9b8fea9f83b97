#!/usr/bin/env python3
"""The pipeline's check target: fail when a cell failed or an fp32 method disagrees with the
reference anywhere but at near-ties, naming the first such sentence, or when a cell's inference ran
faster than its number format's peak measured on a quiet host (a peak that is not the machine's;
above a peak measured on a contended or slow host, it passes with a note). Cells timed while the
host ran slow (the tables' `↓`) pass, listed with what times them again. A sentence passes only when
every entity that differs in it is a near-tie under its device's bar (check_cell.py); a cell whose
differences are all such passes with a note, and the tables list them. Runs after the tables, so
every timing already measured is kept and shown."""

import argparse
import json
import sys

from common import load_json
from nerbench.grid import Grid
from nerbench.record import Status, SummaryRow, read_rows, write_atomically
from nerbench.trust import REMEASURE_PEAKS, accepted


def beyond_the_peak(summary: list[SummaryRow]) -> tuple[list[str], list[str]]:
    """Cells faster than their format's measured peak: (problems, notes). Above a peak measured
    on a quiet host, the peak is not the machine's (the roofline measured a slower kernel than
    the one the method ran): a problem. Above a peak measured while the host was contended or
    slow (the tables flag it), that explains it: a note that says to measure it again."""
    problems, notes = [], []
    for row in summary:
        if row.pct_of_peak is None or row.pct_of_peak <= 100:
            continue
        cell = f"{row.method} -d {row.device} -b {row.batch_size} on {row.machine}: inference at {row.pct_of_peak:.0f}%"
        above_theory = row.pct_of_theoretical is not None and row.pct_of_theoretical > 100
        if above_theory:
            problems.append(
                f"{cell} of the measured {row.peak_format} peak and {row.pct_of_theoretical:.0f}% of the "
                "theoretical one (cores × clock × operations per cycle): no busy or slow host explains that; the "
                "FLOP count or the timing is wrong"
            )
        elif row.peak_contended or row.peak_slow_host:
            notes.append(
                f"{cell} of the {row.peak_format} peak measured on a contended or slow host (roofline.json): "
                f"measure it again once the host is quiet and up to speed ({REMEASURE_PEAKS})"
            )
        else:
            problems.append(
                f"{cell} of the measured {row.peak_format} peak (roofline.json): the peak is not this machine's"
                f" (a kernel slower than the method's, or a slow spell of the host while it was measured:"
                f" measure it again, {REMEASURE_PEAKS})"
            )
    return problems, notes


def below_the_floor(summary: list[SummaryRow], floor: dict) -> list[str]:
    """Lower-precision cells so far from the reference that the variant is broken (verify: floor;
    an fp32 cell is judged by its differences, near-ties alone passing)."""
    broken = []
    for row in summary:
        if row.dtype in (None, "fp32") or row.agreement_pct is None:
            continue
        # The floor is a criterion of accept:'s form, judged as accept: is, only lower.
        if accepted(row.f1, row.reference_f1, row.agreement_pct, floor):
            continue
        cell = f"{row.method} -d {row.device} -b {row.batch_size} {row.scenario or 'process'} on {row.machine}"
        if row.f1 is not None and row.reference_f1 is not None:
            broken.append(
                f"{cell}: F1 {row.f1:.4f}, more than {floor['f1_points']:g} points below the reference's "
                f"{row.reference_f1:.4f} (verify.f1_points): a broken {row.dtype} variant"
            )
        else:
            broken.append(
                f"{cell}: agrees {row.agreement_pct:.2f}% with the reference, below {floor['agreement_pct']:g}% "
                f"(verify.agreement_pct): a broken {row.dtype} variant"
            )
    return broken


def slow_host_notes(summary: list[SummaryRow]) -> list[str]:
    """Cells timed while the host ran slow (the tables' `↓`), each with what times it again."""
    return [
        f"{row.method} -d {row.device} -b {row.batch_size} on {row.machine}: host speed {row.host_speed_pct:.0f}% "
        f"of the machine's: make cell METHOD={row.method} DEVICE={row.device} BS={row.batch_size} "
        f"MACHINE={row.machine}"
        for row in summary
        if row.slow_host
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", required=True, help="the grid's manifest (grid.json, written by the grid rule)")
    parser.add_argument("--summary", help="summary.csv: no cell's inference may pass its format's measured peak")
    parser.add_argument("out", help="verified.txt, written only when every cell passes")
    args = parser.parse_args()
    grid = Grid.from_manifest(args.grid)
    cells = grid.runnable()
    summary = read_rows(args.summary) if args.summary else None
    problems, notes = beyond_the_peak(summary) if summary is not None else ([], [])
    problems += below_the_floor(summary, grid.config["verify"]) if summary is not None else []
    near_ties = []
    for cell in cells:
        check = load_json(cell.path("check"))
        name = cell.label
        if check is None:
            problems.append(f"{name}: no check file ({cell.path('check')})")
        elif check["status"] != Status.OK:
            problems.append(f"{name}: {check['status']} (log: {cell.path('log')})")
        elif check["dtype"] == "fp32" and check["differences"]:
            clear = [item for item in check["differences"] if not item["near_tie"]]
            if not clear:
                near_ties.append(f"{name}: {len(check['differences'])} sentences differ, all at near-ties")
                continue
            diff = clear[0]
            problems.append(
                f"{name}: agrees {check['agreement_pct']:.2f}% with the reference; {len(clear)} sentences differ "
                f"where the reference was sure, first at line {diff['line']} {diff['text']!r}: "
                f"{json.dumps(diff['predicted'], ensure_ascii=False)} instead of "
                f"{json.dumps(diff['reference'], ensure_ascii=False)}"
            )
    if problems:
        print("verify: the grid has problems (the tables list them too):", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        sys.exit(1)
    verdict = f"{len(cells)} cells checked: all ran, every fp32 method agrees with the reference"
    if near_ties:
        verdict += " but for near-ties (tables.md lists them):\n" + "".join(f"  {line}\n" for line in near_ties)
    else:
        verdict += "\n"
    if notes:
        verdict += "Above a peak measured while the host was busy or slow:\n" + "".join(f"  {line}\n" for line in notes)
    slow = slow_host_notes(summary) if summary is not None else []
    if slow:
        verdict += "Timed while the host ran slow (time each again once it is up to speed, with this run's CONFIG=):\n"
        verdict += "".join(f"  {line}\n" for line in slow)
    write_atomically(args.out, verdict)
    print(verdict, end="")


if __name__ == "__main__":
    main()
