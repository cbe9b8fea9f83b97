"""What every step imports first: it puts the grid model (`nerbench`, in workflow/) and the timed
programs' shared core (`nerlib`, in scripts/) on the import path, so a step runs the same whether
Snakemake or a person starts it.

The steps are grouped by stage (corpus/, model/, timing/, checks/, report/); each stage folder
holds a link to this file, since Python looks for `common` beside the step it runs. What steps of
several stages share lives in `nerbench`, never in another stage's folder.
"""

import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

for folder in (REPO / "scripts", REPO / "workflow"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def load_json(path: str | Path) -> dict | None:
    """A JSON file, or None when it is missing or unreadable (a cell that never finished)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
