"""The checks' account of differences: which entities differ from the reference, how sure the
reference was there (its margins), and what the tables and the final verify make of it."""

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from check_cell import NEAR_TIE_LOGITS, agreement, smallest_margin
from conftest import REPO, small_grid, write_manifest

STEPS = REPO / "workflow" / "scripts"


def entity(label: str, start: int, end: int) -> dict:
    return {"label": label, "start": start, "end": end, "text": "x" * (end - start)}


# ---- the differences, from data made by hand -----------------------------------------------------


def test_a_changed_label_is_listed_with_the_reference_margin_over_its_words():
    reference = [[entity("PER", 0, 5), entity("LOC", 10, 16)]]
    predicted = [[entity("PER", 0, 5), entity("ORG", 10, 16)]]
    margins = [[[0, 5, 7.5], [6, 9, 6.0], [10, 13, 0.04], [13, 16, 2.0]]]
    found = agreement(["Peter was in Berlin"], predicted, reference, margins)
    assert found["differing_sentences"] == 1 and found["near_tie_sentences"] == 1
    (item,) = found["differences"]
    assert item["reference"] == [entity("LOC", 10, 16)] and item["predicted"] == [entity("ORG", 10, 16)]
    assert item["reference_margin"] == 0.04 and item["near_tie"]
    assert round(found["agreement_pct"], 2) == 33.33  # PER shared; LOC and ORG each in one run only


def test_a_difference_where_the_reference_was_sure_is_not_a_near_tie():
    found = agreement(["Peter"], [[]], [[entity("PER", 0, 5)]], [[[0, 5, 7.5]]])
    (item,) = found["differences"]
    assert item["predicted"] == [] and item["reference_margin"] == 7.5 and not item["near_tie"]
    assert found["near_tie_sentences"] == 0 and found["agreement_pct"] == 0


def test_entities_past_the_truncation_have_no_margin_and_are_not_near_ties():
    assert smallest_margin([entity("PER", 100, 105)], [[0, 5, 0.01]]) is None
    found = agreement(["x"], [[entity("PER", 100, 105)]], [[]], [[[0, 5, 0.01]]])
    assert found["differences"][0]["reference_margin"] is None and not found["differences"][0]["near_tie"]


entities = st.lists(
    st.builds(entity, st.sampled_from(["PER", "ORG", "LOC", "MISC"]), st.integers(0, 20), st.integers(21, 40)),
    max_size=4,
    unique_by=lambda item: (item["label"], item["start"], item["end"]),
)


@given(st.lists(st.tuples(entities, entities, st.floats(0, 10)), min_size=1, max_size=8))
def test_differences_are_exactly_the_sentences_whose_entities_differ(rows):
    predicted, reference = [row[0] for row in rows], [row[1] for row in rows]
    margins = [[[0, 40, margin]] for *_, margin in rows]
    found = agreement(["x" * 40] * len(rows), predicted, reference, margins)
    keys = [
        ({tuple(e.values())[:3] for e in mine}, {tuple(e.values())[:3] for e in theirs}) for mine, theirs, _ in rows
    ]
    assert [item["line"] for item in found["differences"]] == [i + 1 for i, (a, b) in enumerate(keys) if a != b]
    assert (found["agreement_pct"] == 100) == (not found["differences"])
    for item in found["differences"]:
        assert item["near_tie"] == (rows[item["line"] - 1][2] < NEAR_TIE_LOGITS)
        assert not {tuple(e.values()) for e in item["predicted"]} & {tuple(e.values()) for e in item["reference"]}


# ---- the margins the pipeline writes ------------------------------------------------------------


def test_the_reference_margins_cover_every_line_and_match_the_onnx_export(smoke, smoke_models, tmp_path):
    """The smoke run's margins (baseline, torch) against the same model's ONNX export (ort-lean):
    one row per line, spans inside the line, the same gaps to a thousandth, the same predictions."""
    corpus = smoke["workdir"] / "data" / "test-50.txt"
    lines = corpus.read_text(encoding="utf-8").split("\n")[:-1]
    torch_rows = [json.loads(row) for row in (smoke["results"] / "reference-margins.jsonl").read_text().splitlines()]
    assert len(torch_rows) == len(lines)
    for line, row in zip(lines, torch_rows, strict=True):
        assert row and all(0 <= start < end <= len(line) and margin >= 0 for start, end, margin in row)
    onnx, predictions = tmp_path / "onnx-margins.jsonl", tmp_path / "onnx-reference.jsonl"
    subprocess.run(
        [sys.executable, STEPS / "reference.py", "--program", REPO / "scripts/ort-lean.py", "-m", smoke_models["onnx"]]
        + ["--predictions", predictions, "--margins", onnx, corpus],
        check=True,
    )
    assert predictions.read_bytes() == (smoke["results"] / "reference.jsonl").read_bytes()
    onnx_rows = [json.loads(row) for row in onnx.read_text().splitlines()]
    for torch_row, onnx_row in zip(torch_rows, onnx_rows, strict=True):
        assert [span[:2] for span in torch_row] == [span[:2] for span in onnx_row]
        assert max(abs(a[2] - b[2]) for a, b in zip(torch_row, onnx_row, strict=True)) < 1e-3


