"""The shared decoding and its JSON lines, against hand-made cases.

The methods tests check the decoding against the transformers pipeline itself on real model output."""

import numpy as np

from nerlib.batching import Encoded, batch_indices, pad_batch
from nerlib.decode import decode_sentence, group_entities, split_tag
from nerlib.output import format_entities

ID2LABEL = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}


def test_split_tag():
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("I-LOC") == ("I", "LOC")
    assert split_tag("O") == ("I", "O")


def test_consecutive_tokens_group_until_a_b_tag_or_another_type():
    line = "Barack Obama Paris London Rome"
    tokens = [("B-PER", 0, 6), ("I-PER", 7, 12), ("B-LOC", 13, 18), ("B-LOC", 19, 25), ("I-PER", 26, 30)]
    assert [(e["label"], e["text"]) for e in group_entities(line, tokens)] == [
        ("PER", "Barack Obama"),
        ("LOC", "Paris"),
        ("LOC", "London"),
        ("PER", "Rome"),
    ]


def test_an_i_tag_after_o_starts_an_entity_and_o_groups_are_dropped():
    tokens = [("O", 0, 1), ("I-LOC", 2, 3), ("I-LOC", 4, 5), ("O", 6, 7)]
    assert group_entities("a b c d", tokens) == [{"label": "LOC", "start": 2, "end": 5, "text": "b c"}]


def test_subword_tokens_extend_the_span_over_the_word():
    # "Guinea-Bissau" as four tokens: guinea, -, bis, ##sau
    tokens = [("B-LOC", 0, 6), ("I-LOC", 6, 7), ("I-LOC", 7, 10), ("I-LOC", 10, 13)]
    assert group_entities("Guinea-Bissau", tokens)[0]["text"] == "Guinea-Bissau"


def test_decode_sentence_skips_special_tokens():
    line = "Ann visited Rome"
    offsets = [(0, 0), (0, 3), (4, 11), (12, 16), (0, 0)]
    found = decode_sentence(line, np.array([3, 1, 0, 3, 3]), offsets, [1, 0, 0, 0, 1], ID2LABEL)
    assert found == [
        {"label": "PER", "start": 0, "end": 3, "text": "Ann"},
        {"label": "LOC", "start": 12, "end": 16, "text": "Rome"},
    ]


def test_output_is_compact_utf8_json():
    assert format_entities([{"label": "LOC", "start": 0, "end": 6, "text": "Zürich"}]) == (
        '[{"label":"LOC","start":0,"end":6,"text":"Zürich"}]'
    )
    assert format_entities([]) == "[]"


def test_batches_in_order_or_longest_first_and_pads_to_batch_longest():
    assert batch_indices([3, 5, 1, 5], 2, False) == [[0, 1], [2, 3]]
    assert batch_indices([3, 5, 1, 5], 2, True) == [[1, 3], [0, 2]]
    padded = pad_batch([Encoded([101, 7, 102], [], [], [0, 0, 0]), Encoded([101, 102], [], [], [0, 1])], pad_id=1)
    assert padded["input_ids"].tolist() == [[101, 7, 102], [101, 102, 1]]
    assert padded["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert padded["token_type_ids"].tolist() == [[0, 0, 0], [0, 1, 0]]


def test_json_lines_are_split_at_newline_only(tmp_path):
    from nerlib.output import format_entities, read_json_lines

    records = [[{"label": "PER", "start": 0, "end": 15, "text": f"Peter{brk}Blackburn"}] for brk in "\u2028\u2029\x85"]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(format_entities(r) + "\n" for r in records), encoding="utf-8")
    assert "\u2028" in path.read_text(encoding="utf-8")  # written raw, as serde_json does
    assert read_json_lines(path) == records
