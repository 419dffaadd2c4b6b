"""Dates of birth → ``pl.Date``, from the many ways files write them.

Accepted without a declared format (``normalize_date(expr)``):

* ISO and year-first: ``1980-01-05``, ``1980/1/5``, ``1980-01-05T00:00:00``;
* US month-first: ``01/05/1980``, ``1-5-1980``, ``1.5.1980``, two-digit years ``1/5/80``;
* eight digits: ``19800105`` (year first) or, failing that, ``01051980`` (month first);
* month names: ``Jan 5 1980``, ``January 5, 1980``, ``5 Jan 1980``, ``05-JAN-1980``,
  ``05-JAN-80``, ``1980-Jan-05``;
* ``pl.Date`` / ``pl.Datetime`` values and integers such as ``19800105``.

Month-first is assumed for ambiguous numeric dates (US files); a first number over 12
with a second of 12 or less is read day-first. A two-digit year is put in the most recent
century that does not make the date lie in the future.

The result is null for impossible dates (February 30), placeholders (1900-01-01,
1901-01-01 and anything older), dates after *today* and dates more than ``max_age`` years
before it (``MAX_AGE_YEARS``, 120, unless the engagement sets ``dob.max_age``). *today* is
fixed when the expression is built (a parameter, for reproducible tests).
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from hashing.normalize._common import on_distinct

#: Default oldest plausible age; an engagement may set another (``dob.max_age``).
MAX_AGE_YEARS = 120
#: Bounds of ``max_age`` (years).
MAX_AGE_RANGE: tuple[int, int] = (1, 150)
#: Dates at or before this one are placeholders of "unknown" (1900-01-01, 1901-01-01).
PLACEHOLDER_LIMIT = dt.date(1901, 1, 1)

_MONTHS: dict[str, str] = {
    "JAN": "1", "JANUARY": "1", "FEB": "2", "FEBRUARY": "2", "MAR": "3", "MARCH": "3",
    "APR": "4", "APRIL": "4", "MAY": "5", "JUN": "6", "JUNE": "6", "JUL": "7", "JULY": "7",
    "AUG": "8", "AUGUST": "8", "SEP": "9", "SEPT": "9", "SEPTEMBER": "9",
    "OCT": "10", "OCTOBER": "10", "NOV": "11", "NOVEMBER": "11", "DEC": "12", "DECEMBER": "12",
}  # fmt: skip

_SEP = r"[-/.]"
_MON = r"(?<mon>[A-Z]{3,9})"


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _month_number(name: pl.Expr) -> pl.Expr:
    return name.replace_strict(_MONTHS, default=None, return_dtype=pl.String)


def _full_year(year: pl.Expr, today: dt.date) -> pl.Expr:
    """Four-digit year text; two digits go to the latest century not in the future."""
    short = year.str.len_bytes() == 2
    yy = year.cast(pl.Int32, strict=False)
    recent = 2000 + yy
    full = pl.when(recent <= today.year).then(recent).otherwise(1900 + yy)
    return pl.when(short).then(full.cast(pl.String)).otherwise(year)


def _iso(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    text = pl.concat_str(year.str.zfill(4), month.str.zfill(2), day.str.zfill(2), separator="-")
    return text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)


_SHAPES: dict[str, str] = {
    # name → pattern; group names say which part each capture is.
    "ymd": rf"^(?<y>\d{{4}}){_SEP}(?<m>\d{{1,2}}){_SEP}(?<d>\d{{1,2}})(?:[T ].*)?$",
    "mdy": rf"^(?<m>\d{{1,2}}){_SEP}(?<d>\d{{1,2}}){_SEP}(?<y>\d{{4}}|\d{{2}})(?: .*)?$",
    "eight": r"^(?<a>\d{2})(?<b>\d{2})(?<c>\d{2})(?<d>\d{2})$",
    "dmy_name": rf"^(?<d>\d{{1,2}})[ ./-]?{_MON}[ ./,-]*(?<y>\d{{4}}|\d{{2}})$",
    "mdy_name": rf"^{_MON}[ ./-]*(?<d>\d{{1,2}})(?:ST|ND|RD|TH)?[ ./,-]*(?<y>\d{{4}}|\d{{2}})$",
    "ymd_name": rf"^(?<y>\d{{4}})[ ./-]?{_MON}[ ./-]?(?<d>\d{{1,2}})$",
}


def _auto_date(frame: pl.DataFrame, column: str, today: dt.date) -> pl.Series:
    """Dates parsed from a cleaned (stripped, uppercase) text column in any accepted shape."""
    c = pl.col(column)
    frame = frame.select(
        c.str.extract_groups(pattern)
        .struct.rename_fields([f"{name}_{g}" for g in _groups(pattern)])
        .alias(name)
        for name, pattern in _SHAPES.items()
    ).unnest(*_SHAPES)

    def col(name: str) -> pl.Expr:
        return pl.col(name)

    first, second = col("mdy_m"), col("mdy_d")
    day_first = (first.cast(pl.Int32, strict=False) > 12) & (
        second.cast(pl.Int32, strict=False) <= 12
    )
    frame = frame.with_columns(
        _full_year(col("mdy_y"), today).alias("mdy_y"),
        _full_year(col("dmy_name_y"), today).alias("dmy_name_y"),
        _full_year(col("mdy_name_y"), today).alias("mdy_name_y"),
        pl.when(day_first).then(second).otherwise(first).alias("mdy_m"),
        pl.when(day_first).then(first).otherwise(second).alias("mdy_d"),
        _month_number(col("dmy_name_mon")).alias("dmy_name_mon"),
        _month_number(col("mdy_name_mon")).alias("mdy_name_mon"),
        _month_number(col("ymd_name_mon")).alias("ymd_name_mon"),
    )
    parsed = pl.coalesce(
        _iso(col("ymd_y"), col("ymd_m"), col("ymd_d")),
        _iso(col("mdy_y"), col("mdy_m"), col("mdy_d")),
        _iso(col("eight_a") + col("eight_b"), col("eight_c"), col("eight_d")),
        _iso(col("eight_c") + col("eight_d"), col("eight_a"), col("eight_b")),
        _iso(col("dmy_name_y"), col("dmy_name_mon"), col("dmy_name_d")),
        _iso(col("mdy_name_y"), col("mdy_name_mon"), col("mdy_name_d")),
        _iso(col("ymd_name_y"), col("ymd_name_mon"), col("ymd_name_d")),
    )
    return frame.select(parsed).to_series()


def _groups(pattern: str) -> list[str]:
    return re.findall(r"\(\?<(\w+)>", pattern)


def _plausible(d: pl.Expr, today: dt.date, max_age: int) -> pl.Expr:
    oldest = _years_before(today, max_age)
    good = (d > pl.lit(PLACEHOLDER_LIMIT)) & (d <= pl.lit(today)) & (d >= pl.lit(oldest))
    return pl.when(good).then(d).otherwise(pl.lit(None, dtype=pl.Date))


def _date_values(s: pl.Series, fmt: str | None, today: dt.date, max_age: int) -> pl.Series:
    frame = s.to_frame("raw").with_columns(
        pl.col("raw").str.strip_chars().str.to_uppercase().str.replace_all(r"\s+", " ").alias("t")
    )
    frame = frame.with_columns(_auto_date(frame, "t", today).alias("auto"))
    frame = frame.with_columns(_plausible(pl.col("auto"), today, max_age))
    if fmt is None:
        return frame.get_column("auto")
    declared = pl.col("raw").str.strip_chars().str.strptime(pl.Date, fmt, strict=False)
    frame = frame.with_columns(declared.alias("declared"))
    return frame.select(
        pl.coalesce(_plausible(pl.col("declared"), today, max_age), "auto")
    ).to_series()


def normalize_date(
    expr: pl.Expr,
    format: str | None = None,
    *,
    today: dt.date | None = None,
    max_age: int = MAX_AGE_YEARS,
) -> pl.Expr:
    """Date text (or a date, or an integer like 19800105) → ``pl.Date``; null if unusable.

    ``format`` is a strptime format declared by the engagement (``"%m/%d/%Y"``); values
    that do not follow it are still tried in the accepted shapes (so a date already
    normalized is read back unchanged). ``today`` (default: the current date when the
    expression is built) and ``max_age`` (years, 1 to 150; default 120) bound the
    plausible range: not after *today*, not more than ``max_age`` years before it.
    """
    low, high = MAX_AGE_RANGE
    if isinstance(max_age, bool) or not isinstance(max_age, int) or not low <= max_age <= high:
        raise ValueError(f"max_age must be a whole number of years from {low} to {high}")
    reference = today or dt.date.today()
    return on_distinct(expr, lambda s: _date_values(s, format, reference, max_age), pl.Date())
