"""Checks of parameters, each with an error that names the parameter and says what to give.

A chapter's set-up cell calls them (through :mod:`rdsc.book`, which holds them too) before
any work, and so do rdsc's functions on their own arguments: ``n_boot = 2.5`` or a repeated
seed is refused at once rather than truncated or failing deep inside a computation. Also
:func:`plural`, :func:`listed` and :func:`signed`, the helpers of many sentences, and
:func:`warn`, a warning shown at the reader's line. Imports nothing from rdsc.
"""
from __future__ import annotations


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def whole_number(name: str, value, at_least: int = 1) -> int:
    """``value`` if it is an integer ``>= at_least``, else a ``ValueError`` naming the
    parameter (for a chapter's parameters cell)."""
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < at_least:
        raise ValueError(f"{name} must be a whole number of at least {at_least}, got "
                         f"{value!r}{text_hint(name, value)}")
    return int(value)


def text_hint(name: str, value) -> str:
    """The hint for a number given as text: papermill's ``-r`` passes the raw string
    (``-r C 0.005`` was once refused without saying why '0.005' is not a number)."""
    if not isinstance(value, str):
        return ""
    if value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
        # the hint once told a user who typed `-p C nan` to type just that
        return f" (not a finite number: {name} cannot be {value})"
    try:
        float(value)
    except ValueError:   # `-p epsilon 8/255` arrives as the text '8/255'
        return (f" (text, not a number: papermill passes an expression such as {value} as "
                f"text; give its value as a number)")
    return f" (text, not a number: with papermill, -p {name} {value}; -r passes the text)"


def _as_text_list(name: str, value) -> str:
    """The hint for a list that arrived as text: plain papermill's ``-p`` passes
    ``"[2018, 2019]"`` as a string (the error once showed a list that looked right)."""
    if not isinstance(value, str) or not value.strip().startswith(("[", "(")):
        return ""
    return (f" (a list given as text: plain papermill's -p passes it so; use -y "
            f"'{name}: {value.strip()}', or python -m rdsc.chapters run ... -p {name} "
            f"'{value.strip()}')")


def positive_number(name: str, value) -> float:
    """``value`` as a float if it is finite and above 0 (an SVM penalty ``C``, a step), else
    a ``ValueError`` naming the parameter."""
    import math
    import numbers
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}"
                         f"{text_hint(name, value)}")
    return float(value)


def number_between(name: str, value, low: float, high: float, what: str = "") -> float:
    """``value`` as a float if it is a real number strictly between ``low`` and ``high``,
    else a ``ValueError`` naming the parameter (``what``: what it means, for the message)."""
    import math
    import numbers
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or not low < value < high):
        raise ValueError(f"{name} must be a number between {low:g} and {high:g}"
                         f"{f' ({what})' if what else ''}, got {value!r}")
    return float(value)


def seed_number(seed, name: str = "seed") -> int:
    """``seed`` if it is a whole number >= 0, else a ``ValueError``. torch's
    ``manual_seed`` reads 0.5 and 0.9 both as seed 0 (three "different" networks then
    agree exactly, and an interval over them has no width) and numpy's generators take
    no negative seed."""
    seed = whole_number(name, seed, at_least=0)
    if seed >= 2**64:  # beyond it, torch's "Overflow when unpacking long long"
        raise ValueError(f"{name} must be below 2**64 (torch's seeds are 64-bit), got {seed}")
    return seed


