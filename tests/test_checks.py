"""The checks: which entities differ from the reference, how sure it was there, what verify makes of it.

The checks' account of differences, on data made by hand and on the gaps the pipeline writes (how
sure the reference was at each word-piece), and what the tables and the final verify make of it."""

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from check_cell import NEAR_TIE_LOGITS, agreement, entity_gap
from conftest import LEAN, REPO, STEPS, TRICKY, run_rust, small_grid, write_manifest

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def entity(label: str, start: int, end: int) -> dict:
    return {"label": label, "start": start, "end": end, "text": "x" * (end - start)}


def piece(start: int, end: int, best: str, **gaps: float) -> list:
    """A reference word-piece: its characters and how far each label's logit was below its best
    label's (`best`, at 0); labels not named are far below (9 logits)."""
    named = {label.replace("_", "-"): gap for label, gap in gaps.items()}
    return [start, end, {label: 0.0 if label == best else named.get(label, 9.0) for label in LABELS}]


def check(lines, predicted, reference, pieces, device="cpu"):
    return agreement(lines, predicted, reference, pieces, NEAR_TIE_LOGITS[device])


# ---- the differences, from data made by hand -----------------------------------------------------


def test_a_changed_label_is_listed_with_the_gap_of_the_label_the_cell_chose():
    reference = [[entity("PER", 0, 5), entity("LOC", 13, 19)]]
    predicted = [[entity("PER", 0, 5), entity("ORG", 13, 19)]]
    pieces = [[piece(0, 5, "B-PER"), piece(6, 9, "O"), piece(10, 12, "O"), piece(13, 19, "B-LOC", B_ORG=0.004)]]
    found = check(["Peter was in Berlin"], predicted, reference, pieces)
    assert found["differing_sentences"] == 1 and found["near_tie_sentences"] == 1
    (item,) = found["differences"]
    assert [e["label"] for e in item["reference"]] == ["LOC"] and [e["label"] for e in item["predicted"]] == ["ORG"]
    assert item["gap"] == 0.004 and item["near_tie"]
    assert round(found["agreement_pct"], 2) == 33.33  # PER shared; LOC and ORG each in one run only


def test_a_difference_where_the_reference_was_sure_is_not_a_near_tie():
    found = check(["Peter"], [[]], [[entity("PER", 0, 5)]], [[piece(0, 5, "B-PER", O=7.5)]])
    (item,) = found["differences"]
    assert item["predicted"] == [] and item["gap"] == 7.5 and not item["near_tie"]
    assert found["near_tie_sentences"] == 0 and found["agreement_pct"] == 0


def test_one_near_tie_does_not_excuse_a_sure_difference_in_the_same_sentence():
    """EU turned ORG -> LOC where the reference was sure (6.0), German MISC -> PER at a near-tie."""
    line = "EU rejects German call"
    reference = [[entity("ORG", 0, 2), entity("MISC", 11, 17)]]
    predicted = [[entity("LOC", 0, 2), entity("PER", 11, 17)]]
    pieces = [[piece(0, 2, "B-ORG", B_LOC=6.0), piece(3, 10, "O"), piece(11, 17, "B-MISC", B_PER=0.005)]]
    (item,) = check([line], predicted, reference, pieces)["differences"]
    assert not item["near_tie"] and item["gap"] == 6.0
    by_text = {(e["label"], e["start"]): e["near_tie"] for e in item["predicted"] + item["reference"]}
    assert by_text == {("LOC", 0): False, ("ORG", 0): False, ("PER", 11): True, ("MISC", 11): True}


def test_a_tie_between_two_labels_does_not_excuse_a_third():
    """B-PER and I-PER were tied at Berlin's piece; the cell chose ORG, far below both."""
    reference = [[entity("PER", 0, 6)]]
    predicted = [[entity("ORG", 0, 6)]]
    pieces = [[piece(0, 6, "B-PER", I_PER=0.001, B_ORG=3.0, I_ORG=3.5)]]
    (item,) = check(["Berlin"], predicted, reference, pieces)["differences"]
    assert item["gap"] == 3.0 and not item["near_tie"]


