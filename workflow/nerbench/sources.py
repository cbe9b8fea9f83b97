"""The files each job's result depends on, derived from what its code imports, so that the rules'
inputs follow the code: the three classes of files of docs/contributing.md.

- **Timed code**: a method's program and every module of the repository it imports, directly or
  through others, with the files they read. Editing one re-times that method's cells.
- **The timing harness**: what a timed job runs around the program (`timing/run_cell.py` and what
  it imports). Editing it re-times every cell, so it is kept small and imports little.
- **Analysis**: every other step and what it imports. Editing it re-runs those steps and never
  re-times a cell.

A module "imports" what its `import` statements name, wherever they stand (a lazy import inside a
function counts): a module or package of the repository found on the path a step or program runs
with (its own folder, then workflow/scripts, workflow and scripts), or a relative import. From
`from package import name`, a submodule `name` counts too. A module "reads" a file when a string
literal in its code (not a docstring) names a .json, .yaml or .py file that exists beside it or in
the repository's code folders (`Path(__file__).with_name("positions.json")`, `"workflow/methods.yaml"`).

The record's format (nerbench/record.py) is part of no timed job's inputs: it is versioned, and
reads every older record, so a cell written by an older format stays valid.
"""

import ast
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Where the steps and programs find their imports (workflow/scripts/common.py puts them there).
IMPORT_ROOTS = ("workflow/scripts", "workflow", "scripts")
CODE_FOLDERS = ("workflow", "scripts")
DATA_SUFFIXES = (".json", ".yaml", ".yml", ".py")
# Versioned formats that timed code writes and every reader reads in all versions: editing one
# re-times nothing.
VERSIONED_FORMATS = frozenset({"workflow/nerbench/record.py"})
HARNESS = ("workflow/scripts/timing/run_cell.py",)


def relative(path: Path) -> str:
    return str(path.resolve().relative_to(REPO))


@cache
def dependencies(script: str, leaves: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Every repository file a script depends on (itself included), repository-relative and sorted:
    what it imports, transitively, and the files those modules read; `leaves` are taken as they
    are, not followed into."""
    start = (REPO / script).resolve()
    roots = [start.parent, *(REPO / root for root in IMPORT_ROOTS)]
    seen: set[Path] = set()
    pending = [start]
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        if module.suffix == ".py" and relative(module) not in leaves:
            pending += imported_files(module, roots) + read_files(module)
    return tuple(sorted(relative(path) for path in seen))


def code_dependencies(script: str) -> list[str]:
    """`dependencies` but for the versioned formats (and what only they import): what a timed
    job's result depends on."""
    return [path for path in dependencies(script, VERSIONED_FORMATS) if path not in VERSIONED_FORMATS]


def harness_files() -> list[str]:
    """The timing harness: what every timed job runs around its program."""
    return sorted({path for script in HARNESS for path in code_dependencies(script)})


@cache  # both walks of every module, and every script that imports it, read it once per process
def syntax(module: Path) -> ast.Module:
    return ast.parse(module.read_text(encoding="utf-8"), filename=str(module))


def imported_files(module: Path, roots: list[Path]) -> list[Path]:
    found = []
    for node in ast.walk(syntax(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found += resolve(alias.name, roots)
        elif isinstance(node, ast.ImportFrom):
            base = [package_of(module, node.level)] if node.level else roots
            name = node.module or ""
            found += resolve(name, base) if name else []
            for alias in node.names:
                found += resolve(f"{name}.{alias.name}" if name else alias.name, base)
    return [path.resolve() for path in found]


def package_of(module: Path, level: int) -> Path:
    folder = module.parent
    for _ in range(level - 1):
        folder = folder.parent
    return folder


def resolve(dotted: str, roots: list[Path]) -> list[Path]:
    """The files importing `dotted` runs: each package's __init__.py on the way, and the module."""
    parts = dotted.split(".")
    for root in roots:
        candidate = root.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            packages = [root.joinpath(*parts[:end]) / "__init__.py" for end in range(1, len(parts) + 1)]
            module = [candidate.with_suffix(".py")] if candidate.with_suffix(".py").is_file() else []
            return [path for path in packages if path.is_file()] + module
    return []


def read_files(module: Path) -> list[Path]:
    """Files of the repository's code folders that a string literal of the module names."""
    tree = syntax(module)
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in docstrings:
            continue
        text = node.value
        if not text.endswith(DATA_SUFFIXES) or "\n" in text or len(text) > 200:
            continue
        for candidate in (module.parent / text, REPO / text):
            if candidate.is_file() and in_code_folders(candidate) and candidate.resolve() != module.resolve():
                found.append(candidate.resolve())
    return found


def in_code_folders(path: Path) -> bool:
    top = path.resolve().relative_to(REPO).parts[0] if path.resolve().is_relative_to(REPO) else None
    return top in CODE_FOLDERS
