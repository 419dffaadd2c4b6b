"""Vectorized string perturbations and formatting used to make records disagree.

Every function builds a polars expression over whole columns, with one random draw per
row in a column of its own, so nothing here loops over rows in Python.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_LETTERS = pl.Series(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), dtype=pl.String)


def typo_columns(rng: np.random.Generator, n: int, prefix: str) -> dict[str, pl.Series]:
    """Random draws for :func:`typo`: a position fraction, an edit kind and two letters."""
    letter = rng.integers(0, 26, n)
    return {
        f"{prefix}_pos": pl.Series(rng.random(n)),
        f"{prefix}_kind": pl.Series(rng.integers(0, 4, n).astype(np.int8)),
        f"{prefix}_letter": _LETTERS.gather(letter),
        f"{prefix}_alt": _LETTERS.gather((letter + 1) % 26),
    }


def typo(value: pl.Expr, mask: pl.Expr, prefix: str) -> pl.Expr:
    """One-character edit (substitute, delete, insert or swap) where ``mask`` holds.

    ``prefix`` names the columns made by :func:`typo_columns`. Values shorter than three
    characters are left alone, so a typo never empties a field.
    """
    n = value.str.len_chars()
    pos = (pl.col(f"{prefix}_pos") * (n - 1)).floor().cast(pl.Int64)
    kind = pl.col(f"{prefix}_kind")
    here = value.str.slice(pos, 1)
    letter = (
        pl.when(here == pl.col(f"{prefix}_letter"))
        .then(pl.col(f"{prefix}_alt"))
        .otherwise(pl.col(f"{prefix}_letter"))
    )
    head = value.str.slice(0, pos)
    edited = (
        pl.when(kind == 0)
        .then(pl.concat_str(head, letter, value.str.slice(pos + 1)))
        .when(kind == 1)
        .then(pl.concat_str(head, value.str.slice(pos + 1)))
        .when(kind == 2)
        .then(pl.concat_str(head, letter, value.str.slice(pos)))
        .otherwise(pl.concat_str(head, value.str.slice(pos + 1, 1), here, value.str.slice(pos + 2)))
    )
    return pl.when(mask & (n >= 3)).then(edited).otherwise(value)


def with_typos(rng: np.random.Generator, values: pl.Series, rate: float) -> pl.Series:
    """A copy of ``values`` where a share ``rate`` of entries carries one typo.

    Only the chosen entries are edited (and only they cost anything), so this is cheap
    for the small rates that realistic noise uses.
    """
    rows = np.flatnonzero(rng.random(len(values)) < rate)
    if len(rows) == 0:
        return values
    chosen = pl.DataFrame({"v": values.gather(rows), **typo_columns(rng, len(rows), "t")})
    edited = chosen.select(typo(pl.col("v"), pl.col("v").is_not_null(), "t")).to_series()
    return values.clone().scatter(rows, edited)


def insert_dot(value: pl.Expr, mask: pl.Expr, fraction: pl.Expr) -> pl.Expr:
    """Insert a ``.`` inside ``value`` (never first or last) where ``mask`` holds."""
    n = value.str.len_chars()
    pos = (fraction * (n - 1)).floor().cast(pl.Int64) + 1
    dotted = pl.concat_str(value.str.slice(0, pos), pl.lit("."), value.str.slice(pos))
    return pl.when(mask & (n >= 2)).then(dotted).otherwise(value)


def digits(value: pl.Expr, width: int) -> pl.Expr:
    """An integer column as zero-padded decimal text."""
    return value.cast(pl.String).str.zfill(width)


def pick(choice: pl.Expr, options: list[pl.Expr]) -> pl.Expr:
    """``options[choice]`` row by row (``choice`` is an integer column)."""
    expr = options[-1]
    for i in range(len(options) - 2, -1, -1):
        expr = pl.when(choice == i).then(options[i]).otherwise(expr)
    return expr
