#!/usr/bin/env python3
"""How well the host-speed probe tells a slow stretch of timing from a normal one. A stretch is
one timed job: a cell's round in grids timed in rounds (benchmark.rounds > 1), else a whole
cell. Its time is compared with the same cell's median over its rounds (--rounds) or over the
repeats of one grid given as folders (the default), and its host speed (nerbench.trust.speed_around;
a cell's over repeats, nerbench.trust.cell_speed) with the machine's speed (nerbench.trust.machine_speed of
every cell's probe in the folders given: one machine, pooled over the repeats, where the tables
take each folder's and the roofline's too). A stretch "ran slow" when it took more than
--slow-pct longer than its median; the probe "says slow" when its host speed is more than
nerbench.trust.SLOW_HOST_PCT below the machine's.

  python tools/probe-vs-time.py results/repeat/old-1 results/repeat/old-2 results/repeat/old-3
  python tools/probe-vs-time.py --rounds results/repeat/spread-1
"""

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from nerbench.record import CellRecord, HostSpeed, Status  # noqa: E402
from nerbench.trust import SLOW_HOST_PCT, cell_speed, machine_speed, probe_rates, speed_around  # noqa: E402

OUTCOMES = {(True, True): "both", (False, True): "probe only", (True, False): "slow only", (False, False): "neither"}


def cells_of(folder: Path) -> dict[tuple, CellRecord]:
    cells = [CellRecord.read(path) for path in sorted((folder / "cells").rglob("*.json"))]
    return {
        (cell.cell.machine, cell.cell.method, cell.cell.device, cell.cell.batch_size): cell
        for cell in cells
        if cell and cell.status == Status.OK
    }


def stretches(cell: CellRecord) -> list[tuple[float, HostSpeed]]:
    """(mean time, host-speed record) of each timed job of a cell: its rounds, or itself."""
    if cell.rounds:
        return [(one.mean, one.host_speed or HostSpeed()) for one in cell.rounds]
    return [(cell.runs.mean, cell.host_speed or HostSpeed())]


def judged(groups: list[list[tuple[float, dict]]], speed: float, slow_pct: float, host=speed_around) -> str:
    """Each group's stretches (time, what `host` reads a host speed from) against the group's
    median time."""
    counts, pairs = dict.fromkeys(OUTCOMES.values(), 0), []
    for group in groups:
        median = statistics.median(time for time, _ in group)
        for time, record in group:
            found = host(record)
            if found is None:
                continue
            ran_slow, says_slow = time > median * (1 + slow_pct / 100), found < speed * (1 - SLOW_HOST_PCT / 100)
            counts[OUTCOMES[ran_slow, says_slow]] += 1
            pairs.append((found / speed, time / median))
    hosts, times = zip(*pairs, strict=True)
    outcomes = ", ".join(f"{name} {count}" for name, count in counts.items())
    correlation = np.corrcoef(hosts, times)[0, 1]
    return f"{len(pairs)} stretches: {outcomes}; correlation of host speed with time {correlation:+.2f}"


def flagged(cells: dict[tuple, CellRecord], speed: float) -> str:
    """The cells the tables would flag."""
    speeds = [found for cell in cells.values() if (found := cell_speed(cell)) is not None]
    slow = sum(found < speed * (1 - SLOW_HOST_PCT / 100) for found in speeds)
    return f"{slow} of {len(cells)} cells on a slow host; host speed {min(speeds):.0f}–{max(speeds):.0f} GFLOP/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--rounds", action="store_true", help="each cell's rounds against their median, per folder")
    parser.add_argument("--slow-pct", type=float, default=10.0, help="a stretch this much slower than its median")
    args = parser.parse_args()
    folders = [cells_of(folder) for folder in args.folders]
    speed = machine_speed([rate for cells in folders for cell in cells.values() for rate in cell_probes(cell)])
    if speed is None:
        sys.exit("probe-vs-time.py: error: no speed probes in these folders (timed before nerbench had them?)")
    print(
        f"machine speed {speed:.1f} GFLOP/s; ran slow: > {args.slow_pct:g}% over its median; probe says slow: "
        f"> {SLOW_HOST_PCT:g}% below the machine's speed"
    )
    for folder, cells in zip(args.folders, folders, strict=True):
        print(f"{folder}: {flagged(cells, speed)}")
    if args.rounds:
        for folder, cells in zip(args.folders, folders, strict=True):
            print(f"{folder}: {judged([stretches(cell) for cell in cells.values()], speed, args.slow_pct)}")
        return
    shared = set.intersection(*(set(cells) for cells in folders))
    groups = [[(cells[key].runs.mean, cells[key]) for cells in folders] for key in shared]
    print(f"each cell across {len(folders)} folders: {judged(groups, speed, args.slow_pct, cell_speed)}")


def cell_probes(cell: CellRecord) -> list[float]:
    return probe_rates([record for _, record in stretches(cell)])


if __name__ == "__main__":
    main()
