#!/usr/bin/env python3
"""Print the path of the ONNX Runtime shared library that the installed onnxruntime (or
onnxruntime-gpu) wheel ships, for the Rust binary's ORT_DYLIB_PATH; exit 1 with a message if
it is missing or older than the binary needs. Finds the package without importing it."""

import importlib.util
import re
import sys
from pathlib import Path

# onnxruntime-ner/Cargo.toml enables ort's api-22 feature: ONNX Runtime 1.22 or newer.
MINIMUM = (1, 22)


def library_version(library: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", library.name.split(".so.")[1]))


def library_path() -> Path:
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("ort_dylib.py: error: the onnxruntime package is not installed in this environment")
    libraries = list(Path(spec.submodule_search_locations[0], "capi").glob("libonnxruntime.so.*"))
    if not libraries:
        sys.exit("ort_dylib.py: error: the onnxruntime package ships no libonnxruntime.so.*")
    # By version number, as the Rust binary picks (1.31 is newer than 1.9).
    library = max(libraries, key=library_version)
    version = library_version(library)[:2]
    if version < MINIMUM:
        sys.exit(
            f"ort_dylib.py: error: {library} is ONNX Runtime {'.'.join(map(str, version))}; "
            f"onnxruntime-ner needs {'.'.join(map(str, MINIMUM))} or newer"
        )
    return library


if __name__ == "__main__":
    print(library_path())
