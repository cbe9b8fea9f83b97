"""The command line every method shares: `-d {cpu,cuda} -b N [-m MODEL] [-o OUT] FILE`."""

import argparse
import sys
from pathlib import Path

from .cores import physical_cores

CONFIG = Path("config.yaml")  # in the working directory, where `make bench` ran


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(description: str, model_kind: str, argv=None, extra_arguments=None) -> argparse.Namespace:
    """`model_kind` is the directory the method reads: "torch" (transformers), "onnx" (the export) or
    "ct2" (the CTranslate2 conversion);
    `extra_arguments(parser)` adds the options only one method has."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("file", help="UTF-8 text, one sentence per line")
    parser.add_argument("-d", "--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("-b", "--batch-size", type=positive_int, default=1)
    parser.add_argument(
        "-m", "--model", help=f"the model directory (default: data/models/<model.name of {CONFIG}>/{model_kind})"
    )
    parser.add_argument("-o", "--output", help="write predictions here as JSON Lines")
    parser.add_argument("--timings", help="write seconds per phase here as JSON")
    parser.add_argument(
        "--sort", action="store_true", help="batch sentences sorted by token count (output stays in input order)"
    )
    parser.add_argument(
        "--token-budget",
        action="store_true",
        help="cut batches at a padded-token budget (batch size x the corpus's mean tokens per sentence)"
        " rather than at batch size sentences",
    )
    parser.add_argument("--threads", type=positive_int, default=None, help="intra-op threads (default: physical cores)")
    if extra_arguments:
        extra_arguments(parser)
    args = parser.parse_args(argv)
    if args.threads is None:
        args.threads = physical_cores()
    workers = getattr(args, "workers", 1)
    if workers > args.threads or (workers > 1 and args.device != "cpu"):
        # The Rust binary's words (src/cli.rs), before any work starts.
        sys.exit(f"{parser.prog}: error: --workers {workers}: at most --threads ({args.threads}), on the CPU")
    return args


def add_workers_argument(parser: argparse.ArgumentParser, each: str) -> None:
    """Data parallelism (`+dp`), for the methods whose backend runs batches side by side; parse_args
    checks it against --threads and the device."""
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help=f"data parallelism: N {each} of threads/N threads each, taking batches as they come",
    )
