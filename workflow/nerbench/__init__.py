"""The model of the benchmark grid, imported by the rules, every step and the tests. Import the
module you need (`from nerbench.grid import Grid`): the package imports nothing itself, so the
timing harness, which needs only `record` and `host`, does not depend on the rest.

- `registry`: workflow/methods.yaml, loaded and validated once, and the method-name grammar
  PROGRAM[@VARIANT][+OPTION...] (`Method`).
- `config`: the config's validation against its schema, with defaults and one-line errors.
- `grid`: a `Machine`, a `Cell` (machine, method, device, batch size) with its key, its label,
  its command and every file it owns, and `Grid`, the cells a config asks for with the paths the
  pipeline owns; the manifest that hands the grid to a step in a file, never on a command line.
- `record`: a cell's record (what a timed job writes) and summary.csv's row, typed, with units
  and a schema version; the status values a cell can have.
- `trust`: how far to trust a cell's numbers (contention, slow host, unstable runs).
- `stats`: intervals on ratios of times, and the tests that say whether two cells differ.
- `sources`: the files each job depends on, derived from what its code imports.
- `layout`, `host`, `jobs`, `schema`: where the pipeline writes, what the host's CPU offers, what
  a timed job's scheduler time must allow, JSON-schema validation with one-line errors.

It needs the standard library and PyYAML; jsonschema only to validate.
"""
