#!/usr/bin/env python3
"""One cell's result from its rounds (benchmark.rounds > 1): every run of every round, with
hyperfine's statistics computed again over them all, what the host did during each round, and
the last round's predictions and phases. A failed round fails the cell, with its reason.

  combine_rounds.py --out CELL.json --predictions LAST.jsonl P.jsonl --phases LAST.json T.json ROUND.json...
"""

import argparse
import json
import statistics
from pathlib import Path

import common  # noqa: F401  (puts scripts/ and the grid package on the path)
from host_load import combined_rounds
from nerbench import Status
from nerlib.atomic import write_text_atomically


def combined_statistics(results: list[dict]) -> dict:
    """hyperfine's fields over the runs of every round (user and system: the runs' mean)."""
    times = [t for result in results for t in result["times"]]
    runs = [len(result["times"]) for result in results]
    per_run = {
        key: sum(r[key] * n for r, n in zip(results, runs, strict=True)) / sum(runs) for key in ("user", "system")
    }
    memory = [m for result in results for m in result.get("memory_usage_byte") or []]
    return {
        "command": results[0]["command"],
        "mean": statistics.fmean(times),
        "stddev": statistics.stdev(times) if len(times) > 1 else None,
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        **per_run,
        "times": times,
        "exit_codes": [code for result in results for code in result.get("exit_codes", [])],
        **({"memory_usage_byte": memory} if memory else {}),
    }


def combined_contention(records: list[dict]) -> dict:
    """The host's load over all rounds, each round weighted by its wall time."""
    seen = [record["contention"] for record in records if (record.get("contention") or {}).get("wall_seconds")]
    if not seen:
        return {}
    wall = sum(c["wall_seconds"] for c in seen)
    weighted = {key: sum(c[key] * c["wall_seconds"] for c in seen) / wall for key in ("steal_pct", "foreign_cpu_pct")}
    return {"load_before": seen[0].get("load_before"), "wall_seconds": wall, **weighted}


def combine(records: list[dict]) -> dict:
    last = records[-1]
    failed = next((record for record in records if record["status"] != Status.OK), None)
    rounds = [
        {
            "status": record["status"],
            "mean": record["results"][0]["mean"] if record["results"] else None,
            "contention": record.get("contention"),
            "quiet_start": record.get("quiet_start"),
            "host_speed": record.get("host_speed"),
        }
        for record in records
    ]
    combined = {
        "results": [] if failed else [combined_statistics([record["results"][0] for record in records])],
        "cell": last["cell"],
        "status": Status.FAILED if failed else Status.OK,
        "reason": failed and f"round {records.index(failed)}: {failed['reason']}",
        "wall_seconds": sum(record["wall_seconds"] for record in records),
        "settings": last["settings"],
        "environment": last["environment"],
        "rounds": rounds,
        "gpu_memory_peak_bytes": max((r.get("gpu_memory_peak_bytes") or 0 for r in records), default=0) or None,
        "contention": combined_contention(records),
        "quiet_start": {
            "waited_seconds": sum((r.get("quiet_start") or {}).get("waited_seconds", 0) for r in records),
            "gave_up": any((r.get("quiet_start") or {}).get("gave_up") for r in records),
        },
        "hyperfine_warnings": [w for record in records for w in record.get("hyperfine_warnings") or []],
        "host_speed": combined_rounds([record.get("host_speed") or {} for record in records]),
    }
    return combined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--predictions", nargs=2, required=True, metavar=("LAST_ROUND", "CELL"))
    parser.add_argument("--phases", nargs=2, required=True, metavar=("LAST_ROUND", "CELL"))
    parser.add_argument("rounds", nargs="+", help="the rounds' results, in round order")
    args = parser.parse_args()
    records = [json.loads(Path(path).read_text()) for path in args.rounds]
    for last_round, cell in (args.predictions, args.phases):
        write_text_atomically(cell, Path(last_round).read_text())
    write_text_atomically(args.out, json.dumps(combine(records), indent=1) + "\n")
    print(f"{len(records)} rounds combined into {args.out}")


if __name__ == "__main__":
    main()
