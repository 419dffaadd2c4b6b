"""Keyed tokens: canonical fields → recipes → HMAC-SHA256 tokens, vectorized.

A *recipe* names the canonical fields (optionally through a transform such as
``nysiis(last_name)``) whose values together form a match key. For each record and recipe
the canonical bytes are the components joined by the ASCII unit separator (0x1F, which no
normalized value contains); the token is HMAC-SHA256 under that recipe's own key, 32 raw
bytes. A record with any component missing gets **no token** for that recipe — a blank is
never hashed. A surname with variants (``SMITHJONES``, ``SMITH``, ``JONES``) yields one
token per variant, so either half of a compound surname can meet the other side.

The frequency guard drops a token value that more than ``frequency_ceiling`` records of
one file share: such a value is a placeholder, a blank in disguise or a frequency-attack
handle, and it would only produce ambiguous candidates.

Example::

    keys = {r.name: recipe_key(secret, r.canonical_spec()) for r in recipes}
    result = tokenize(canonical_frame, recipes, keys, frequency_ceiling=25)
    result.tokens      # ref, recipe, token
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import jellyfish
import polars as pl

from hashing._crypto import hmac_sha256_expr
from hashing.errors import InputError

UNIT_SEPARATOR = "\x1f"
TOKEN_BYTES = 32


class RecipeLike(Protocol):
    """What the tokenizer needs of a recipe (``hashing.engagement.Recipe`` provides it)."""

    @property
    def name(self) -> str: ...

    @property
    def components(self) -> Sequence[tuple[str | None, str]]: ...

    def is_optional(self, component: Any) -> bool: ...


def _phonetic(func: Callable[[str], str]) -> Callable[[pl.Expr], pl.Expr]:
    """Apply a per-string phonetic code to the distinct values of a column only."""

    def apply(expr: pl.Expr) -> pl.Expr:
        return expr.map_batches(
            lambda s: _map_distinct(s, func), return_dtype=pl.String, is_elementwise=True
        )

    return apply


def _map_distinct(series: pl.Series, func: Callable[[str], str]) -> pl.Series:
    distinct = series.drop_nulls().unique()
    mapping = {value: (func(value) or None) for value in distinct.to_list()}
    return series.replace_strict(mapping, default=None, return_dtype=pl.String)


@cache
def _street_core_patterns() -> tuple[str, str]:
    from hashing.normalize.address import DIRECTIONALS, street_suffixes

    directionals = "|".join(sorted(set(DIRECTIONALS.values()), key=len, reverse=True))
    suffixes = "|".join(sorted(set(street_suffixes().values()), key=len, reverse=True))
    return rf"^(?:{directionals}) (\S.*)$|^(.*\S) (?:{directionals})$", rf"^(.*\S) (?:{suffixes})$"


def _street_core_values(streets: pl.Series) -> pl.Series:
    directional, suffix = _street_core_patterns()
    stripped = pl.col("s")
    for _ in range(2):  # a leading and a trailing directional
        stripped = (
            pl.when(stripped.str.contains(directional))
            .then(
                pl.concat_str(
                    stripped.str.extract(directional, 1).fill_null(""),
                    stripped.str.extract(directional, 2).fill_null(""),
                )
            )
            .otherwise(stripped)
        )
    core = pl.when(stripped.str.contains(suffix)).then(stripped.str.extract(suffix, 1))
    return pl.DataFrame({"s": streets}).select(core.otherwise(stripped)).to_series()


def _street_core(expr: pl.Expr) -> pl.Expr:
    """The street name without directionals and street type: ``N MAIN ST`` → ``MAIN``.

    The two sides of a match often disagree on exactly these parts (one drops the ``ST``
    or the ``N``); a name that is nothing but a type or a directional is kept whole.
    Computed once per distinct street.
    """

    def apply(series: pl.Series) -> pl.Series:
        distinct = series.drop_nulls().unique()
        mapping = dict(
            zip(distinct.to_list(), _street_core_values(distinct).to_list(), strict=True)
        )
        return series.replace_strict(mapping, default=None, return_dtype=pl.String)

    return expr.map_batches(apply, return_dtype=pl.String, is_elementwise=True)


def _year(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Date, strict=False).dt.year().cast(pl.String)


TRANSFORMS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "nysiis": _phonetic(jellyfish.nysiis),
    "soundex": _phonetic(jellyfish.soundex),
    "metaphone": _phonetic(jellyfish.metaphone),
    "initial": lambda e: e.str.slice(0, 1),
    "first3": lambda e: e.str.slice(0, 3),
    "year": _year,
    "core": _street_core,
}


def _as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Date:
        return expr.dt.to_string("%Y-%m-%d")
    return expr.cast(pl.String)


def component_expr(transform: str | None, field_name: str, dtype: pl.DataType) -> pl.Expr:
    """The canonical text of one recipe component; null (never "") when missing."""
    base = _as_text(pl.col(field_name), dtype)
    if transform is not None:
        if transform not in TRANSFORMS:
            raise InputError(f"unknown recipe transform '{transform}'")
        base = TRANSFORMS[transform](pl.col(field_name) if transform == "year" else base)
    text = base.str.strip_chars()
    return pl.when(text.str.len_bytes() > 0).then(text).otherwise(None)


def recipe_message(recipe: RecipeLike, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """Canonical message of a recipe: components joined by 0x1F.

    Null when any required component is missing; a missing *optional* component (e.g. the
    unit of an address) takes the empty string in its place, so homes without a unit still
    get an address token while the required parts are never blank.
    """
    parts = []
    for component in recipe.components:
        transform, field_name = component
        if field_name not in schema:
            raise InputError(
                f"recipe '{recipe.name}' needs canonical field '{field_name}', "
                "which the input mapping does not provide"
            )
        part = component_expr(transform, field_name, schema[field_name])
        parts.append(part.fill_null("") if recipe.is_optional(component) else part)
    # concat_str yields null when any part is null (ignore_nulls=False): no token then.
    return pl.concat_str(parts, separator=UNIT_SEPARATOR, ignore_nulls=False)


@dataclass(frozen=True)
class TokenResult:
    """Tokens of one file plus the counts the party's summary reports."""

    tokens: pl.DataFrame  # ref: Binary(16), recipe: String, token: Binary(32)
    per_recipe: dict[str, int] = field(default_factory=dict)  # tokens kept
    dropped_by_guard: dict[str, int] = field(default_factory=dict)  # token rows dropped


