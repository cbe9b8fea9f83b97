"""Entity-level scoring against hand-computed cases."""

import pytest

from nerbench.score import span_f1, tags_from_entities


def test_perfect_prediction():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    assert span_f1(gold, gold) == {"entity_precision": 1.0, "entity_recall": 1.0, "f1": 1.0}


def test_hand_computed_partial_credit():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    # PER span too short (wrong), LOC right, ORG missed, one spurious MISC.
    predicted = [["B-PER", "O", "O", "B-LOC"], ["O", "B-MISC"]]
    scores = span_f1(gold, predicted)
    # 3 gold, 3 predicted, 1 correct: P = R = 1/3, F1 = 1/3
    assert scores["entity_precision"] == pytest.approx(1 / 3)
    assert scores["entity_recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(1 / 3)


def test_wrong_type_is_wrong():
    scores = span_f1([["B-PER", "I-PER"]], [["B-ORG", "I-ORG"]])
    assert scores == {"entity_precision": 0.0, "entity_recall": 0.0, "f1": 0.0}


def test_precision_and_recall_differ():
    gold = [["B-PER", "O", "B-LOC", "O"]]
    predicted = [["B-PER", "O", "O", "O"]]
    scores = span_f1(gold, predicted)
    assert (scores["entity_precision"], scores["entity_recall"]) == (1.0, 0.5)
    assert scores["f1"] == pytest.approx(2 / 3)


def test_misaligned_input_is_refused():
    with pytest.raises(ValueError):
        span_f1([["O", "O"]], [["O"]])


def test_character_spans_map_back_to_word_tags():
    line = "New York Times reported from Guinea-Bissau"
    entities = [{"label": "ORG", "start": 0, "end": 14}, {"label": "LOC", "start": 29, "end": 35}]
    assert tags_from_entities(line, entities) == ["B-ORG", "I-ORG", "I-ORG", "O", "O", "B-LOC"]
