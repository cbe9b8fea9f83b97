"""Method programs run many times in one process, each run as its command line would run it
(`__main__`, its own argv, its own stderr, its exit status): a new process per run would import
torch and transformers each time, most of those tests' time on a slow CPU (the family tests need
42 runs; the one-line error tests of the torch methods a dozen).

    python tests/predict_many.py RUNS.json STATUSES.json

RUNS.json: a list of {"program": path, "argv": [...], "stderr": path}. A run's exit message and any
traceback go to its own stderr file, as the interpreter would write them; STATUSES.json gets the
runs' exit statuses, a list in their order, once all have run.
"""

import contextlib
import io
import json
import runpy
import sys
import traceback
from pathlib import Path


def run_once(program: str, argv: list[str]) -> tuple[int, str]:
    sys.argv = [program, *argv]
    sys.path.insert(0, str(Path(program).resolve().parent))  # what `python PROGRAM` puts first
    status = 0
    with contextlib.redirect_stderr(io.StringIO()) as stderr:
        try:
            runpy.run_path(program, run_name="__main__")
        except SystemExit as exit:  # as the interpreter turns SystemExit into a status
            if isinstance(exit.code, str):
                print(exit.code, file=sys.stderr)
            status = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
        except BaseException:  # what the interpreter would print before exiting
            traceback.print_exc()
            status = 1
        finally:
            sys.path.pop(0)
    return status, stderr.getvalue()


def main() -> None:
    runs, statuses = Path(sys.argv[1]), Path(sys.argv[2])
    found = []
    for run in json.loads(runs.read_text()):
        status, stderr = run_once(run["program"], run["argv"])
        Path(run["stderr"]).write_text(stderr)
        found.append(status)
    statuses.write_text(json.dumps(found))


if __name__ == "__main__":
    main()
