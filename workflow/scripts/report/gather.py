#!/usr/bin/env python3
"""Gather every cell of the grid into summary.csv (one typed row per cell: nerbench.record.SummaryRow)
and environment.json (where the measurements came from, per machine).

A row holds the cell as the grid describes it, its record's timing and host load, its check, its
phases with the inference phase's rate against its machine's measured peak, and its host speed
against its machine's. A cell that never finished, failed or could not run on its machine still
has its row, saying so.
"""

import argparse
import json
from dataclasses import replace
from pathlib import Path

import common  # noqa: F401  (puts the grid package on the path)
from common import load_json
from nerbench.flops import BYTES_PER_WEIGHT, flops_key
from nerbench.grid import Cell, Grid
from nerbench.record import CellRecord, HostSpeed, Status, SummaryRow, write_atomically, write_summary
from nerbench.stats import cv_pct
from nerbench.trust import (
    SLOW_HOST_PCT,
    accepted,
    cell_speed,
    compliant,
    contended,
    machine_speed,
    probe_rates,
    unstable,
)
from nerlib.timings import PHASES

CHECK_COLUMNS = (
    "agreement_pct",
    "identical_sentences_pct",
    "differing_sentences",
    "near_tie_sentences",
    "entity_precision",
    "entity_recall",
    "f1",
    "reference_f1",
)


def cell_row(
    cell: Cell,
    record: CellRecord | None,
    roofline: dict,
    flops: dict,
    criterion: dict | None = None,
    price: float | None = None,
) -> SummaryRow:
    """One summary row: the cell as the grid describes it, its record (None: it has none), its
    check and environment."""
    row = SummaryRow(**cell.key._asdict(), dtype=cell.method.dtype)
    if not cell.available:
        return replace(row, status=Status.NOT_AVAILABLE, reason=cell.unavailable_reason)
    if record is None:
        return replace(row, status=Status.MISSING, log=cell.path("log"))
    row = replace(row, status=record.status, reason=record.reason, log=cell.path("log"), command=record.cell.command)
    row = replace(row, **record.summary_columns())
    if record.status != Status.OK:
        return row
    row = replace(row, **trust_columns(record))
    check = load_json(cell.path("check")) or {"status": "not checked"}
    if check["status"] != Status.OK:
        row = replace(row, status=check["status"])
    row = replace(row, **{key: check[key] for key in CHECK_COLUMNS if key in check})
    if check.get("differences"):
        row = replace(row, first_difference_line=check["differences"][0]["line"])
    if criterion:
        row = replace(row, accepted=accepted(row.f1, row.reference_f1, row.agreement_pct, criterion))
    if cell.serving:
        return replace(row, **serving_columns(cell, row, roofline, flops, price), mlperf_compliant=compliant(record))
    row = replace(row, **phase_columns(cell, roofline, flops))
    if row.bound_s:
        row = replace(row, times_bound=row.mean / row.bound_s)
    return row


def trust_columns(record: CellRecord) -> dict:
    """How far a cell's numbers can be trusted, judged from its record: the spread of its runs,
    whether others shared the host while they ran, the host's speed around them."""
    spread = cv_pct(record.times)
    return {
        "cv_pct": spread,
        "unstable": unstable(spread),
        "contended": contended(record.contention),
        "host_speed_gflops": cell_speed(record),
    }


def number_format(dtype: str) -> str:
    """The format whose peak a method is measured against: fp32 for fp32-approx, int8 for int8-static."""
    return dtype.split("-")[0]


def work_of(cell: Cell, flops: dict) -> dict | None:
    """The corpus's FLOPs as the cell's method batches it (flops.json)."""
    method = cell.method
    batch_size = cell.batch_size if isinstance(cell.batch_size, int) else None
    return flops.get("corpus_flops", {}).get(flops_key(batch_size, method.sort, method.token_budget))


