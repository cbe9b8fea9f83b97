"""JSON-schema validation that fills in the schema's defaults and words its first error as one
line naming the key (`benchmark.batch_sizes[1]: 0 is less than the minimum of 1`)."""

import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def load_schema(path: str) -> dict:
    """A schema by its path in the repository (workflow/schemas/...)."""
    return yaml.safe_load((REPO / path).read_text())


def key_path(path) -> str:
    """`benchmark.batch_sizes[1]` for the path ("benchmark", "batch_sizes", 1)."""
    text = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in path)
    return text.replace(".[", "[") or "config"


def errors(document, schema: dict) -> list:
    """Every error, ordered by where it is; defaults are filled in as the document is walked."""
    import jsonschema

    validator_class = jsonschema.validators.validator_for(schema)

    def set_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for name, property_schema in properties.items():
                if "default" in property_schema:
                    instance.setdefault(name, json.loads(json.dumps(property_schema["default"])))
        yield from validator_class.VALIDATORS["properties"](validator, properties, instance, subschema)

    # JSON Schema counts 8.0 as an integer; nerbench would then name files bs8.0 or test-1.0k.
    whole_numbers_only = validator_class.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    with_defaults = jsonschema.validators.extend(
        validator_class, {"properties": set_defaults}, type_checker=whole_numbers_only
    )
    return sorted(with_defaults(schema).iter_errors(document), key=lambda error: sort_key(error.absolute_path))


def sort_key(path) -> list[tuple]:
    """Keys in name order, list items in index order (a path mixes names and indexes)."""
    return [(isinstance(part, str), part) for part in path]


def first_error(document, schema: dict) -> str | None:
    """The first error as one line, or None when the document is valid."""
    found = errors(document, schema)
    if not found:
        return None
    error = found[0]
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{key_path(error.absolute_path)}: unknown key(s): {', '.join(unknown)}"
    return f"{key_path(error.absolute_path)}: {error.message}"
