"""One method's program run on many models in one process, each run as its command line would run
it (`__main__`, its own argv, its own stderr): the family tests need 42 runs, and a new process per
run would import torch and transformers 42 times, most of those tests' time on a slow CPU.

    python tests/predict_many.py PROGRAM RUNS.json

RUNS.json: a list of {"argv": [...], "stderr": path}. A run's exit message and any traceback go to
its own stderr file, as the interpreter would write them; this process exits 0 once all have run.
"""

import contextlib
import io
import json
import runpy
import sys
import traceback
from pathlib import Path


def run_once(program: str, argv: list[str]) -> str:
    sys.argv = [program, *argv]
    with contextlib.redirect_stderr(io.StringIO()) as stderr:
        try:
            runpy.run_path(program, run_name="__main__")
        except SystemExit as exit:
            if isinstance(exit.code, str):
                print(exit.code, file=sys.stderr)
        except BaseException:  # what the interpreter would print before exiting
            traceback.print_exc()
    return stderr.getvalue()


def main() -> None:
    program, runs = sys.argv[1], json.loads(Path(sys.argv[2]).read_text())
    sys.path.insert(0, str(Path(program).resolve().parent))  # what `python PROGRAM` puts first
    for run in runs:
        Path(run["stderr"]).write_text(run_once(program, run["argv"]))


if __name__ == "__main__":
    main()
