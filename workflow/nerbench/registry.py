"""The method registry (workflow/methods.yaml) and the grammar of a grid method's name.

A grid method is a program of the registry, optionally on an export variant and with run-time
options, the options in the registry's order: `PROGRAM[@VARIANT][+OPTION...]`, for example
`onnxruntime-ner@int8+sort+dp`. `Registry.parse` is the only place that reads such a name.
"""

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from nerbench import schema

REPO = Path(__file__).resolve().parents[2]
REGISTRY_FILE = "workflow/methods.yaml"
REGISTRY_SCHEMA = "workflow/schemas/methods.schema.yaml"
DEVICES = ("cpu", "cuda")
# Registry keys that say where a part applies or what it is, not how it runs: editing them (a new
# method allowed an option, a reworded `about`) re-times no cell.
NOT_MEASURED = frozenset(
    {"about", "methods", "variants", "devices", "scenarios", "model_types", "removes_padding", "cpu_features"}
    | {"attention_dtype"}
)
SCENARIOS = ("process", "offline", "single-stream", "server")


def measured(entry: dict) -> dict:
    """The part of a registry entry that a cell's measurement depends on."""
    return {key: value for key, value in entry.items() if key not in NOT_MEASURED}


class RegistryError(ValueError):
    """workflow/methods.yaml is wrong: one line naming the key."""


@dataclass(frozen=True)
class Method:
    """One grid method: a program, optionally on an export variant, with run-time options."""

    name: str
    program: str
    variant: str | None
    options: tuple[str, ...]
    registry: "Registry" = field(repr=False, compare=False)

    @property
    def entry(self) -> dict:
        """The program's registry entry."""
        return self.registry.methods[self.program]

    @property
    def parts(self) -> list[dict]:
        """The registry entries the method is made of: its program, variant and options."""
        variant = [self.registry.variants[self.variant]] if self.variant else []
        return [self.entry, *variant, *(self.registry.options[option] for option in self.options)]

    @property
    def dtype(self) -> str:
        """The number format: the variant's or an option's (bf16), else the program's."""
        return [part["dtype"] for part in self.parts if "dtype" in part][-1]

    def allowed_by_every_part(self, key: str, every: tuple[str, ...]) -> set[str]:
        """What each of the method's parts allows under `key` (a part without it allows `every`)."""
        return set(every).intersection(*(part.get(key, every) for part in self.parts))

    @property
    def devices(self) -> set[str]:
        """The devices every part of the method can run on."""
        return self.allowed_by_every_part("devices", DEVICES)

    @property
    def scenarios(self) -> set[str]:
        """The scenarios every part of the method can be timed in."""
        return self.allowed_by_every_part("scenarios", SCENARIOS)

    @property
    def attention_dtype(self) -> str:
        """The number format of its attention products: its variant's where that says, else its dtype."""
        return next((part["attention_dtype"] for part in self.parts if "attention_dtype" in part), self.dtype)

    @property
    def data_parallel(self) -> bool:
        """Whether it runs sessions side by side itself (+dp: --workers)."""
        return any(self.registry.data_parallel(option) for option in self.options)

    @property
    def cpu_features(self) -> set[str]:
        """The CPU features (nerbench.host.CPU_FEATURES) some part of the method needs."""
        return {feature for part in self.parts for feature in part.get("cpu_features", [])}

    @property
    def sort(self) -> bool:
        return "sort" in self.options

    @property
    def token_budget(self) -> bool:
        return "budget" in self.options

    @property
    def arguments(self) -> list[str]:
        """The program's own options for the method's run-time options (+sort: --sort); the cell
        fills in {threads}."""
        return [arg for option in self.options for arg in self.registry.options[option]["arguments"]]

    @property
    def arguments_without_sessions(self) -> list[str]:
        """Its options' arguments but the data-parallel ones (a server's predictors replace them)."""
        return [
            arg
            for option in self.options
            if not self.registry.data_parallel(option)
            for arg in self.registry.options[option]["arguments"]
        ]

    @property
    def model_kind(self) -> str:
        """torch (the transformers model), onnx (the export) or ct2 (the CTranslate2 conversion)."""
        return self.entry["model"]

    @property
    def model_folder(self) -> str:
        """The folder of the model directory it reads: torch, onnx, ct2, or <one of those>-<variant>."""
        return f"{self.model_kind}-{self.variant}" if self.variant else self.model_kind

    def runs_model_type(self, model_type: str) -> bool:
        """Whether it runs a model of this config.json model_type."""
        return model_type in self.entry.get("model_types", [model_type])

    @property
    def removes_padding(self) -> bool:
        """Whether its engine drops the padding before the position-wise layers (its FLOP count)."""
        return self.entry["removes_padding"]

    @property
    def built(self) -> bool:
        return self.entry["built"]

    @property
    def env(self) -> str:
        """Its conda env file, relative to the repository."""
        return f"envs/{self.entry['env']}.yaml"

    @property
    def executable(self) -> str:
        """What is run: a built program relative to the working directory, a script relative to
        the repository."""
        return self.entry["program"]

    def definition(self) -> dict:
        """What the registry says of this method: a cell is re-timed when this changes."""
        return {
            "program": {self.program: measured(self.entry)},
            "variant": {self.variant: measured(self.registry.variants[self.variant])} if self.variant else None,
            "options": {option: measured(self.registry.options[option]) for option in self.options},
        }

    def __str__(self) -> str:
        return self.name