def phase_columns(cell: Cell, roofline: dict, flops: dict) -> dict:
    """Seconds per phase from the method's --timings file, and the inference phase's FLOP/s
    against the measured peak of the method's own number format on its device (its machine's
    roofline.json; `peak_contended`: measured while other processes ran). A phases file
    that cannot be read (a program killed while writing it) gives no columns rather than
    stopping the tables."""
    phases = load_json(cell.path("phases"))
    if not phases or not isinstance(phases.get("phases"), dict):
        return {}
    columns = {f"phase_{name}": phases["phases"].get(name, 0.0) for name in PHASES}
    if phases.get("torch_max_memory_allocated_bytes"):
        columns["torch_gpu_allocated_mib"] = phases["torch_max_memory_allocated_bytes"] / 2**20
    inference = phases["phases"].get("inference") or 0
    work = work_of(cell, flops)
    return {**columns, **roofline_columns(cell, roofline, flops, work, inference)}


def roofline_columns(cell: Cell, roofline: dict, flops: dict, work: dict | None, seconds: float) -> dict:
    """The inference's FLOP/s over `seconds` (the inference phase, or a serving run's time for the
    corpus) against its format's peak, and the bound: the least time the corpus's own FLOPs take."""
    columns = {}
    done = work and work.get("flops_padding_removed" if cell.method.removes_padding else "flops")
    peaks = roofline.get("peaks", {}).get(cell.device, {})
    peak = peaks.get(number_format(cell.method.dtype))
    if done and seconds > 0:
        columns["inference_gflops"] = done / seconds / 1e9
        columns["padding_overhead_pct"] = 100 * (done / work["useful_flops"] - 1)
    if done and seconds > 0 and peak:
        columns["peak_format"] = number_format(cell.method.dtype)
        columns["pct_of_peak"] = 100 * done / seconds / peak["peak_flops"]
        theoretical = (peak.get("theoretical") or {}).get("peak_flops")
        if theoretical:
            columns["pct_of_theoretical"] = 100 * done / seconds / theoretical
        # The host's load says nothing of a GPU's: only CPU peaks are measured again and flagged.
        columns["peak_contended"] = bool(roofline.get("contended")) and cell.device == "cpu"
    if work and peak:
        columns.update(bound(cell, work, peaks, flops.get("weight_parameters")))
    return columns


def bound(cell: Cell, work: dict, peaks: dict, weights: int | None) -> dict:
    """The machine's bound for the task: each part of the corpus's own FLOPs (no padding) at the
    peak of the format it runs in (dynamic int8's attention runs in fp32), or, where reading every
    weight once per batch takes longer at the measured memory bandwidth, that: `bound_by` says which."""
    formats = number_format(cell.method.dtype), number_format(cell.method.attention_dtype)
    peak, attention_peak = (peaks.get(name) or peaks[formats[0]] for name in formats)
    if "useful_positionwise_flops" in work:
        compute = work["useful_positionwise_flops"] / peak["peak_flops"]
        compute += work["useful_attention_flops"] / attention_peak["peak_flops"]
    else:  # a flops.json from before the parts were counted
        compute = work["useful_flops"] / peak["peak_flops"]
    bandwidth = peaks.get("memory_bytes_per_second")
    per_weight = BYTES_PER_WEIGHT.get(formats[0])
    memory = (
        work["batches"] * weights * per_weight / bandwidth
        if bandwidth and weights and per_weight and "batches" in work
        else 0
    )
    return {"bound_s": max(compute, memory), "bound_by": "memory" if memory > compute else "compute"}


def serving_columns(cell: Cell, row: SummaryRow, roofline: dict, flops: dict, price: float | None) -> dict:
    """A serving cell's rates per token, per core and per price, and an offline cell's inference
    against the roofline (its rate over the corpus as its method batches it)."""
    rate = row.sentences_per_s
    if not rate:
        return {}
    work = work_of(replace(cell, batch_size=row.served_batch_size), flops)
    columns = {}
    if work:
        columns["tokens_per_s"] = rate * work["tokens"] / work["sentences"]
    if cell.scenario == "offline":
        threads = row.intra_op_threads * row.workers if row.intra_op_threads and row.workers else row.threads
        if threads:
            columns["core_seconds_per_1k"] = threads * 1000 / rate
        if price is not None:
            columns["cost_per_million"] = price / 3600 * 1e6 / rate
        if work:
            corpus_seconds = work["sentences"] / rate
            columns.update(roofline_columns(cell, roofline, flops, work, corpus_seconds))
            if columns.get("bound_s"):
                columns["times_bound"] = corpus_seconds / columns["bound_s"]
    return columns


