#!/usr/bin/env python3
"""One cell's result from its rounds (benchmark.rounds > 1): every run of every round, with
hyperfine's statistics computed again over them all, what the host did during each round, and
the last round's predictions and phases. A failed round fails the cell, with its reason.

  combine_rounds.py --out CELL.json --predictions LAST.jsonl P.jsonl --phases LAST.json T.json ROUND.json...
"""

import argparse
import statistics
from dataclasses import replace
from pathlib import Path

import common  # noqa: F401  (puts scripts/ and the grid package on the path)
from nerbench.record import CellRecord, Contention, QuietStart, Round, Runs, Status, write_atomically
from nerbench.trust import combined_rounds


def combined_statistics(results: list[Runs]) -> Runs:
    """hyperfine's fields over the runs of every round (user and system: the runs' mean)."""
    times = [t for result in results for t in result.times]
    runs = [len(result.times) for result in results]
    per_run = {
        key: sum(getattr(r, key) * n for r, n in zip(results, runs, strict=True)) / sum(runs)
        for key in ("user", "system")
    }
    memory = [m for result in results for m in result.memory_usage_byte or []]
    return Runs(
        command=results[0].command,
        mean=statistics.fmean(times),
        stddev=statistics.stdev(times) if len(times) > 1 else None,
        median=statistics.median(times),
        min=min(times),
        max=max(times),
        **per_run,
        times=times,
        exit_codes=[code for result in results for code in result.exit_codes],
        memory_usage_byte=memory or None,
    )


def combined_contention(records: list[CellRecord]) -> Contention | None:
    """The host's load over all rounds, each round weighted by its wall time."""
    seen = [record.contention for record in records if record.contention and record.contention.wall_seconds]
    if not seen:
        return None
    wall = sum(c.wall_seconds for c in seen)
    weighted = {
        key: sum(getattr(c, key) * c.wall_seconds for c in seen) / wall for key in ("steal_pct", "foreign_cpu_pct")
    }
    return Contention(load_before=seen[0].load_before, wall_seconds=wall, **weighted)


def combine(records: list[CellRecord]) -> CellRecord:
    last = records[-1]
    failed = next((record for record in records if record.status != Status.OK), None)
    rounds = [
        Round(
            status=record.status,
            mean=record.runs.mean if record.runs else None,
            contention=record.contention,
            quiet_start=record.quiet_start,
            host_speed=record.host_speed,
        )
        for record in records
    ]
    return replace(
        last,
        runs=None if failed else combined_statistics([record.runs for record in records]),
        status=Status.FAILED if failed else Status.OK,
        reason=failed and f"round {records.index(failed)}: {failed.reason}",
        wall_seconds=sum(record.wall_seconds or 0 for record in records),
        rounds=rounds,
        gpu_memory_peak_bytes=max((r.gpu_memory_peak_bytes or 0 for r in records), default=0) or None,
        contention=combined_contention(records),
        quiet_start=QuietStart(
            waited_seconds=sum((r.quiet_start and r.quiet_start.waited_seconds) or 0 for r in records),
            gave_up=any(r.quiet_start and r.quiet_start.gave_up for r in records),
        ),
        hyperfine_warnings=[w for record in records for w in record.hyperfine_warnings or []],
        host_speed=combined_rounds([record.host_speed for record in records if record.host_speed]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--predictions", nargs=2, required=True, metavar=("LAST_ROUND", "CELL"))
    parser.add_argument("--phases", nargs=2, required=True, metavar=("LAST_ROUND", "CELL"))
    parser.add_argument("rounds", nargs="+", help="the rounds' results, in round order")
    args = parser.parse_args()
    records = [CellRecord.read(path) for path in args.rounds]
    for last_round, cell in (args.predictions, args.phases):
        write_atomically(cell, Path(last_round).read_text())
    combine(records).write(args.out)
    print(f"{len(records)} rounds combined into {args.out}")


if __name__ == "__main__":
    main()
