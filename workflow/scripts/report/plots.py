#!/usr/bin/env python3
"""Pictures of summary.csv: time against batch size (a line per method, a panel per device),
where the time goes (phases at each method's best batch size), and accuracy against time."""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import pandas as pd  # noqa: E402

from frames import measured, read_summary  # noqa: E402
from nerlib.timings import PHASES  # noqa: E402

MARKERS = "osD^vP*Xh<>"


def method_styles(methods) -> dict:
    """One colour and marker per method, the same in every plot; tab20 has enough colours for
    a grid with variants, where the default cycle repeats after ten."""
    colours = plt.get_cmap("tab20").colors
    return {method: (colours[i % 20], MARKERS[i % len(MARKERS)]) for i, method in enumerate(methods)}


def plain_log_axis(axis) -> None:
    """Log scale labelled 2, 5, 10 rather than 2×10⁰."""
    formatter = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    axis.set_major_formatter(formatter)
    axis.set_minor_formatter(formatter)


def time_against_batch_size(summary: pd.DataFrame, out: Path) -> None:
    done = measured(summary)
    devices = list(done["device"].unique()) or ["cpu"]
    styles = method_styles(done["method"].unique())
    figure, axes = plt.subplots(1, len(devices), figsize=(6.5 * len(devices) + 2.5, 5), squeeze=False)
    for axis, device in zip(axes[0], devices, strict=True):
        for method, cells in done[done["device"] == device].groupby("method", sort=False):
            cells = cells.sort_values("batch_size")
            colour, marker = styles[method]
            axis.errorbar(
                cells["batch_size"],
                cells["mean"],
                yerr=cells["stddev"].fillna(0),
                marker=marker,
                color=colour,
                capsize=3,
                label=method,
            )
        axis.set(
            xscale="log", yscale="log", xlabel="batch size", ylabel="wall time per run [s] (log)", title=device.upper()
        )
        plain_log_axis(axis.yaxis)
        sizes = sorted(done["batch_size"].unique())
        axis.set_xticks(sizes, labels=[str(b) for b in sizes])
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.grid(True, which="both", alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.suptitle("Whole-process time against batch size (mean ± σ of hyperfine runs)")
    figure.tight_layout()
    figure.savefig(out, dpi=120)
    plt.close(figure)


def phase_breakdown(summary: pd.DataFrame, out: Path) -> None:
    done = measured(summary)
    if "phase_inference" not in done:
        done = done.iloc[0:0]
    best = done.loc[done.groupby(["device", "method"], sort=False)["mean"].idxmin()] if not done.empty else done
    figure, axis = plt.subplots(figsize=(11, 0.45 * max(len(best), 4) + 2))
    labels = [f"{r['method']} ({r['device']}, bs {r['batch_size']})" for _, r in best.iterrows()]
    left = pd.Series(0.0, index=best.index)
    for phase in PHASES:
        values = best[f"phase_{phase}"].fillna(0) if not best.empty else left
        axis.barh(labels, values, left=left, label=phase)
        left = left + values
    axis.invert_yaxis()
    axis.set(
        xlabel="seconds (one run, as the program measured itself)",
        title="Where the time goes, at each method's best batch size",
    )
    handles, names = axis.get_legend_handles_labels()
    figure.legend(handles, names, ncol=len(PHASES), fontsize=8, loc="lower center")
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(out, dpi=120)
    plt.close(figure)


def accuracy_against_time(summary: pd.DataFrame, out: Path) -> None:
    done = measured(summary)
    figure, axis = plt.subplots(figsize=(10, 5))
    has_f1 = "f1" in done and done["f1"].notna().any()
    column = "f1" if has_f1 else "agreement_pct"
    # A legend rather than labels beside the points: methods that agree sit on one another.
    styles = method_styles(done["method"].unique())
    for (method, device), cells in done.groupby(["method", "device"], sort=False):
        best = cells.loc[cells["mean"].idxmin()]
        colour, marker = styles[method]
        axis.scatter(
            best["mean"],
            best[column],
            marker=marker,
            color=colour,
            s=50 if device == "cpu" else 90,
            alpha=0.85,
            label=f"{method} ({device}, bs {best['batch_size']})",
        )
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    plain_log_axis(axis.xaxis)
    axis.set(
        xscale="log",
        xlabel="wall time at the best batch size [s] (log)",
        ylabel="entity F1 against CoNLL gold" if has_f1 else "agreement with the reference [%]",
        title="Accuracy against time (up and to the left is better)",
    )
    axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(out, dpi=120)
    plt.close(figure)


def labelled(summary: pd.DataFrame) -> pd.DataFrame:
    """With several machines, a method's line is the method on one machine: "epyc: ort-lean"."""
    if "machine" in summary and summary["machine"].nunique() > 1:
        return summary.assign(method=summary["machine"] + ": " + summary["method"])
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("summary")
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    summary = labelled(read_summary(args.summary))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    time_against_batch_size(summary, args.out_dir / "time_vs_batch_size.png")
    phase_breakdown(summary, args.out_dir / "phases.png")
    accuracy_against_time(summary, args.out_dir / "accuracy_vs_time.png")


if __name__ == "__main__":
    main()
