"""Results files are strict JSON, and non-finite numbers survive the round trip."""
import json
import math

import numpy as np
import pytest

from rdsc import book, strict_json


def _strict(text):
    def refuse(word):
        raise ValueError(f"bare {word}")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_round_trip_through_strict_json():
    value = {"distance": math.inf, "low": np.float32("nan"), "floor": -np.inf,
             "row": np.array([1.0, np.nan]), "n": np.int64(3), "ok": np.bool_(True),
             "name": "NaN-free", 7: [None, 0.5]}
    text = strict_json.dumps(value)
    _strict(text)  # a strict parser reads it
    back = strict_json.loads(text)
    assert back["distance"] == math.inf and back["floor"] == -math.inf
    assert math.isnan(back["low"]) and math.isnan(back["row"][1]) and back["row"][0] == 1.0
    assert back["n"] == 3 and back["ok"] is True and back["name"] == "NaN-free"
    assert back["7"] == [None, 0.5]


def test_older_files_with_bare_words_still_read():
    back = strict_json.loads('{"a": NaN, "b": Infinity}')
    assert math.isnan(back["a"]) and back["b"] == math.inf


def test_values_json_cannot_hold_are_refused_by_name():
    with pytest.raises(TypeError, match="cannot store set"):
        strict_json.dumps({"a": {1, 2}})
    # 1 and "1" were written as two "1" keys, of which a reader keeps one
    with pytest.raises(ValueError, match="both '1' in JSON"):
        strict_json.dumps({1: "a", "1": "b"})
    assert strict_json.loads(strict_json.dumps({np.int64(3): 1, True: 2, None: 3})) == {
        "3": 1, "true": 2, "null": 3}


def test_save_results_writes_strict_json(tmp_path, monkeypatch):
    monkeypatch.setenv("RDSC_RESULTS", str(tmp_path))
    path = book.save_results("07_adversarial", "x-smoke", {"median": np.inf,
                                                            "share": [np.nan, 0.25]})
    record = _strict(path.read_text())
    assert record["median"] == "Infinity" and record["share"] == ["NaN", 0.25]
    assert strict_json.read(path)["median"] == math.inf


def test_tuples_are_stored_as_lists():
    assert strict_json.loads(strict_json.dumps({"a": (1, 2.5)})) == {"a": [1, 2.5]}
