#!/usr/bin/env python3
"""How long ONNX Runtime takes to create sessions of a model, loaded two ways: the export at the
default optimisation level, and the graph ONNX Runtime saved after its extended optimisations,
loaded with optimisation off (issue 21, item 2). One intra-op thread per session; "two" loads two
sessions side by side on threads, as the `+dp` methods do. Prints the median and the least of
--repeats loads of each.

  python tools/ort-load-times.py data/models/minilm-conll/onnx data/models/minilm-conll/onnx-int8
"""

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import onnxruntime

LEVELS = onnxruntime.GraphOptimizationLevel


def load(path: Path, level) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    options.graph_optimization_level = level
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_two(path: Path, level) -> list:
    with ThreadPoolExecutor(2) as pool:
        return [future.result() for future in [pool.submit(load, path, level) for _ in range(2)]]


def save_optimised(source: Path, target: Path) -> None:
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = LEVELS.ORT_ENABLE_EXTENDED  # portable: no layout changes
    options.optimized_model_filepath = str(target)
    onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path, help="model folders holding model.onnx")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for folder in args.folders:
            saved = Path(scratch) / f"{folder.name}.onnx"
            save_optimised(folder / "model.onnx", saved)
            ways = {
                "export, default": (folder / "model.onnx", LEVELS.ORT_ENABLE_ALL),
                "saved, none": (saved, LEVELS.ORT_DISABLE_ALL),
            }
            for way, (path, level) in ways.items():
                for count, loader in (("one", load), ("two", load_two)):
                    seconds = []
                    for _ in range(args.repeats):
                        started = time.perf_counter()
                        loader(path, level)
                        seconds.append(time.perf_counter() - started)
                    print(
                        f"{folder.name:12} {way:16} {count}: median {1000 * statistics.median(seconds):.0f} ms, "
                        f"least {1000 * min(seconds):.0f} ms"
                    )


if __name__ == "__main__":
    main()
