"""Results files in JSON that every parser reads.

Python's ``json`` writes NaN and infinities as the bare words ``NaN`` and ``Infinity``, which
``jq``, JavaScript and other strict parsers refuse. The book's results hold such values (an
attack that found no adversarial has an infinite distance; an interval over too few queries
is NaN), so they are written as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``
(not ``null``, which would lose the difference between "none found" and "not defined"),
and :func:`loads` turns those strings back into floats. So a *string* "NaN", "Infinity"
or "-Infinity" in a results file reads back as a float: the book stores no such string (a
class named "NaN" would have to be stored as something else).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def dumps(value, indent: int | None = 2) -> str:
    """``value`` (dicts, lists, numbers, strings, numpy scalars and arrays) as strict JSON."""
    return json.dumps(_encoded(value), indent=indent, allow_nan=False)


def loads(text: str):
    """The value :func:`dumps` wrote (non-finite floats restored); also reads the older
    files with bare ``NaN`` / ``Infinity``."""
    return _decoded(json.loads(text))


def read(path):
    """:func:`loads` of the file at ``path``."""
    return loads(Path(path).read_text())


def _encoded(value):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = _key(k)
            if key in out:  # 1 and "1" are one key in JSON: a reader would keep either
                raise ValueError(f"two keys of one dict are both {key!r} in JSON")
            out[key] = _encoded(v)
        return out
    if isinstance(value, (list, tuple)):
        return [_encoded(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy, torch
        return _encoded(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in results JSON: convert it to "
                    "numbers, strings, lists or dicts first")


def _key(key) -> str:
    """A dict key as JSON writes it (a string): numpy integers (a class index) and other
    numbers as their text, True as "true", None as "null"."""
    if hasattr(key, "item"):
        key = key.item()
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise TypeError(f"cannot use a {type(key).__name__} as a key in results JSON")


def _decoded(value):
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return value
