"""A party's input frame → its canonical fields, in one lazy query.

``canonicalize(lf, fields)`` reads the table ``[inputs.<party>.fields]`` of the engagement
file: canonical field → input column name, or a table ``{column = "...", ...options}``::

    [inputs.campaign.fields]
    first_name = "FIRST_NAME"
    dob = { column = "BIRTH_DATE", format = "%m/%d/%Y", max_age = 130 }
    national_id = "SSN"

    [inputs.operator.fields]
    full_name = { column = "holder_name", order = "auto" }
    address_line = { column = "service_address", includes = ["zip"] }

The result keeps every input column and adds (or replaces) one column per canonical field
— null where the field is not mapped; ``dob`` is ``pl.Date``, the others ``pl.String`` —
plus ``last_name_variants`` (``List[String]``: the joined surname first, then its parts).

Composites fill the fields they carry: ``full_name`` gives first, middle and last name
and suffix; ``address_line`` gives house number, street and unit, plus city, state and
zip when ``includes`` names them. A field mapped to its own column as well takes the
column's value and falls back on the composite where the column is null. The suffix also
falls back on one found at the end of the surname ("SMITH JR"), and the unit on one found
at the end of the street ("MAIN ST APT 4").

``usable_mask()`` flags the rows that carry at least one identifying field; the others
are for quarantine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from hashing.engagement_recipes import CANONICAL_FIELDS, COMPOSITE_PARTS
from hashing.errors import ConfigError, InputError
from hashing.normalize import (
    address_line_parts,
    full_name_parts,
    last_name_parts,
    normalize_city,
    normalize_date,
    normalize_email,
    normalize_first_name,
    normalize_house_number,
    normalize_middle_name,
    normalize_name_suffix,
    normalize_national_id,
    normalize_phone,
    normalize_sex,
    normalize_state,
    normalize_unit,
    normalize_zip,
    street_parts,
)
from hashing.normalize.dates import MAX_AGE_RANGE, MAX_AGE_YEARS

COMPOSITE_FIELDS: tuple[str, ...] = tuple(COMPOSITE_PARTS)
VARIANTS = "last_name_variants"

#: Fields of which at least one must be present for a row to be usable: a name, an
#: address (its street), a phone number or an email address.
USABLE_FIELDS: tuple[str, ...] = ("first_name", "last_name", "street", "phone", "email")

_OPTIONS: dict[str, frozenset[str]] = {
    "dob": frozenset({"format", "max_age"}),
    "full_name": frozenset({"order"}),
    "address_line": frozenset({"includes"}),
}
_ORDERS = ("auto", "first_last", "last_first")
_PLACE = ("city", "state", "zip")
_TMP = "__blindlink_canonical_"


@dataclass(frozen=True)
class FieldSource:
    """Where one canonical field (or composite) is read from, with its options."""

    name: str
    column: str
    options: Mapping[str, Any] = field(default_factory=dict)


def parse_fields(
    fields: Mapping[str, str | Mapping[str, Any]] | Any, source: str = "fields"
) -> dict[str, FieldSource]:
    """Validate a fields table; every problem is reported at once in a ``ConfigError``.

    Also accepts an object with ``model_dump()`` (a parsed engagement model).
    """
    if hasattr(fields, "model_dump") and not isinstance(fields, Mapping):
        fields = {k: v for k, v in fields.model_dump().items() if v is not None}
    if not isinstance(fields, Mapping):
        raise ConfigError(source, [("fields", "expected a table of field = column")])
    problems: list[tuple[str, str]] = []
    parsed: dict[str, FieldSource] = {}
    allowed = (*CANONICAL_FIELDS, *COMPOSITE_FIELDS)
    for name, spec in fields.items():
        path = f"fields.{name}"
        if name not in allowed:
            problems.append((path, f"not a canonical field; expected one of: {', '.join(allowed)}"))
            continue
        column: Any
        if isinstance(spec, str):
            column, options = spec, {}
        elif isinstance(spec, Mapping):
            column = spec.get("column")
            options = {k: v for k, v in spec.items() if k != "column"}
        else:
            problems.append((path, "expected a column name or a table with 'column'"))
            continue
        if not isinstance(column, str) or not column.strip():
            problems.append((f"{path}.column", "expected a non-empty column name"))
            continue
        problems.extend(_option_problems(name, path, options))
        parsed[name] = FieldSource(name, column, options)
    if problems:
        raise ConfigError(source, problems)
    return parsed


def _option_problems(name: str, path: str, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    allowed = _OPTIONS.get(name, frozenset())
    for key in sorted(set(options) - allowed):
        hint = ", ".join(sorted(allowed)) if allowed else "none (only 'column')"
        problems.append((f"{path}.{key}", f"unknown option; allowed here: {hint}"))
    fmt = options.get("format")
    if name == "dob" and fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
        problems.append((f"{path}.format", "expected a strptime format such as '%m/%d/%Y'"))
    max_age = options.get("max_age")
    low, high = MAX_AGE_RANGE
    if name == "dob" and max_age is not None and not _whole_within(max_age, low, high):
        problems.append(
            (f"{path}.max_age", f"expected a whole number of years from {low} to {high}")
        )
    order = options.get("order", "auto")
    if name == "full_name" and order not in _ORDERS:
        problems.append((f"{path}.order", f"expected one of: {', '.join(_ORDERS)}"))
    includes = options.get("includes", ())
    if name == "address_line":
        if isinstance(includes, str) or not isinstance(includes, Sequence):
            problems.append((f"{path}.includes", "expected a list among city, state, zip"))
        elif not set(includes) <= set(_PLACE):
            problems.append((f"{path}.includes", "may name city, state and zip only"))
    return problems


def _whole_within(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def canonicalize(
    lf: pl.LazyFrame, fields: Mapping[str, str | Mapping[str, Any]], *, source: str = "fields"
) -> pl.LazyFrame:
    """Add the canonical fields (and ``last_name_variants``) to a party's input frame.

    Raises ``ConfigError`` for a malformed fields table and ``InputError`` when a mapped
    column is missing from the input (the message names the column and the field, never
    a value). Input columns may be of any scalar dtype (strings from CSV, integers for
    ZIP or house number from Parquet, dates for dob).
    """
    sources = parse_fields(fields, source)
    schema = lf.collect_schema()
    _check_columns(sources, schema)

    def col(name: str) -> pl.Expr:
        return pl.col(sources[name].column)

    stage: dict[str, pl.Expr] = {}  # struct-valued temporaries, computed once each
    if "last_name" in sources:
        stage["last"] = last_name_parts(col("last_name"))
    if "full_name" in sources:
        order = sources["full_name"].options.get("order", "auto")
        stage["full"] = full_name_parts(col("full_name"), order)
    if "street" in sources:
        stage["street"] = street_parts(col("street"))
    includes: tuple[str, ...] = ()
    if "address_line" in sources:
        includes = tuple(sources["address_line"].options.get("includes", ()))
        stage["line"] = address_line_parts(col("address_line"), includes)

    def tmp(key: str, part: str) -> pl.Expr:
        return pl.col(_TMP + key).struct.field(part)

    direct = {
        "first_name": normalize_first_name,
        "middle_name": normalize_middle_name,
        "name_suffix": normalize_name_suffix,
        "sex": normalize_sex,
        "email": normalize_email,
        "phone": normalize_phone,
        "house_number": normalize_house_number,
        "unit": normalize_unit,
        "city": normalize_city,
        "state": normalize_state,
        "zip": normalize_zip,
        "national_id": normalize_national_id,
    }
    values: dict[str, list[pl.Expr]] = {f: [] for f in CANONICAL_FIELDS}
    for name, normalize in direct.items():
        if name in sources:
            values[name].append(normalize(col(name)))
    if "dob" in sources:
        options = sources["dob"].options
        max_age = options.get("max_age")
        normalized = normalize_date(
            col("dob"),
            options.get("format"),
            max_age=MAX_AGE_YEARS if max_age is None else max_age,
        )
        values["dob"].append(normalized)
    if "last" in stage:
        values["last_name"].append(tmp("last", "last_name"))
        values["name_suffix"].append(tmp("last", "name_suffix"))
    if "street" in stage:
        values["street"].append(tmp("street", "street"))
        values["unit"].append(tmp("street", "unit"))
    if "full" in stage:
        for part in ("first_name", "middle_name", "last_name", "name_suffix"):
            values[part].append(tmp("full", part))
    if "line" in stage:
        for part in ("house_number", "street", "unit", *includes):
            values[part].append(tmp("line", part))

    outputs = [_first_present(name, values[name]) for name in CANONICAL_FIELDS]
    outputs.append(_variants(stage).alias(VARIANTS))
    return (
        lf.with_columns(expr.alias(_TMP + key) for key, expr in stage.items())
        .with_columns(outputs)
        .drop([_TMP + key for key in stage])
    )


def _first_present(name: str, candidates: list[pl.Expr]) -> pl.Expr:
    dtype = pl.Date() if name == "dob" else pl.String()
    if not candidates:
        return pl.lit(None, dtype=dtype).alias(name)
    if len(candidates) == 1:
        return candidates[0].alias(name)
    return pl.coalesce(candidates).alias(name)


def _variants(stage: Mapping[str, pl.Expr]) -> pl.Expr:
    """Surname variants of whichever source gave ``last_name`` (the column first)."""
    empty = pl.lit(None, dtype=pl.List(pl.String))
    if "last" in stage and "full" in stage:
        own = pl.col(_TMP + "last").struct.field("last_name")
        return (
            pl.when(own.is_not_null())
            .then(pl.col(_TMP + "last").struct.field(VARIANTS))
            .otherwise(pl.col(_TMP + "full").struct.field(VARIANTS))
        )
    for key in ("last", "full"):
        if key in stage:
            return pl.col(_TMP + key).struct.field(VARIANTS)
    return empty


def _check_columns(sources: Mapping[str, FieldSource], schema: pl.Schema) -> None:
    missing = [s for s in sources.values() if s.column not in schema]
    if missing:
        listed = "; ".join(f"column '{s.column}' (for field {s.name})" for s in missing)
        raise InputError(f"input lacks {len(missing)} mapped column(s): {listed}")
    nested = [s for s in sources.values() if schema[s.column].is_nested()]
    if nested:
        listed = "; ".join(f"column '{s.column}' (for field {s.name})" for s in nested)
        raise InputError(f"input column(s) of a nested type cannot be normalized: {listed}")


def usable_mask(fields: Sequence[str] = USABLE_FIELDS) -> pl.Expr:
    """True for rows of a canonical frame with at least one identifying field present.

    By default a row is usable when it has a first or last name, a street, a phone or an
    email; rows where all are null can produce no token worth matching and belong in
    quarantine. Fields absent from the frame must not be passed.
    """
    return pl.any_horizontal(pl.col(name).is_not_null() for name in fields).alias("usable")