def _recipe_rows(frame: pl.LazyFrame, schema: pl.Schema, recipe: RecipeLike) -> pl.LazyFrame:
    """Rows (ref, message) of one recipe, one per surname variant where it applies."""
    uses_last = any(f == "last_name" for _, f in recipe.components)
    source = frame
    exploded = uses_last and "last_name_variants" in schema
    if exploded:
        source = frame.select(
            pl.exclude("last_name", "last_name_variants"),
            pl.col("last_name_variants").alias("last_name"),
        ).explode("last_name")
    message = recipe_message(recipe, schema)
    rows = source.select("ref", message.alias("message")).drop_nulls("message")
    # Distinct variants stay distinct unless a transform maps two of them to one code
    # (nysiis of both halves): then keep one row per (ref, message).
    transformed = any(t is not None and f == "last_name" for t, f in recipe.components)
    return rows.unique(["ref", "message"]) if exploded and transformed else rows


def tokenize(
    canonical: pl.DataFrame,
    recipes: Sequence[RecipeLike],
    keys: Mapping[str, bytes],
    *,
    frequency_ceiling: int,
) -> TokenResult:
    """Compute every recipe's tokens for a canonical frame that carries a ``ref`` column.

    ``keys`` maps recipe name → its 32-byte HMAC key (see ``hashing.keys.recipe_key``).
    Returns tokens in long form after the frequency guard, with counts per recipe.
    """
    if "ref" not in canonical.columns:
        raise InputError("canonical frame has no 'ref' column")
    if frequency_ceiling < 1:
        raise InputError("frequency_ceiling must be at least 1")
    missing = [r.name for r in recipes if r.name not in keys]
    if missing:
        raise InputError(f"no key for recipe(s): {', '.join(missing)}")

    per_recipe: dict[str, int] = {}
    dropped: dict[str, int] = {}
    schema = canonical.schema
    lazy = canonical.lazy()
    # One lazy query per recipe, all collected together: polars runs them in parallel and
    # the HMAC itself runs in Rust. Within a recipe each (ref, message) is unique, so the
    # number of rows sharing a message is the number of records sharing the token.
    queries = [
        _recipe_rows(lazy, schema, r).select(
            "ref",
            pl.lit(r.name, dtype=pl.String).alias("recipe"),
            hmac_sha256_expr(pl.col("message"), keys[r.name]).alias("token"),
            (pl.len().over("message") > frequency_ceiling).alias("_frequent"),
        )
        for r in recipes
    ]
    parts: list[pl.DataFrame] = []
    for r, frame in zip(recipes, pl.collect_all(queries), strict=True):
        kept = frame.filter(~pl.col("_frequent")).drop("_frequent")
        dropped[r.name] = frame.height - kept.height
        per_recipe[r.name] = kept.height
        parts.append(kept)

    tokens = (
        pl.concat(parts, how="vertical")
        if parts
        else pl.DataFrame(schema={"ref": pl.Binary, "recipe": pl.String, "token": pl.Binary})
    )
    return TokenResult(tokens=tokens, per_recipe=per_recipe, dropped_by_guard=dropped)
