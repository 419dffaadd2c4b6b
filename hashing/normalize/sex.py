"""Sex / gender codes → "M", "F" or null.

Accepted (any case, surrounding spaces and punctuation ignored): M, MALE, MAN, MASCULINE,
MASCULINO, H, HOMBRE, BOY → "M"; F, FEMALE, W, WOMAN, FEMININE, FEMENINO, MUJER, GIRL → "F".
Everything else is null, including U, X, O, N, UNKNOWN, and numeric codes: files use 1/2
and 0/1 with opposite meanings, so a number is never guessed.
"""

from __future__ import annotations

import polars as pl

from hashing.normalize._common import apply_expr, on_distinct

SEX_CODES: dict[str, str] = {
    "M": "M", "MALE": "M", "MAN": "M", "MASCULINE": "M", "MASCULINO": "M",
    "H": "M", "HOMBRE": "M", "BOY": "M",
    "F": "F", "FEMALE": "F", "W": "F", "WOMAN": "F", "FEMININE": "F", "FEMENINO": "F",
    "MUJER": "F", "GIRL": "F",
}  # fmt: skip


def _sex_expr(e: pl.Expr) -> pl.Expr:
    cleaned = e.str.to_uppercase().str.replace_all(r"[^A-Z]", "")
    return cleaned.replace_strict(SEX_CODES, default=None, return_dtype=pl.String)


def _sex_values(s: pl.Series) -> pl.Series:
    return apply_expr(s, _sex_expr)


def normalize_sex(expr: pl.Expr) -> pl.Expr:
    """Sex or gender text → "M", "F" or null (U, X, unknown and anything else)."""
    return on_distinct(expr, _sex_values, pl.String)
