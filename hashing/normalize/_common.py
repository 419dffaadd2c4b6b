"""Shared machinery of the normalizers: per-distinct-value evaluation, transliteration,
placeholder handling and the data tables shipped under ``data/``.

Every normalizer is a pure function of one value, so a column can be normalized by
computing the function once per *distinct* value and joining the results back. Real
columns repeat a lot (a million voters share a few tens of thousands of first names,
streets and birth dates), so this is both the fast path for the vectorized rules and the
only place where a per-value Python call (``anyascii``, ``usaddress``, ``phonenumbers``)
is ever made.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from functools import partial
from importlib import resources

import polars as pl
from anyascii import anyascii

from hashing import _crypto

#: Values that mean "nothing was entered", compared after text cleaning (uppercase, single
#: spaces, punctuation turned into spaces). They become null in every text field.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "",
        "NA",
        "N A",
        "NONE",
        "NULL",
        "NIL",
        "NAN",
        "UNKNOWN",
        "UNK",
        "UNKN",
        "NOT AVAILABLE",
        "NOT APPLICABLE",
        "NOT PROVIDED",
        "NOT GIVEN",
        "NOT KNOWN",
        "NOT STATED",
        "NO DATA",
        "NO INFO",
        "MISSING",
        "BLANK",
        "REFUSED",
        "DECLINED",
        "XX",
        "XXX",
        "XXXX",
        "XXXXX",
    }
)

# Vulgar fractions are spelled " 1/2 " before transliteration so that "123½" keeps its
# house number apart from the fraction (anyascii alone would give "1231/2").
_FRACTIONS = {"½": " 1/2 ", "¼": " 1/4 ", "¾": " 3/4 "}


DType = pl.DataType | type[pl.DataType]
_SEED, _CHECK_SEED = 0x5EED, 0xC0FFEE


def on_distinct(
    expr: pl.Expr, func: Callable[[pl.Series], pl.Series], return_dtype: DType
) -> pl.Expr:
    """Apply ``func`` to the distinct values of ``expr`` (cast to text) and join back.

    ``func`` receives a String series without duplicates (null included when present)
    and returns a series of the same length, position by position. The expression is
    declared not element-wise on purpose: the engine then hands over the whole column at
    once, so each distinct value is normalized once rather than once per batch.
    """
    return expr.cast(pl.String).map_batches(
        partial(_apply_on_distinct, func=func, return_dtype=return_dtype),
        return_dtype=return_dtype,
        is_elementwise=False,
    )


def _apply_on_distinct(
    series: pl.Series, *, func: Callable[[pl.Series], pl.Series], return_dtype: DType
) -> pl.Series:
    name = series.name
    if series.dtype != pl.String:
        series = series.cast(pl.String)
    if series.len() == 0:
        return pl.Series(name, [], dtype=return_dtype)
    return by_distinct(series, func).cast(return_dtype).rename(name)


def by_distinct(series: pl.Series, func: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``func`` applied to the distinct values of ``series`` only, spread back to every row."""
    codes, distinct = distinct_codes(series)
    return func(distinct.rename("value")).gather(codes).rename(series.name)