class Registry:
    """workflow/methods.yaml, validated against its schema, its files checked to exist."""

    def __init__(self, document: dict, repo: Path = REPO):
        problem = schema.first_error(document, schema.load_schema(REGISTRY_SCHEMA))
        if problem:
            raise RegistryError(f"{REGISTRY_FILE}: {problem}")
        self.repo = repo
        self.methods: dict = document["methods"]
        self.variants: dict = document["variants"]
        self.options: dict = document["options"]
        self.reference: dict = document["reference"]
        for name, entry in self.methods.items():
            if not entry["built"] and not (repo / entry["program"]).is_file():
                raise RegistryError(f"{REGISTRY_FILE}: methods.{name}: {entry['program']}: no such file")
        # What a variant or an option applies to must exist: a misspelt name would disable it quietly.
        for key, known in (("methods", self.methods), ("variants", self.variants)):
            for kind, entries in (("variants", self.variants), ("options", self.options)):
                for name, entry in entries.items():
                    for unknown in set(entry.get(key, [])) - set(known):
                        raise RegistryError(
                            f"{REGISTRY_FILE}: {kind}.{name}.{key}: {unknown}: not one of the registry's {key}"
                        )
        for kind, name in self.reference.items():
            if name not in self.methods:
                raise RegistryError(f"{REGISTRY_FILE}: reference.{kind}: {name}: not a method of the registry")
        names = [re.escape(name) for name in self.methods]
        variants = [re.escape(name) for name in self.variants]
        self.pattern = f"(?P<program>{'|'.join(names)})(@(?P<variant>{'|'.join(variants)}))?" + "".join(
            f"(?P<{self.group(option)}>\\+{re.escape(option)})?" for option in self.options
        )
        self._compiled = re.compile(self.pattern)

    def data_parallel(self, option: str) -> bool:
        """Whether an option runs sessions side by side (its arguments give --workers)."""
        return "--workers" in self.options[option]["arguments"]

    @staticmethod
    def group(option: str) -> str:
        return "option_" + re.sub(r"\W", "_", option)

    @classmethod
    @cache
    def load(cls, repo: Path = REPO) -> "Registry":
        return cls(yaml.safe_load((repo / REGISTRY_FILE).read_text()), repo)

    @property
    def wildcard_pattern(self) -> str:
        """The grammar for a Snakemake wildcard constraint (no named groups)."""
        return re.sub(r"\(\?P<\w+>", "(", self.pattern)

    def parse(self, name: str) -> Method:
        """The method a name means; ValueError where the name does not follow the grammar."""
        match = self._compiled.fullmatch(name)
        if match is None:
            raise ValueError(f"{name!r} is not PROGRAM[@VARIANT][+OPTION...] of {REGISTRY_FILE}")
        options = tuple(option for option in self.options if match.group(self.group(option)))
        return Method(name, match.group("program"), match.group("variant"), options, self)

    def misapplied(self, method: Method) -> str | None:
        """Why a variant or option of the method does not apply to its program, if it does not."""
        parts = [(f"@{method.variant}", self.variants[method.variant])] if method.variant else []
        parts += [(f"+{option}", self.options[option]) for option in method.options]
        for label, entry in parts:
            if method.program not in entry.get("methods", [method.program]):
                return f"{label} applies to {', '.join(entry['methods'])} only"
            if method.variant not in entry.get("variants", [method.variant]):
                return f"{label} applies to {', '.join('@' + name for name in entry['variants'])} only"
        return None

    def model_folders(self, kind: str) -> list[str]:
        """Every model folder a method of this model kind can read: the plain one and its variants'."""
        programs = [name for name, entry in self.methods.items() if entry["model"] == kind]
        methods = [self.parse(program) for program in programs] + [
            self.parse(f"{program}@{variant}")
            for program in programs
            for variant, entry in self.variants.items()
            if program in entry.get("methods", [program])
        ]
        return sorted({method.model_folder for method in methods})

    def reference_method(self, model_format: str) -> Method:
        """The method every cell is compared with, for a transformers model or an ONNX export alone."""
        return self.parse(self.reference[model_format])