def test_a_program_without_one_backend_class_is_one_line(smoke_models, tmp_path):
    program = tmp_path / "nothing.py"
    program.write_text("x = 1\n")
    done = subprocess.run(
        [sys.executable, STEPS / "reference.py", "--program", program, "-m", smoke_models["onnx"]]
        + ["--predictions", tmp_path / "p", "--margins", tmp_path / "m", REPO / "tests/data/tricky.txt"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and done.stderr.strip() == (
        f"reference.py: error: {program}: defines 0 backend classes (a class with logits()), not one"
    )
    assert not (tmp_path / "p").exists() and not (tmp_path / "m").exists()


# ---- what verify and the tables make of a difference --------------------------------------------


def altered_cell(smoke, tmp_path, margin_override=None):
    """An fp32 cell whose predictions are the reference's with one entity relabelled: the entity
    the reference was surest of, or, with `margin_override`, any entity with its margins set so."""
    results = smoke["results"]
    reference = (results / "reference.jsonl").read_text(encoding="utf-8").splitlines()
    margins = [json.loads(row) for row in (results / "reference-margins.jsonl").read_text().splitlines()]
    candidates = [
        (smallest_margin([item], margins[index]), index, position)
        for index, row in enumerate(reference)
        for position, item in enumerate(json.loads(row))
    ]
    _, index, position = max(candidates)
    entities = json.loads(reference[index])
    entities[position]["label"] = "MISC" if entities[position]["label"] != "MISC" else "ORG"
    predictions = tmp_path / "predictions.jsonl"
    altered = reference[:index] + [json.dumps(entities)] + reference[index + 1 :]
    predictions.write_text("".join(row + "\n" for row in altered), encoding="utf-8")
    if margin_override is not None:
        margins[index] = [[start, end, margin_override] for start, end, _ in margins[index]]
    margins_path = tmp_path / "margins.jsonl"
    margins_path.write_text("".join(json.dumps(row) + "\n" for row in margins))
    grid = small_grid(tmp_path / "results")
    cell = grid.cells[0]
    identity = {**cell.key._asdict(), "log": cell.path("log"), "predictions": str(predictions)}
    for kind in ("result", "check"):
        Path(cell.path(kind)).parent.mkdir(parents=True, exist_ok=True)
    Path(cell.path("result")).write_text(json.dumps({"status": "ok", "cell": identity}))
    subprocess.run(
        [sys.executable, STEPS / "check_cell.py", "--cell", cell.path("result"), "--predictions", predictions]
        + ["--reference"]
        + [results / "reference.jsonl", "--margins", margins_path, "--corpus", smoke["workdir"] / "data/test-50.txt"]
        + ["--dtype", "fp32", "--out", cell.path("check")],
        check=True,
        capture_output=True,
    )
    return index + 1, grid


def run_verify(grid):
    manifest = write_manifest(grid)
    return subprocess.run(
        [sys.executable, STEPS / "verify.py", "--grid", manifest, grid.results("verified.txt")],
        capture_output=True,
        text=True,
    )


def test_an_fp32_difference_where_the_reference_was_sure_fails_verify_naming_the_line(smoke, tmp_path):
    line, grid = altered_cell(smoke, tmp_path)
    found = json.loads(Path(grid.cells[0].path("check")).read_text())
    assert found["differing_sentences"] == 1 and found["near_tie_sentences"] == 0
    done = run_verify(grid)
    assert done.returncode == 1 and f"first at line {line} " in done.stderr, done.stderr
    assert "ort-lean -d cpu -b 8 on local" in done.stderr, "verify names the cell with its machine"
    assert not Path(grid.results("verified.txt")).exists()


def test_an_fp32_difference_at_a_near_tie_passes_verify_and_the_tables_say_so(smoke, tmp_path):
    from aggregate import DifferingCell, agreement_flag, differences_section

    line, grid = altered_cell(smoke, tmp_path, margin_override=0.01)
    found = json.loads(Path(grid.cells[0].path("check")).read_text())
    assert found["near_tie_sentences"] == found["differing_sentences"] == 1
    done = run_verify(grid)
    assert done.returncode == 0 and "all at near-ties" in done.stdout, done.stderr
    row = {"agreement_pct": found["agreement_pct"], "dtype": "fp32", "differing_sentences": 1, "near_tie_sentences": 1}
    assert agreement_flag(row) == " (near-ties)"
    assert agreement_flag({**row, "near_tie_sentences": 0}) == " **DISAGREES**"
    section = differences_section([DifferingCell("altered", "cpu", 8, "fp32", found)])
    assert f"line {line}: the reference found" in section and "reference margin 0.010, a near-tie" in section
