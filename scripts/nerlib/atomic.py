"""Writing a result file so that it is either complete or absent.

Every result file of the project (predictions, phase timings, cell results, checks, tables) is
written through here: into a temporary sibling that is renamed over the target only when the
write has finished. A program killed mid-write, or a write that fails (disk full), leaves no
file that a later run would take as done, and no temporary file behind.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


@contextmanager
def atomic_file(path: str | Path, binary: bool = False) -> Iterator:
    """A stream to write `path` through; the file appears only when the block ends normally."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") if binary else os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
        os.chmod(partial, 0o644)  # mkstemp's 0600 would hide results from the other users of a shared folder
        os.replace(partial, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(partial)
        raise


def write_text_atomically(path: str | Path, text: str) -> None:
    with atomic_file(path) as stream:
        stream.write(text)
