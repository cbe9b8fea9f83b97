"""The model of the benchmark grid, imported by the rules, every step and the tests.

- `registry`: workflow/methods.yaml, loaded and validated once, and the method-name grammar
  PROGRAM[@VARIANT][+OPTION...] (`Method`).
- `config`: the config's validation against its schema, with defaults and one-line errors.
- `grid`: a `Machine`, a `Cell` (machine, method, device, batch size) with its key, its label and
  every file it owns, the status values a cell and its check can have, and `Grid`, the cells a
  config asks for with the paths the pipeline owns; the manifest that hands the grid to a step
  in a file, never on a command line.

It needs the standard library and PyYAML; jsonschema only to validate.
"""

from nerbench.config import ConfigError, validate
from nerbench.grid import Cell, CellKey, Grid, Machine, Status, grid
from nerbench.registry import Method, Registry

__all__ = [
    "Cell",
    "CellKey",
    "ConfigError",
    "Grid",
    "Machine",
    "Method",
    "Registry",
    "Status",
    "grid",
    "validate",
]