def distinct_codes(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(code of each row, distinct values) such that ``distinct.gather(codes) == series``.

    Distinct values are found through a 64-bit hash, several times faster than comparing
    strings. Each row is then checked against its representative with a second,
    independent 64-bit hash; if any differs (a collision of the first hash, about one
    chance in ten million for a million distinct values) the exact, slower way is taken.
    """
    hashes = series.hash(seed=_SEED)
    native = _crypto.dense_codes(hashes)
    if native is not None:
        codes, firsts = native
        check = series.hash(seed=_CHECK_SEED)
        if check.gather(firsts).gather(codes).equals(check):
            return codes, series.gather(firsts)
        return _exact_codes(series)
    frame = pl.DataFrame({"h": hashes, "check": series.hash(seed=_CHECK_SEED), "v": series})
    first = frame.filter(pl.col("h").is_first_distinct())
    table = first.select("h", pl.int_range(pl.len(), dtype=pl.UInt32).alias("code"))
    codes = frame.select("h").join(table, on="h", how="left", maintain_order="left")["code"]
    if first.get_column("check").gather(codes).equals(frame.get_column("check")):
        return codes, first.get_column("v")
    return _exact_codes(series)


def _exact_codes(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """:func:`distinct_codes` by comparing the values themselves (the slow, sure way)."""
    distinct = series.unique(maintain_order=True)
    table = pl.DataFrame(
        {"v": distinct, "code": pl.int_range(distinct.len(), dtype=pl.UInt32, eager=True)}
    )
    codes = (
        series.rename("v")
        .to_frame()
        .join(table, on="v", how="left", nulls_equal=True, maintain_order="left")["code"]
    )
    return codes, distinct


def on_rows(
    frame: pl.DataFrame, mask: pl.Series, func: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """Run ``func`` on the rows where ``mask`` is true only; its columns are written back
    into those rows (columns it adds are null elsewhere).

    Costly captures (regex groups) are then paid only by the few rows that need them,
    after a cheap test over all rows.
    """
    positions = mask.fill_null(False).arg_true()
    if positions.len() == 0:
        return frame
    sub = func(frame[positions])
    spread: pl.Series | None = None  # row → its position in ``sub``, for nested columns
    columns = []
    for name, values in sub.to_dict().items():
        if name in frame.columns:
            base = frame.get_column(name).cast(values.dtype)
        else:
            base = pl.repeat(None, frame.height, dtype=values.dtype, eager=True).rename(name)
        if not values.dtype.is_nested():
            columns.append(base.clone().scatter(positions, values))
            continue
        if spread is None:
            spread = pl.repeat(None, frame.height, dtype=pl.UInt32, eager=True).scatter(
                positions, pl.int_range(positions.len(), dtype=pl.UInt32, eager=True)
            )
        chosen = mask.fill_null(False)
        merged = pl.select(pl.when(chosen).then(values.gather(spread)).otherwise(base))
        columns.append(merged.to_series().rename(name))
    return frame.with_columns(columns)


def apply_expr(series: pl.Series, build: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """Evaluate an expression builder on a series (used inside ``on_distinct`` functions).

    Polars evaluates a sub-expression once per reference, so builders used here refer to
    their input at most a few times; longer pipelines materialize their intermediate
    results as columns of a frame, step by step.
    """
    return series.to_frame("value").select(build(pl.col("value")).alias("value")).to_series()


def transliterate(series: pl.Series) -> pl.Series:
    """Non-ASCII values → ASCII with ``anyascii`` (only the values that need it).

    Accents are dropped ("José" → "Jose"), other scripts are romanized ("Мария" →
    "Mariya"), typographic quotes become ASCII quotes, no-break spaces become spaces and
    invisible characters vanish.
    """
    series = series.cast(pl.String)
    needs = (series.str.len_bytes() != series.str.len_chars()).fill_null(False)
    positions = needs.arg_true()
    if positions.len() == 0:
        return series
    out = series.clone()
    values = out.gather(positions).to_list()
    converted = [anyascii(_spell_fractions(v)) for v in values]
    return out.scatter(positions, converted)


def _spell_fractions(value: str) -> str:
    for char, text in _FRACTIONS.items():
        value = value.replace(char, text)
    return value


def null_if(expr: pl.Expr, condition: pl.Expr) -> pl.Expr:
    """``expr`` where ``condition`` is false, null where it is true (text columns)."""
    return pl.when(~condition).then(expr).otherwise(pl.lit(None, dtype=pl.String))


def is_placeholder(expr: pl.Expr, extra: Iterable[str] = ()) -> pl.Expr:
    """True for empty text and placeholder values (``PLACEHOLDERS`` plus ``extra``)."""
    return expr.is_in(sorted(PLACEHOLDERS.union(extra)))


def null_placeholders(expr: pl.Expr, extra: Iterable[str] = ()) -> pl.Expr:
    """Null for empty text and placeholder values; ``expr`` should be a column reference."""
    return null_if(expr, is_placeholder(expr, extra))


def words_pattern(words: Iterable[str]) -> str:
    """A regex alternation matching any of ``words`` (longest first, escaped)."""
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return "|".join(_escape(w) for w in ordered)


def _escape(word: str) -> str:
    return "".join("\\" + c if not c.isalnum() and c != " " else c for c in word)


def data_lines(name: str) -> list[str]:
    """Non-comment, non-blank lines of a text table under ``data/``."""
    text = resources.files("hashing.normalize").joinpath("data").joinpath(name).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def data_rows(name: str) -> list[dict[str, str]]:
    """Rows of a CSV table under ``data/`` (header line first)."""
    return list(csv.DictReader(data_lines(name)))
