"""tables.md's serving sections: per device and scenario, each served method's steady-state rate,
its latency percentiles and, for the server, the highest request rate within the latency bound,
best first, with LoadGen's verdict and what the harness itself costs on the machine."""

import pandas as pd
from tabulate import tabulate

import common  # noqa: F401  (puts the grid package on the path)
from answer import Answer, accuracy
from nerbench.record import Status
from nerbench.trust import MLPERF_MIN_DURATION_S, flags, is_true

SCENARIO_NAMES = {
    "offline": "Offline: every sentence at once, the method batching them itself",
    "single-stream": "Single-stream: one sentence at a time, the next when it is answered",
    "server": "Server: Poisson arrivals, a dynamic batcher of at most the batch size",
}


def number(value, pattern: str = "{:.1f}") -> str:
    return "" if value is None or pd.isna(value) else pattern.format(value)


def serving_rows(frame: pd.DataFrame, scenario: str) -> list[list[str]]:
    name = scenario.partition("@")[0]
    ranked = Answer.ranked_serving(frame, name)
    invalid = frame[~frame.index.isin(ranked.index)]
    rows = []
    for _, row in pd.concat([ranked, invalid]).iterrows():
        method = f"`{row['method']}`{flags(row)}"
        if row["status"] != "ok" or not is_true(row.get("loadgen_valid")):
            why = row.get("reason") if row["status"] != "ok" else row.get("loadgen_invalid_reason")
            rows.append([method, number(row.get("served_batch_size"), "{:.0f}"), f"no valid run: {why}"])
            continue
        figures = [number(row["served_batch_size"], "{:.0f}")]
        if name == "server":
            figures.append(number(row["server_qps"], "{:.0f}"))
        figures += [number(row["sentences_per_s"], "{:.0f}"), number(row.get("tokens_per_s"), "{:.0f}")]
        figures += [number(row[f"latency_{p}_ms"]) for p in ("p50", "p90", "p99")]
        if name == "offline":
            figures += [
                number(row.get("core_seconds_per_1k"), "{:.2f}"),
                number(row.get("cost_per_million"), "{:.4g}"),
                pct_of_peak(row),
            ]
        figures += [accuracy(row), number(row.get("peak_rss_mib"), "{:.0f}"), number(row.get("load_s"), "{:.2f}")]
        rows.append([method, *figures])
    return rows


def pct_of_peak(row) -> str:
    share, bound = row.get("pct_of_peak"), row.get("times_bound")
    if share is None or pd.isna(share):
        return ""
    memory = " (memory-bound)" if row.get("bound_by") == "memory" else ""
    return f"{share:.0f}% of {row['peak_format']}; {bound:.1f}× its bound{memory}"


def headers(name: str) -> list[str]:
    found = ["Method", "Batch"]
    found += ["Highest valid rate [queries/s]"] if name == "server" else []
    found += ["Sentences/s", "Tokens/s", "p50 [ms]", "p90 [ms]", "p99 [ms]"]
    if name == "offline":
        found += ["Core-s per 1k sentences", "Cost of 1M sentences", "Inference vs the roofline"]
    return found + ["Accuracy", "Peak RSS [MiB]", "Load [s]"]


def serving_sections(frame: pd.DataFrame, level: str, overhead: dict | None) -> list[str]:
    """One machine's serving tables (its serving rows of summary.csv), per device and scenario."""
    parts = []
    served = frame[frame["scenario"] != "process"]
    for device in served["device"].unique():
        rows = served[served["device"] == device]
        if (rows["status"] == Status.NOT_AVAILABLE).all():
            parts.append(
                f"{device} serving: {Status.NOT_AVAILABLE} ({rows['reason'].iloc[0]}); these cells were not run.\n"
            )
            continue
        for scenario in rows["scenario"].unique():
            name, _, parallelism = scenario.partition("@")
            cells = rows[rows["scenario"] == scenario]
            workers = f", {parallelism} workers × threads" if parallelism else ""
            parts.append(f"{level} {device.upper()} serving. {SCENARIO_NAMES[name]}{workers}\n")
            parts.append(tabulate(serving_rows(cells, scenario), headers=headers(name), tablefmt="github") + "\n")
        parts.append(compliance_text(rows) + "\n")
    if not served.empty and overhead:
        parts.append(overhead_text(overhead) + "\n")
    return parts


def compliance_text(rows: pd.DataFrame) -> str:
    if rows["mlperf_compliant"].map(is_true).all():
        return "Every run met MLPerf's least duration and query count."
    return (
        f"**Not MLPerf-compliant:** runs of at least {rows['serving_min_duration_s'].iloc[0]:g} s "
        f"(`serving.min_duration_s`), where MLPerf's rules ask {MLPERF_MIN_DURATION_S} s and more queries: "
        "the rates are steady-state measurements, not submissions. Each figure is one LoadGen run (no interval); "
        "an INVALID run is never shown as a result."
    )


def overhead_text(overhead: dict) -> str:
    """What the harness costs alone (serving.smk's serving_overhead)."""
    pipe = overhead.get("pipe_round_trip_ms", {})
    single = overhead.get("single-stream", {})
    server = overhead.get("server", {})

    def ms(record: dict, share: str) -> str:
        value = record.get(f"result_{share}_percentile_latency_ns")
        return "?" if value is None else f"{value / 1e6:.3f}"

    return (
        f"The harness alone, on this machine: LoadGen with a predictor that answers at once adds p50 "
        f"{ms(single, '50.00')} ms, p99 {ms(single, '99.00')} ms to a single-stream query and p99 "
        f"{ms(server, '99.00')} ms to a server's at {server.get('result_scheduled_samples_per_sec', 0):.0f} queries/s; "
        f"the Rust binary's pipe takes p50 {pipe.get('p50', 0):.3f} ms, p99 {pipe.get('p99', 0):.3f} ms a round trip."
    )