def seed_list(name: str, seeds) -> list[int]:
    """``seeds`` if it is a non-empty list of distinct seeds (whole numbers >= 0), else a
    ``ValueError``: a repeated seed would count one network twice in an interval."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (list, tuple)) or not seeds:
        raise ValueError(f"{name}: give at least one network seed, each once (three or more "
                         f"for the intervals), got {seeds!r}{_as_text_list(name, seeds)}")
    checked = [seed_number(s, f"each of {name}") for s in seeds]
    if len(set(checked)) < len(checked):
        raise ValueError(f"{name}: give at least one network seed, each once (three or more "
                         f"for the intervals), got {seeds!r}")
    return checked


def one_of(name: str, value, allowed):
    """``value`` if it is one of ``allowed``, else a ``ValueError`` that lists them."""
    if value not in list(allowed):
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def flag(name: str, value) -> bool:
    """``value`` if it is True or False, else a ``ValueError`` (papermill's ``-r name False``
    passes the string "False", which Python reads as true)."""
    numpy_bool = str(getattr(value, "dtype", "")) == "bool" and getattr(value, "ndim", 1) == 0
    if not (isinstance(value, bool) or numpy_bool):
        raise ValueError(f"{name} must be True or False, got {value!r} "
                         f"({type(value).__name__}): with papermill, -p {name} True or "
                         "False, capitalised (-r, or lowercase, passes the text)")
    return bool(value)


def refuse_unused(name: str, value, unused: bool, why: str) -> None:
    """A ``ValueError`` when a parameter was set (``value`` not None) that this run would
    ignore (``unused``; ``why`` says why): the settings line would echo it while the run
    went on without it."""
    if value is not None and unused:
        raise ValueError(f"{name} = {value!r} would have no effect: {why}")


def chosen_from(name: str, values, allowed) -> list:
    """``values`` if it is a non-empty list of distinct members of ``allowed``, else a
    ``ValueError`` that lists them."""
    allowed = list(allowed)
    if (isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or not values
            or any(v not in allowed for v in values) or len(set(values)) < len(values)):
        raise ValueError(f"{name} must be a non-empty list of distinct names among {allowed}, "
                         f"got {values!r}{_as_text_list(name, values)}")
    return list(values)


def percents(name: str, values, far_above_one: bool = False) -> list[float]:
    """``values`` (percentages; NaN allowed, for "not measured") if they lie in 0..100, else
    a ``ValueError`` naming them. ``far_above_one``: the caller knows real values lie well
    above 1% (a sign agreement near one half, a substitute's agreement on 10 classes), so
    values that all lie in (0, 1] are fractions given for percent (0.85 for 85%), refused.
    Accuracies on 100 classes can be that low: never guessed for them."""
    import math
    values = [float(v) for v in values]
    finite = [v for v in values if not math.isnan(v)]
    if any(not 0 <= v <= 100 for v in finite):
        raise ValueError(f"the values of {name} must be percentages in 0..100, got {values}")
    if (far_above_one and finite and all(v <= 1 for v in finite)
            and any(v > 0 for v in finite)):
        raise ValueError(f"the values of {name} look like fractions ({values}): give "
                         "percent (85.0, not 0.85)")
    return values


def name_list(what: str, names) -> list:
    """``names`` as a list; a single string is refused, which would be read as its letters
    ("net A" as the names n, e, t...)."""
    if isinstance(names, (str, bytes)):
        raise ValueError(f"{what} must be a list of names, got the string {names!r}: "
                         f"write [{names!r}]")
    return list(names)


def label_vector(labels, name: str = "labels"):
    """``labels`` as a 1-D NumPy array, one per image: a column (``N x 1``) is read as
    ``N``; other shapes are refused (``N x 1`` labels had failed late, as "unhashable
    type: 'list'", or been misread)."""
    import numpy as np
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"{name} must be one per image (shape N), got shape {labels.shape}")
    return labels


def plural(n: int, word: str) -> str:
    """``"1 epoch"``, ``"3 epochs"``: a count and its noun (regular plurals only)."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def signed(x: float, digits: int = 1) -> str:
    """``"+2.0"``, ``"-0.3"``: ``x`` with its sign to ``digits`` decimals. Zero reads
    ``"0.0"``, never ``"-0.0"`` (not "-0.0 points against k-means"); a value that is
    not zero but rounds to it gets up to three more decimals, so its sign shows (e.g.
    interval ends of +0.04 and -0.04, one beating the pixel control and one not, both read
    "0.0"), and one still smaller reads as zero."""
    for shown in range(digits, digits + 4):
        text = f"{x:+.{shown}f}"
        if float(text) != 0:
            return text
    # beyond that, zero: a difference of two equal means leaves a rounding error such as
    # -7e-15, which is no sign (not "-0.0000 points against k-means")
    return f"{0:.{digits}f}"


def as_table_shows(x: float, digits: int = 1) -> str:
    """``x`` to ``digits`` decimals as a pandas or numpy table rounds it (``x * 10**digits``
    to the nearest whole number, halves to even), not as Python's format does: 603 of
    2,000 is 30.15%, stored as 30.1499..., which a format writes "30.1" and the table
    beside the sentence "30.2"."""
    import numpy as np
    return f"{np.round(float(x), digits):.{digits}f}"


def same_decimals(values, digits: int = 1) -> list[str]:
    """``values`` as :func:`signed` writes them, all with the decimals the most precise of
    them needs (not "+0.04 (95% interval +0.04 to +0.1)")."""
    values = list(values)
    shown = max((len(signed(v, digits).partition(".")[2]) for v in values), default=digits)
    return [signed(v, shown) for v in values]


def against_noise(gap: float, noise: float, digits: int = 1) -> tuple[str, str]:
    """``gap`` (as :func:`signed` writes it) and ``noise`` (unsigned), with the decimals (up
    to two more) that keep ``|gap|`` and ``noise`` apart where they differ, for a sentence
    that reads the gap as within or beyond the noise (not "+1.4 points ..., within
    the test-set noise (±1.4)" for 1.36 against 1.3615)."""
    shown = digits
    while (shown < digits + 2 and abs(gap) != noise
           and f"{abs(gap):.{shown}f}" == f"{noise:.{shown}f}"):
        shown += 1
    return signed(gap, shown), f"{noise:.{shown}f}"


def apart(x: float, edge: float, digits: int = 1) -> str:
    """``x`` as :func:`signed` writes it, with as many more decimals (up to two) as keep it
    apart from ``edge``, the value a verdict reads it against: -4.96 beside a margin of -5
    reads "-4.96", not "-5.0", which would read as on the margin. Closer still, "just above
    -5.0" or "just below -5.0" (not "-5.0000" beside "supported"); ``edge`` itself
    reads as ``edge``."""
    return _printed_apart(x, edge, digits, signed)


def _printed_apart(x: float, edge: float, digits: int, write) -> str:
    """:func:`apart` and :func:`ratio_apart`: ``write(value, decimals)`` with the fewest
    decimals (``digits`` to ``digits + 2``) that do not print ``edge``."""
    if x == edge:
        return write(edge, digits)
    for shown in range(digits, digits + 3):
        if float(write(x, shown)) != edge:
            return write(x, shown)
    return f"just {'above' if x > edge else 'below'} {write(edge, digits)}"


def ratio_apart(x: float, edge: float = 1.0, digits: int = 2) -> str:
    """A ratio such as ``"1.07"``, with up to two more decimals where fewer would print the
    ``edge`` a verdict reads it against (1.0031 once printed "1.00" beside
    "undecided", so the reader could not see which side of 1 it lay); closer still, "just
    above 1.00" or "just below 1.00"."""
    return _printed_apart(x, edge, digits, lambda v, shown: f"{v:.{shown}f}")


def told_apart(a: float, b: float, digits: int = 4) -> tuple[str, str]:
    """``a`` and ``b`` to ``digits`` decimals, or up to two more where fewer print them
    equal although they differ (margins of 0.00940 and 0.00937 once both read
    "0.0094")."""
    for shown in range(digits, digits + 3):
        pair = f"{a:.{shown}f}", f"{b:.{shown}f}"
        if a == b or pair[0] != pair[1]:
            return pair
    return pair


def listed(items) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``: items as a sentence lists them."""
    items = [str(item) for item in items]
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` at the first caller outside rdsc: the file and line shown are the
    reader's, however many rdsc frames (decorators, helpers) lie in between (Python 3.11's
    ``warnings.warn`` has no ``skip_file_prefixes``; a fixed ``stacklevel`` pointed into
    :mod:`rdsc.rng`'s wrapper)."""
    import os
    import sys
    import warnings
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1 if frame is not None else 1)