def test_a_split_entity_is_judged_by_the_begin_tag_the_cell_must_have_chosen():
    """New York as one LOC, or as two: the second piece of the cell's answer must be B-LOC."""
    reference = [[entity("LOC", 0, 8)]]
    predicted = [[entity("LOC", 0, 3), entity("LOC", 4, 8)]]
    tied = [[piece(0, 3, "B-LOC"), piece(4, 8, "I-LOC", B_LOC=0.002)]]
    sure = [[piece(0, 3, "B-LOC"), piece(4, 8, "I-LOC", B_LOC=4.0)]]
    assert check(["New York"], predicted, reference, tied)["differences"][0]["near_tie"]
    assert not check(["New York"], predicted, reference, sure)["differences"][0]["near_tie"]


def test_the_bar_is_the_devices_and_a_gap_the_cpu_would_excuse_nowhere_else_is_below_it():
    assert NEAR_TIE_LOGITS["cpu"] <= 0.01 < NEAR_TIE_LOGITS["cuda"]
    pieces = [[piece(0, 5, "B-PER", B_ORG=0.05)]]
    args = (["Peter"], [[entity("ORG", 0, 5)]], [[entity("PER", 0, 5)]], pieces)
    assert not check(*args, device="cpu")["differences"][0]["near_tie"]
    assert check(*args, device="cuda")["differences"][0]["near_tie"]
    assert check(*args)["near_tie_logits"] == NEAR_TIE_LOGITS["cpu"]


def test_entities_past_the_truncation_have_no_gap_and_are_not_near_ties():
    assert entity_gap(entity("PER", 100, 105), [entity("PER", 100, 105)], [piece(0, 5, "O")]) is None
    found = check(["x"], [[entity("PER", 100, 105)]], [[]], [[piece(0, 5, "O", B_PER=0.001)]])
    assert found["differences"][0]["gap"] is None and not found["differences"][0]["near_tie"]


entities = st.lists(
    st.builds(entity, st.sampled_from(["PER", "ORG", "LOC", "MISC"]), st.integers(0, 20), st.integers(21, 40)),
    max_size=4,
    unique_by=lambda item: (item["label"], item["start"], item["end"]),
)


@given(st.lists(st.tuples(entities, entities, st.floats(0, 10)), min_size=1, max_size=8))
def test_differences_are_exactly_the_sentences_whose_entities_differ(rows):
    predicted, reference = [row[0] for row in rows], [row[1] for row in rows]
    # One word-piece over the whole line, where every label but O is `gap` below O.
    pieces = [[[0, 40, {label: 0.0 if label == "O" else gap for label in LABELS}]] for *_, gap in rows]
    found = check(["x" * 40] * len(rows), predicted, reference, pieces)
    keys = [
        ({tuple(e.values())[:3] for e in mine}, {tuple(e.values())[:3] for e in theirs}) for mine, theirs, _ in rows
    ]
    assert [item["line"] for item in found["differences"]] == [i + 1 for i, (a, b) in enumerate(keys) if a != b]
    assert (found["agreement_pct"] == 100) == (not found["differences"])
    for item in found["differences"]:
        assert item["near_tie"] == all(e["near_tie"] for e in item["predicted"] + item["reference"])
        assert not {e["label"] for e in item["predicted"]} & {"O"}
        keys_of = {(e["label"], e["start"], e["end"]) for e in item["reference"]}
        assert not {(e["label"], e["start"], e["end"]) for e in item["predicted"]} & keys_of


# ---- the gaps the pipeline writes -----------------------------------------------------------------


