"""National identifiers (an SSN or another country's number) → their digits.

``normalize_national_id`` keeps the digits of an identifier written with the usual
separators: ``123-45-6789``, ``123 45 6789``, ``123.45.6789`` and ``123456789`` all give
``123456789``. Leading zeros are kept (``012-34-5678`` is not ``12345678``), so map the
field from a text column: a numeric column has already lost them. A float written by a
numeric column (``1234567.0``) is read as its integer part.

Null, because they identify nobody:

* blanks and values with any character other than digits and separators (whitespace,
  ``-``, ``.``, ``/``): a letter means another kind of identifier, and dropping it would
  merge two different ones;
* fewer than ``MIN_DIGITS`` or more than ``MAX_DIGITS`` digits;
* placeholders: one digit repeated (``000-00-0000``, ``999999999``), ascending or
  descending runs (``123456789``, ``987654321``, ``0123456789``) and the SSNs printed on
  sample cards and in advertisements (``078-05-1120``, ``219-09-9999``).
"""

from __future__ import annotations

import polars as pl

#: Shorter numbers are not national identifiers (7 digits: about 23 bits).
MIN_DIGITS = 7
MAX_DIGITS = 20

_UP, _DOWN = "0123456789" * 3, "9876543210" * 3
#: Published sample SSNs, used as fillers in the wild.
SAMPLE_SSNS: tuple[str, ...] = ("078051120", "219099999")


def _placeholders() -> list[str]:
    found: set[str] = set(SAMPLE_SSNS)
    for length in range(MIN_DIGITS, MAX_DIGITS + 1):
        found.update(d * length for d in "0123456789")
        found.update(_UP[i : i + length] for i in range(10))
        found.update(_DOWN[i : i + length] for i in range(10))
    return sorted(found)


_PLACEHOLDERS = _placeholders()


def normalize_national_id(expr: pl.Expr) -> pl.Expr:
    """National ID text (or integer) → its digits ("123-45-6789" → "123456789"); else null."""
    text = (
        expr.cast(pl.String)
        .str.replace_all(r"\s+", "")
        .str.replace(r"^([0-9]+)\.0+$", "${1}")
        .str.replace_all(r"[-./]", "")
    )
    digits = text.str.len_bytes()
    valid = (
        text.str.contains(r"^[0-9]+$")
        & digits.is_between(MIN_DIGITS, MAX_DIGITS)
        & ~text.is_in(_PLACEHOLDERS)
    )
    return pl.when(valid).then(text).otherwise(pl.lit(None, dtype=pl.String))
