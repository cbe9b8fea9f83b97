"""The grid model and the config: the name grammar, the cells and their files, what re-times a cell, refusals.

The grid model (workflow/nerbench) is what the rules, the steps and these tests import: the name
grammar, the cells a config asks for with their keys and files, what re-times a cell, and the
config's refusals, each in one line naming the key. Unit tests: no Snakemake, no model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REGISTRY, REPO, config_error_of, config_of, grid_of
from nerbench.config import minimum_runtime
from nerbench.grid import CellKey, Grid
from nerbench.registry import Registry, RegistryError

DEFAULT = config_of({})
TEN_MACHINES = {"machines": [{"name": f"m{index}", "partition": f"p{index}", "cpus": 2} for index in range(10)]}


# ---- the name grammar ----


@given(
    program=st.sampled_from(sorted(REGISTRY.methods)),
    variant=st.one_of(st.none(), st.sampled_from(sorted(REGISTRY.variants))),
    options=st.lists(st.sampled_from(sorted(REGISTRY.options)), unique=True),
)
def test_a_name_in_registry_order_parses_into_its_parts(program, variant, options):
    in_order = [option for option in REGISTRY.options if option in options]
    name = program + (f"@{variant}" if variant else "") + "".join(f"+{option}" for option in in_order)
    method = REGISTRY.parse(name)
    assert (method.name, method.program, method.variant, list(method.options)) == (name, program, variant, in_order)


@pytest.mark.parametrize(
    "name", ["magic", "ort-lean+dp+sort", "ort-lean@int8@o2", "ort-lean+sort+sort", "ort-lean@", "+sort", ""]
)
def test_names_outside_the_grammar_are_refused(name):
    with pytest.raises(ValueError, match="is not PROGRAM"):
        REGISTRY.parse(name)


def test_a_method_is_made_of_its_registry_parts():
    method = REGISTRY.parse("onnxruntime-ner@int8+sort+dp")
    assert method.dtype == "int8" and method.devices == {"cpu"} and method.sort
    assert method.arguments == ["--sort", "--workers", "{threads}"]
    assert method.model_folder == "onnx-int8" and method.built


def test_a_ctranslate2_method_reads_the_conversion_its_variant_names():
    assert REGISTRY.parse("ct2-lean").model_folder == "ct2"
    quantized = REGISTRY.parse("ct2-lean@int8+sort+dp")
    assert quantized.model_folder == "ct2-int8" and quantized.dtype == "int8" and quantized.devices == {"cpu"}
    assert REGISTRY.model_folders("ct2") == ["ct2", "ct2-int8"]
    assert "onnx-int8" in REGISTRY.model_folders("onnx") and "ct2" not in REGISTRY.model_folders("onnx")


@pytest.mark.parametrize("method", ["baseline", "ct2-lean@int8"])
def test_a_method_that_needs_the_transformers_model_is_refused_for_an_onnx_export_alone(method, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.onnx").write_bytes(b"")
    override = {"model": {"source": "local", "local": {"path": str(tmp_path)}}, "benchmark": {"methods": [method]}}
    line = config_error_of(override, tmp_path)
    assert f"config error: benchmark.methods[0]: {method} runs the transformers model" in line, line
    assert config_error_of({**override, "benchmark": {"methods": ["ort-lean@int8"]}}, tmp_path) is None


@pytest.mark.parametrize(
    "kind, name, key, value, message",
    [
        (
            "options",
            "u8u8",
            "variants",
            ["int8", "int9"],
            "options.u8u8.variants: int9: not one of the registry's variants",
        ),
        (
            "options",
            "dp",
            "methods",
            ["ort-lean", "ort-lena"],
            "options.dp.methods: ort-lena: not one of the registry's methods",
        ),
        (
            "variants",
            "o2",
            "methods",
            ["ort-hf", "ort_hf"],
            "variants.o2.methods: ort_hf: not one of the registry's methods",
        ),
    ],
)
def test_what_an_entry_applies_to_must_be_in_the_registry(kind, name, key, value, message):
    document = yaml.safe_load((REPO / "workflow/methods.yaml").read_text())
    document[kind][name][key] = value
    with pytest.raises(RegistryError) as refused:
        Registry(document, REPO)
    assert str(refused.value) == f"workflow/methods.yaml: {message}"


# ---- the cells ----


def test_the_default_grid_has_every_method_on_the_devices_it_runs_on():
    grid = grid_of({})
    expected = sum(len(REGISTRY.parse(m).devices) for m in DEFAULT["benchmark"]["methods"]) * 5
    assert len([cell for cell in grid.cells if not cell.serving]) == expected
    assert {cell.machine.name for cell in grid.cells} == {"local"}
    assert grid.cell(CellKey("local", "ort-lean", "cpu", 8)).path("result") == "results/cells/ort-lean/cpu-bs8.json"


def test_without_a_gpu_the_cuda_cells_are_not_runnable():
    grid = grid_of({}, devices=("cpu",))
    assert {cell.device for cell in grid.runnable()} == {"cpu"}
    assert grid.unavailable() and all(cell.device == "cuda" for cell in grid.unavailable())


def test_ten_machines_give_1300_cells_whose_keys_and_files_are_all_different():
    grid = grid_of(TEN_MACHINES)
    assert len([cell for cell in grid.cells if not cell.serving]) == 1300
    assert len({cell.key for cell in grid.cells}) == len(grid.cells)
    files = [cell.path(kind) for cell in grid.cells for kind in cell.files]
    assert len(set(files)) == len(files)
    cell = grid.cell(CellKey("m3", "ort-lean+sort", "cpu", 32))
    assert cell.path("check") == "results/machines/m3/checks/ort-lean+sort/cpu-bs32.json"
    assert "m3" in cell.label and grid.cell_at("machines/m3/", "ort-lean+sort", "cpu", "32") is cell


def test_the_manifest_gives_a_step_the_same_grid(tmp_path):
    grid = grid_of(TEN_MACHINES, devices=("cpu",))
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(grid.manifest()))
    again = Grid.from_manifest(path)
    assert [(c.key, c.lacking, c.path("result")) for c in again.cells] == [
        (c.key, c.lacking, c.path("result")) for c in grid.cells
    ]
    assert path.stat().st_size < 20_000, "the manifest holds the config, not the cells"


# ---- what re-times a cell ----


def settings_by_key(override: dict) -> dict:
    grid = grid_of(override)
    return {cell.key: grid.timing_settings(cell, "hyperfine 1.20.0") for cell in grid.cells}


GROWING_EDITS = {
    "a batch size": {"benchmark": {"batch_sizes": [1, 8, 16, 32, 64, 128]}},
    "a method": {"benchmark": {"methods": [*DEFAULT["benchmark"]["methods"], "ort-hf@o2"]}},
    "reordered lists": {
        "benchmark": {
            "methods": list(reversed(DEFAULT["benchmark"]["methods"])),
            "batch_sizes": [128, 64, 32, 8, 1],
            "devices": ["cuda", "cpu"],
        }
    },
}


@pytest.mark.parametrize("edit", GROWING_EDITS)
def test_growing_or_reordering_the_grid_changes_no_measured_cell(edit):
    before, after = settings_by_key({}), settings_by_key(GROWING_EDITS[edit])
    assert set(before) <= set(after)
    assert all(after[key] == settings for key, settings in before.items())


def test_adding_a_machine_changes_no_other_machines_cells():
    one = {"machines": [{"name": "epyc", "devices": ["cpu"]}]}
    two = {"machines": [*one["machines"], {"name": "xeon", "partition": "xeon", "cpus": 2, "devices": ["cpu"]}]}
    before, after = settings_by_key(one), settings_by_key(two)
    assert all(after[key] == settings for key, settings in before.items())
    assert {key.machine for key in set(after) - set(before)} == {"xeon"}


@pytest.mark.parametrize(
    "edit",
    [{"benchmark": {key: value}} for key, value in (("warmup", 2), ("runs", 5), ("threads", 1))]
    + [{"benchmark": {"timeout_s": 60}}],
)
def test_what_changes_a_measurement_changes_every_cells_settings(edit):
    """hyperfine's warm-up and runs are a process cell's: a serving cell's runs are LoadGen's."""
    before, after = settings_by_key({}), settings_by_key(edit)
    hyperfines = "warmup" in edit["benchmark"] or "runs" in edit["benchmark"]
    assert all(
        after[key] != settings for key, settings in before.items() if key.scenario == "process" or not hyperfines
    )


def test_a_machines_entry_changes_only_its_own_cells():
    machines = [{"name": "a", "devices": ["cpu"]}, {"name": "b", "partition": "gpu", "cpus": 2, "devices": ["cpu"]}]
    edited = [machines[0], {**machines[1], "devices": ["cpu", "cuda"]}]
    before, after = settings_by_key({"machines": machines}), settings_by_key({"machines": edited})
    for key, measured in before.items():
        assert (after[key] == measured) == (key.machine == "a")


def test_a_registry_entry_changes_only_the_cells_of_methods_made_of_it():
    grid = grid_of({})
    before = {cell.key: grid.timing_settings(cell, "h") for cell in grid.cells}
    grid.registry.options["dp"] = {**grid.registry.options["dp"], "arguments": ["--workers", "1"]}
    try:
        after = {cell.key: grid.timing_settings(cell, "h") for cell in grid.cells}
    finally:
        grid.registry.options["dp"]["arguments"] = ["--workers", "{threads}"]
    for key, measured in before.items():
        assert (after[key] == measured) == ("+dp" not in key.method), key


def test_what_says_where_a_part_applies_or_what_it_is_changes_no_cell():
    """Allowing a new method an option, or rewording an `about`, re-times nothing."""
    grid = grid_of({})
    before = {cell.key: grid.timing_settings(cell, "h") for cell in grid.cells}
    int8, sort = grid.registry.variants["int8"], grid.registry.options["sort"]
    saved = dict(int8), dict(sort)
    int8.update(methods=[*int8["methods"], "ov-lean"], about="reworded")
    sort.update(methods=sorted(grid.registry.methods), devices=["cpu"])
    try:
        after = {cell.key: grid.timing_settings(cell, "h") for cell in grid.cells}
    finally:
        int8.clear(), int8.update(saved[0]), sort.clear(), sort.update(saved[1])
    assert after == before


@pytest.mark.parametrize(
    "model, key, model_type",
    [
        ({"source": "random", "random": {"preset": "electra-tiny"}}, "model.random.preset", "electra"),
        ({"source": "local", "local": {"path": "{folder}"}}, "model.local.path", "deberta-v2"),
    ],
)
def test_a_method_is_refused_a_model_type_it_cannot_run_before_the_model_is_built(model, key, model_type, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "deberta-v2"}))
    if "local" in model:
        model = {**model, "local": {"path": str(tmp_path)}}
    override = {"model": {"name": "m", **model}, "benchmark": {"methods": ["ort-lean", "ct2-lean@int8+sort"]}}
    line = config_error_of(override, tmp_path)
    assert line.endswith(
        "benchmark.methods[1]: ct2-lean@int8+sort runs models of type bert, camembert, distilbert, roberta, "
        f"xlm-roberta only; {key} gives one of type {model_type}"
    ), line
    assert config_error_of({**override, "benchmark": {"methods": ["ort-lean"]}}, tmp_path) is None


def test_the_methods_that_run_a_model_type_are_the_configs_others():
    from query import methods_for

    grid = grid_of({"benchmark": {"methods": ["baseline", "ct2-lean", "ct2-lean@int8+sort", "ort-lean"]}})
    assert methods_for(grid, "electra") == "[baseline, ort-lean]"
    assert methods_for(grid, "bert") == "[baseline, ct2-lean, ct2-lean@int8+sort, ort-lean]"


# ---- machines: identity and placement ----

MACHINE_ERRORS = [
    (
        {"machines": [{"name": "a", "devices": ["cpu"]}, {"name": "a"}]},
        "machines[1].name: a: also the name of machines[0]",
    ),
    ({"machines": [{"name": "box", "cpus": 8}]}, "machines[0].cpus: only a SLURM machine (one with a partition)"),
    (
        {"machines": [{"name": "epyc", "partition": "cpu", "cpus": 2, "runtime": 60}]},
        "machines[0].runtime: 60 min leaves no room for benchmark.quiet_start_s (30 s), benchmark.timeout_s (3600 s)",
    ),
    (
        {"machines": [{"name": "box", "cpu_features": ["bf16"]}]},
        "machines[0].cpu_features: only a SLURM machine (one with a partition)",
    ),
]


@pytest.mark.parametrize(
    "override,message", MACHINE_ERRORS, ids=["duplicate", "local cpus", "runtime", "local cpu features"]
)
def test_machines_that_cannot_be_timed_right_are_one_line(override, message, tmp_path):
    error = config_error_of(override, tmp_path)
    assert error is not None and message in error and "\n" not in error, error


def test_a_slurm_jobs_time_limit_outlasts_the_cells_time_limit():
    assert minimum_runtime(3600) * 60 >= 3600 + 300 + 300
    assert minimum_runtime(600, quiet_start_s=600) * 60 >= 600 + 600 + 300 + 300, "the quiet start too"
    grid = grid_of({"machines": [{"name": "epyc", "partition": "cpu", "cpus": 2}], "benchmark": {"timeout_s": 600}})
    assert grid.job_runtime(grid.machine("epyc")) == minimum_runtime(600, 30) == 21
    machine = {"name": "e", "partition": "c", "cpus": 2}
    assert config_error_of({"machines": [{**machine, "runtime": 71}]}, ".") is None
    assert "benchmark.quiet_start_s (30 s)" in config_error_of({"machines": [{**machine, "runtime": 70}]}, ".")


def query(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, str(REPO / "workflow/scripts/query.py"), *args], capture_output=True, text=True, cwd=cwd
    )


def test_make_cell_names_a_machines_cell_and_refuses_an_unknown_one_in_one_line(tmp_path):
    config = tmp_path / "two.yaml"
    config.write_text(json.dumps({"machines": [{"name": "epyc"}, {"name": "xeon", "partition": "xeon", "cpus": 2}]}))
    cell = ["--method", "ort-lean", "--device", "cpu", "--batch-size", "8", "config.yaml", str(config)]
    done = query("cell", "--machine", "xeon", *cell)
    assert done.returncode == 0 and done.stdout.strip() == "results/machines/xeon/cells/ort-lean/cpu-bs8.json"
    for machine, message in ((["--machine", "zen"], "MACHINE=zen: not a machine"), ([], "say which with MACHINE=")):
        done = query("cell", *machine, *cell)
        assert done.returncode != 0 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    done = query("cell", "--method", "ort-lean", "--device", "cpu", "--batch-size", "3", "config.yaml")
    assert done.returncode != 0 and "ort-lean -d cpu -b 3 on local is not a cell" in done.stderr
    assert query("value", "results", "config.yaml").stdout.strip() == "results"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(sorted(DEFAULT["benchmark"]["methods"])), min_size=1, max_size=6, unique=True))
def test_every_cell_of_any_grid_is_found_again_by_its_key(methods):
    grid = grid_of({"benchmark": {"methods": methods}, **TEN_MACHINES})
    for cell in grid.cells[:: max(1, len(grid.cells) // 50)]:
        assert grid.cell(cell.key) is cell


# ---- CPU features ----

BF16_GRID = {"benchmark": {"methods": ["ov-lean+sort", "ov-lean+sort+bf16"], "devices": ["cpu"], "batch_sizes": [8]}}


def test_a_method_that_needs_bf16_runs_only_where_the_cpu_has_it(tmp_path):
    without = Grid.from_config(config_of(BF16_GRID), ("cpu",), cpu_features=[])
    lacking = [cell for cell in without.cells if not cell.available]
    assert [cell.method.name for cell in without.runnable()] == ["ov-lean+sort"]
    assert [cell.lacking for cell in lacking] == ["CPU feature bf16"]
    manifest = tmp_path / "grid.json"
    manifest.write_text(json.dumps(Grid.from_config(config_of(BF16_GRID), ("cpu",), cpu_features=["bf16"]).manifest()))
    assert len(Grid.from_manifest(manifest).runnable()) == 2, "a step lays out the host's grid, not its own"


def test_a_slurm_machines_cpu_features_and_drift_say_where_and_how_far_and_retime_nothing(tmp_path):
    node = {"partition": "cpu", "cpus": 2}
    machines = [{"name": "zen3", **node}, {"name": "zen4", **node, "cpu_features": ["bf16"], "drift_pct": 4}]
    grid = Grid.from_config(config_of({**BF16_GRID, "machines": machines}), ("cpu",), cpu_features=["bf16"])
    assert sorted((cell.machine.name, cell.method.name) for cell in grid.unavailable()) == [
        ("zen3", "ov-lean+sort+bf16")
    ]
    unlisted = Grid.from_config(config_of({**BF16_GRID, "machines": [{"name": "zen4", **node}]}), ("cpu",))
    settings = {cell.key: grid.timing_settings(cell, "h") for cell in grid.cells}
    assert all(settings[cell.key] == unlisted.timing_settings(cell, "h") for cell in unlisted.cells)
    drifts = {machine.name: grid.drift_pct(machine) for machine in grid.machines}
    assert drifts == {"zen3": 0, "zen4": 4}, "a machine's own drift, else the grid's"
    elsewhere = Grid.from_config(config_of({**BF16_GRID, "machines": machines}), ("cpu", "cuda"), cpu_features=[])
    assert elsewhere.manifest() == grid.manifest(), "the login node's CPU and GPU are not the grid's"
    manifest = tmp_path / "grid.json"
    manifest.write_text(json.dumps(grid.manifest()))
    again = Grid.from_manifest(manifest)
    assert [(c.key, c.lacking) for c in again.cells] == [(c.key, c.lacking) for c in grid.cells]
    assert [c.unavailable_reason for c in again.unavailable()] == ["zen3 lacks CPU feature bf16"]


def test_the_schemas_name_the_cpu_features_nerbench_knows_and_a_wrong_override_is_one_line(monkeypatch):
    from nerbench.config import ConfigError
    from nerbench.host import CPU_FEATURES, host_cpu_features

    registry = yaml.safe_load((REPO / "workflow/schemas/methods.schema.yaml").read_text())
    config = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    option = registry["properties"]["options"]["additionalProperties"]["properties"]["cpu_features"]
    machine = config["properties"]["machines"]["items"]["properties"]["cpu_features"]
    assert set(option["items"]["enum"]) == set(machine["items"]["enum"]) == set(CPU_FEATURES)
    monkeypatch.setenv("NERBENCH_CPU_FEATURES", "avx512_bf16")
    with pytest.raises(ConfigError, match="NERBENCH_CPU_FEATURES: avx512_bf16: not a CPU feature"):
        host_cpu_features()
    monkeypatch.setenv("NERBENCH_CPU_FEATURES", "")
    assert host_cpu_features() == set()


def test_a_manifest_from_before_cpu_features_keeps_every_cell_it_had(tmp_path):
    grid = Grid.from_config(config_of(BF16_GRID), ("cpu",), cpu_features=[])
    manifest = {key: value for key, value in grid.manifest().items() if key != "cpu_features"}
    (tmp_path / "grid.json").write_text(json.dumps(manifest))
    assert len(Grid.from_manifest(tmp_path / "grid.json").runnable()) == 2


# ---- the config's refusals ----


BAD_CONFIGS = [
    ({"benchmark": {"methods": ["baseline", "magic"]}}, "benchmark.methods[1]: 'magic' does not match"),
    (
        {"benchmark": {"methods": ["baseline@int8"]}},
        "benchmark.methods[0]: baseline@int8: @int8 applies to ort-hf, ort-lean, onnxruntime-ner, ct2-lean only",
    ),
    ({"benchmark": {"methods": ["baseline+dp"]}}, "benchmark.methods[0]: baseline+dp: +dp applies to ort-lean"),
    (
        {"benchmark": {"methods": ["ort-lean@int8+u8u8", "ort-lean@o2+u8u8"]}},
        "benchmark.methods[1]: ort-lean@o2+u8u8: +u8u8 applies to @int8, @int8s only",
    ),
    ({"benchmark": {"methods": ["ort-lean+u8u8"]}}, "benchmark.methods[0]: ort-lean+u8u8: +u8u8 applies to @int8"),
    (
        {"benchmark": {"methods": ["ov-lean"], "devices": ["cuda"]}},
        "benchmark.methods[0]: ov-lean runs on cpu only, and benchmark.devices is cuda",
    ),
    ({"machines": [{"name": "epyc", "partition": "cpu"}]}, "machines[0]: 'cpus' is a required property"),
    ({"benchmark": {"batch_sizes": [8, 0]}}, "benchmark.batch_sizes[1]: 0 is less than the minimum of 1"),
    ({"benchmark": {"devices": ["cpu", "tpu"]}}, "benchmark.devices[1]: 'tpu' is not one of"),
    ({"benchmark": {"runs": "three"}}, "benchmark.runs: 'three' is not of type 'integer'"),
    ({"benchmark": {"warp": 9}}, "benchmark: unknown key(s): warp"),
    ({"colour": "blue"}, "config: unknown key(s): colour"),
    ({"corpus": {"file": "no/such/corpus.txt"}}, "corpus.file: no/such/corpus.txt: no such file"),
    (
        {"model": {"source": "local", "local": {"path": "no/such/model"}}},
        "model.local.path: no/such/model: not a model directory",
    ),
    (
        {"model": {"source": "hub", "hub": {"id": "dslim/bert-base-NER", "revision": "main; rm -rf ~"}}},
        "model.hub.revision: 'main; rm -rf ~' does not match",
    ),
    ({"model": {"source": "hub"}}, "model: 'hub' is a required property"),
    ({"model": {"name": "a;rm -rf b"}}, "model.name: 'a;rm -rf b' does not match"),
    # Whole-number floats would name files bs8.0 or test-1.0k; braces would become wildcards.
    ({"benchmark": {"batch_sizes": [8.0]}}, "benchmark.batch_sizes[0]: 8.0 is not of type 'integer'"),
    ({"benchmark": {"runs": 3.0}}, "benchmark.runs: 3.0 is not of type 'integer'"),
    ({"corpus": {"sentences": 1000.0}}, "corpus.sentences: 1000.0 is not of type 'integer'"),
    ({"results": "out/{x}"}, "results: out/{x}: braces are not allowed in paths"),
    ({"corpus": {"file": "my{corpus}.txt"}}, "corpus.file: my{corpus}.txt: braces are not allowed in paths"),
    ({"model": {"source": "local", "local": {"path": "m{x}"}}}, "model.local.path: m{x}: braces are not allowed"),
]


@pytest.mark.parametrize("override,message", BAD_CONFIGS, ids=[m.split(":")[0] for _, m in BAD_CONFIGS])
def test_bad_config_is_one_line_naming_the_key(tmp_path, override, message):
    error = config_error_of(override, tmp_path)
    assert error is not None and error.startswith("nerbench: config error: ") and message in error, error
    assert "\n" not in error


def schema_leaves(schema, path=()):
    """Every settable key of the config schema, as a path of keys."""
    properties = schema.get("properties", {})
    if not properties:
        yield path
    for name, subschema in properties.items():
        yield from schema_leaves(subschema, path + (name,))


SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
# Siblings a leaf needs so that its own error is the first one (hub needs both id and revision).
COMPLETE = {("model", "hub"): {"id": "dslim/bert-base-NER", "revision": "0" * 40}}


@pytest.mark.parametrize("leaf", list(schema_leaves(SCHEMA)), ids=".".join)
def test_every_config_key_rejects_a_wrong_type_naming_the_key(tmp_path, leaf):
    override = node = {}
    for depth, name in enumerate(leaf[:-1]):
        node[name] = dict(COMPLETE.get(leaf[: depth + 1], {}))
        node = node[name]
    node[leaf[-1]] = {"not": "a valid value"}
    error = config_error_of(override, tmp_path)
    assert error is not None and error.startswith(f"nerbench: config error: {'.'.join(leaf)}: "), error


# ---- results that know their host ----


def test_a_results_folder_timed_on_another_host_is_refused_naming_both(tmp_path):
    """A local cell's host is part of what it measured: another CPU, or fewer CPUs allowed (taskset),
    may not time into the folder beside it, nor take its cells as done."""
    import synthetic

    grid = synthetic.build(tmp_path, {"benchmark": {"methods": ["ort-lean"], "batch_sizes": [8], "devices": ["cpu"]}})
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert grid.timed_elsewhere() is None
        cell = grid.cells[0]
        record = json.loads(Path(cell.path("result")).read_text())
        record["environment"]["cpu"].update(model="AMD EPYC", family="25", model_number="17")
        Path(cell.path("result")).write_text(json.dumps(record))
        refusal = grid.timed_elsewhere()
        assert refusal.startswith("results: results holds cells timed on AMD EPYC (family 25 model 17)")
        assert "this host is" in refusal and "give another results folder" in refusal and "\n" not in refusal
        record["environment"]["cpu"] = {**json.loads(json.dumps(record["environment"]["cpu"])), "family": None}
        record["environment"]["scheduler"]["allowed_cpus"] = 999
        Path(cell.path("result")).write_text(json.dumps(record))
        assert "999 CPU(s) allowed" in grid.timed_elsewhere()
    finally:
        os.chdir(previous)


def test_a_slurm_machines_limits_and_account_are_not_part_of_its_cells(tmp_path):
    """Raising `runtime` after SLURM killed a job, another account or memory, re-times nothing."""
    machine = {"name": "epyc", "partition": "cpu", "cpus": 64}
    edited = {**machine, "runtime": 300, "account": "other", "mem_mb": 9000, "slurm_extra": "--qos=x", "gres": "gpu:1"}
    before, after = settings_by_key({"machines": [machine]}), settings_by_key({"machines": [edited]})
    assert before == after


def test_an_nvidia_smi_that_hangs_is_no_gpu_and_one_line(tmp_path, monkeypatch, capsys):
    import nerbench.grid as grid_module

    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nsleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("NERBENCH_DEVICES", raising=False)
    monkeypatch.setattr(grid_module, "NVIDIA_SMI_TIMEOUT_S", 0.5)
    assert grid_module.host_devices() == {"cpu"}
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "nvidia-smi -L gave no answer within 0.5 s" in said


def test_more_methods_add_to_the_list_a_config_replaces(tmp_path):
    grid = grid_of({"benchmark": {"methods": ["ort-lean"], "more_methods": ["onnxruntime-ner", "ort-lean"]}}, tmp_path)
    assert [method.name for method in grid.methods] == ["ort-lean", "onnxruntime-ner"]
    assert config_error_of({"benchmark": {"more_methods": ["ort-lean+nosuch"]}}, tmp_path).startswith(
        "nerbench: config error: benchmark.more_methods[0]: 'ort-lean+nosuch' does not match"
    )