def test_the_reference_gaps_cover_every_line_and_match_the_onnx_export(smoke, smoke_models, tmp_path):
    """The smoke run's gaps (baseline, torch) against the same model's ONNX export (ort-lean): one
    row per line, spans inside the line, every label's gap alike to a thousandth (the largest
    difference is printed: what the CPU's near-tie bar rests on), the same predictions."""
    corpus = smoke["workdir"] / "data" / "test-50.txt"
    lines = corpus.read_text(encoding="utf-8").split("\n")[:-1]
    torch_rows = [json.loads(row) for row in smoke["gaps"].read_text().splitlines()]
    assert len(torch_rows) == len(lines)
    for line, row in zip(lines, torch_rows, strict=True):
        assert row and all(0 <= start < end <= len(line) and min(gaps.values()) == 0 for start, end, gaps in row)
    onnx, predictions = tmp_path / "onnx-gaps.jsonl", tmp_path / "onnx-reference.jsonl"
    subprocess.run(
        [
            sys.executable,
            STEPS / "checks/reference.py",
            "--program",
            REPO / "scripts/ort-lean.py",
            "-m",
            smoke_models["onnx"],
        ]
        + ["--predictions", predictions, "--gaps", onnx, corpus],
        check=True,
    )
    assert predictions.read_bytes() == smoke["reference"].read_bytes()
    onnx_rows = [json.loads(row) for row in onnx.read_text().splitlines()]
    largest = 0.0
    for torch_row, onnx_row in zip(torch_rows, onnx_rows, strict=True):
        assert [span[:2] for span in torch_row] == [span[:2] for span in onnx_row]
        for (*_, a), (*_, b) in zip(torch_row, onnx_row, strict=True):
            largest = max(largest, *(abs(a[label] - b[label]) for label in a))
    print(f"\nlargest gap difference, torch against ONNX Runtime, fp32 on the CPU: {largest:.2e} logit")
    assert largest < 1e-3 < NEAR_TIE_LOGITS["cpu"]