def with_host_speed(rows: list[SummaryRow], rooflines: dict[str, dict]) -> list[SummaryRow]:
    """Each cell's host speed as a share of its machine's speed, `host_speed_pct`, and `slow_host`
    where that share is below 100 - SLOW_HOST_PCT: a host that ran slow in a way its CPU
    accounting cannot show. A CPU cell's `peak_host_speed_pct` is the roofline's fastest probe as
    such a share, and `peak_slow_host` says its peaks were measured in a slow spell, so are too low."""
    if not any(row.host_probes_gflops for row in rows):
        return rows
    speeds, roofline_best = {}, {}
    for machine in dict.fromkeys(row.machine for row in rows):
        probes = roofline_probes(rooflines.get(machine))
        cells = [
            float(rate) for row in rows if row.machine == machine for rate in (row.host_probes_gflops or "").split()
        ]
        speeds[machine] = machine_speed([*probes, *cells])
        roofline_best[machine] = max(probes, default=None)
    return [host_speed_row(row, speeds[row.machine], roofline_best[row.machine]) for row in rows]


def host_speed_row(row: SummaryRow, speed: float | None, roofline_best: float | None) -> SummaryRow:
    """A row's host speed against its machine's; a row without one is not flagged."""
    threshold = 100 - SLOW_HOST_PCT
    share = 100 * row.host_speed_gflops / speed if speed and row.host_speed_gflops is not None else None
    row = replace(row, host_speed_pct=share, slow_host=share is not None and share < threshold)
    peak = 100 * roofline_best / speed if speed and roofline_best is not None else None
    if peak is None or row.pct_of_peak is None or row.device != "cpu":
        return replace(row, peak_slow_host=False)
    return replace(row, peak_host_speed_pct=peak, peak_slow_host=peak < threshold)


def roofline_probes(roofline: dict | None) -> list[float]:
    speeds = [
        HostSpeed(**attempt["host_speed"])
        for attempt in (roofline or {}).get("attempts", [])
        if attempt.get("host_speed")
    ]
    return probe_rates(speeds)


def environments(grid: Grid, records: dict[Cell, CellRecord | None]) -> dict[str, list[dict]]:
    """Where the measurements came from: per machine, once per interpreter (each cell file keeps
    its own). Every node of a cluster shares the environment's path, so the machine is the key."""
    found: dict[str, dict] = {machine.name: {} for machine in grid.machines}
    for cell, record in records.items():
        if record and record.status == Status.OK:
            found[cell.machine.name].setdefault(record.environment["python_executable"], record.environment)
    return {machine: list(by_python.values()) for machine, by_python in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", required=True, help="the grid's manifest (grid.json, written by the grid rule)")
    parser.add_argument("--flops", required=True, help="flops.json: the corpus's FLOPs at each batch size")
    args = parser.parse_args()
    grid = Grid.from_manifest(args.grid)
    results = Path(grid.results())
    rooflines = {machine: load_json(path) or {} for machine, path in grid.rooflines().items()}
    flops = load_json(args.flops) or {}
    records = {cell: CellRecord.read(cell.path("result")) for cell in grid.runnable()}  # each read once
    rows = [
        cell_row(
            cell,
            records.get(cell),
            rooflines[cell.machine.name],
            flops,
            grid.config["accept"],
            grid.price_per_hour(cell.machine),
        )
        for cell in grid.cells
    ]
    rows = with_host_speed(rows, rooflines)
    write_summary(results / "summary.csv", rows)
    write_atomically(results / "environment.json", json.dumps(environments(grid, records), indent=1) + "\n")
    print(f"{len(rows)} cells: {results / 'summary.csv'}, {results / 'environment.json'}")


if __name__ == "__main__":
    main()
