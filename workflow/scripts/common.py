"""What the pipeline's steps share.

The steps (this folder) are what Snakemake runs around the timed programs; the timed programs
themselves and their shared core, `nerlib`, live in the repository's scripts/ folder. Importing
this module puts scripts/ on the import path, so a step can use `nerlib` (the corpus reader, the
batching the FLOP count must mirror, atomic writes) whether Snakemake or a person runs it.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
METHOD_SCRIPTS = REPO / "scripts"

if str(METHOD_SCRIPTS) not in sys.path:
    sys.path.insert(0, str(METHOD_SCRIPTS))