def test_a_program_that_defines_no_program_is_one_line(tmp_path):
    """Refused before any model is read (the model named is an empty folder)."""
    program = tmp_path / "nothing.py"
    program.write_text("x = 1\n")
    done = subprocess.run(
        [sys.executable, STEPS / "checks/reference.py", "--program", program, "-m", tmp_path]
        + ["--predictions", tmp_path / "p", "--gaps", tmp_path / "m", TRICKY],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and done.stderr.strip() == (
        f"reference.py: error: {program}: defines no PROGRAM (a nerlib.frame.Program)"
    )
    assert not (tmp_path / "p").exists() and not (tmp_path / "m").exists()


def test_a_line_break_inside_a_line_is_checked_without_error(smoke_models, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("Peter\u2028Blackburn visited Brussels .\nEU rejects\u0085German call .\n", encoding="utf-8")
    predictions = tmp_path / "rust.jsonl"
    run_rust(smoke_models["rust"], "-m", smoke_models["onnx"], "-o", predictions, corpus)
    reference, gaps = tmp_path / "reference.jsonl", tmp_path / "gaps.jsonl"
    subprocess.run(
        [sys.executable, REPO / "workflow/scripts/checks/reference.py", "--program", LEAN, "-m", smoke_models["onnx"]]
        + ["--predictions", reference, "--gaps", gaps, corpus],
        check=True,
        cwd=REPO,
    )
    cell = tmp_path / "cell.json"
    cell.write_text(json.dumps({"status": "ok", "cell": {}}))
    out = tmp_path / "check.json"
    done = subprocess.run(
        [sys.executable, REPO / "workflow/scripts/checks/check_cell.py", "--cell", cell, "--predictions", predictions]
        + ["--reference", reference]
        + ["--gaps", gaps, "--corpus", corpus, "--dtype", "fp32", "--device", "cpu", "--out", out],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    check = json.loads(out.read_text())
    assert check["status"] == "ok" and check["agreement_pct"] == 100


# ---- what verify and the tables make of a difference --------------------------------------------


def relabelled(entities: list[dict], position: int) -> list[dict]:
    changed = [dict(entity) for entity in entities]
    changed[position]["label"] = "MISC" if changed[position]["label"] != "MISC" else "ORG"
    return changed


def altered_cell(smoke, tmp_path, near_tie=False):
    """An fp32 cell whose predictions are the reference's with one entity relabelled: the entity
    whose new label the reference was surest against, or, with `near_tie`, that entity with the
    reference's gaps at its sentence set a hair under the CPU's bar."""
    reference = smoke["reference"].read_text(encoding="utf-8").splitlines()
    gaps = [json.loads(row) for row in smoke["gaps"].read_text().splitlines()]
    candidates = [
        (entity_gap(changed[position], changed, gaps[index]), index, position)
        for index, row in enumerate(reference)
        for position in range(len(json.loads(row)))
        for changed in [relabelled(json.loads(row), position)]
    ]
    _, index, position = max(candidates)
    predictions = tmp_path / "predictions.jsonl"
    altered = reference[:index] + [json.dumps(relabelled(json.loads(reference[index]), position))]
    predictions.write_text("".join(row + "\n" for row in altered + reference[index + 1 :]), encoding="utf-8")
    if near_tie:
        bar = NEAR_TIE_LOGITS["cpu"]
        gaps[index] = [
            [start, end, {label: min(gap, bar / 2) for label, gap in row.items()}] for start, end, row in gaps[index]
        ]
    gaps_path = tmp_path / "gaps.jsonl"
    gaps_path.write_text("".join(json.dumps(row) + "\n" for row in gaps))
    grid = small_grid(tmp_path / "results")
    cell = grid.cells[0]
    for kind in ("result", "check"):
        Path(cell.path(kind)).parent.mkdir(parents=True, exist_ok=True)
    Path(cell.path("result")).write_text(json.dumps({"status": "ok", "cell": cell.key._asdict()}))
    subprocess.run(
        [sys.executable, STEPS / "checks/check_cell.py", "--cell", cell.path("result"), "--predictions", predictions]
        + ["--reference", smoke["reference"], "--gaps", gaps_path]
        + ["--corpus", smoke["workdir"] / "data/test-50.txt", "--dtype", "fp32", "--device", "cpu"]
        + ["--out", cell.path("check")],
        check=True,
        capture_output=True,
    )
    return index + 1, grid


def run_verify(grid):
    manifest = write_manifest(grid)
    return subprocess.run(
        [sys.executable, STEPS / "checks/verify.py", "--grid", manifest, grid.results("verified.txt")],
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
    from tables import DifferingCell, agreement_flag, differences_section

    line, grid = altered_cell(smoke, tmp_path, near_tie=True)
    found = json.loads(Path(grid.cells[0].path("check")).read_text())
    assert found["near_tie_sentences"] == found["differing_sentences"] == 1
    done = run_verify(grid)
    assert done.returncode == 0 and "all at near-ties" in done.stdout, done.stderr
    row = {"agreement_pct": found["agreement_pct"], "dtype": "fp32", "differing_sentences": 1, "near_tie_sentences": 1}
    assert agreement_flag(row) == " (near-ties)"
    assert agreement_flag({**row, "near_tie_sentences": 0}) == " **DISAGREES**"
    section = differences_section([DifferingCell("altered", "cpu", 8, "fp32", found)])
    assert f"line {line}: the reference found" in section and "a near-tie)" in section
    assert "0.01 on CPU" in section


def test_verify_fails_a_lower_precision_cell_below_its_floor(tmp_path):
    """An int8 cell that finds almost none of the reference's entities is a broken variant, not a
    number format's doing: verify fails it (verify.agreement_pct, 80% by default; with gold labels,
    F1 more than verify.f1_points below the reference's)."""
    from synthetic import build, make_tables, step_commands

    grid = build(
        tmp_path, {"benchmark": {"methods": ["ort-lean", "ort-lean@int8"], "batch_sizes": [8], "devices": ["cpu"]}}
    )
    (int8,) = [cell for cell in grid.cells if cell.method.name == "ort-lean@int8"]
    check = json.loads((tmp_path / int8.path("check")).read_text())
    for broken in ({"agreement_pct": 0.0, "f1": None}, {"agreement_pct": 90.0, "f1": 0.80, "reference_f1": 0.874}):
        (tmp_path / int8.path("check")).write_text(json.dumps({**check, **broken}))
        make_tables(grid, tmp_path)
        done = subprocess.run(step_commands(grid, tmp_path)["verify"], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 1 and "a broken int8 variant" in done.stderr, done.stderr
    (tmp_path / int8.path("check")).write_text(json.dumps(check))
    make_tables(grid, tmp_path)
    done = subprocess.run(step_commands(grid, tmp_path)["verify"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
