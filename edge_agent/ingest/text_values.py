"""Read numbers from text formats (PM XML, CSV) without deciding whether they are valid."""

from __future__ import annotations

# How text formats write "not measured": the metric is left out of the record.
EMPTY_VALUES = frozenset(("", "NIL", "nil", "-"))


def parse_number(text: str) -> int | float | str:
    """Return `text` as an int or a float; text that is not a number is returned unchanged.

    The validator turns what comes back into a reason: a string is `wrong_type`, an infinity
    from an overflowing literal `number_too_large`, a NaN `non_finite_value`.
    """
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
