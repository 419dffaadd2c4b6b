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


def _year(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Date, strict=False).dt.year().cast(pl.String)


TRANSFORMS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "nysiis": _phonetic(jellyfish.nysiis),
    "soundex": _phonetic(jellyfish.soundex),
    "metaphone": _phonetic(jellyfish.metaphone),
    "initial": lambda e: e.str.slice(0, 1),
    "first3": lambda e: e.str.slice(0, 3),
    "year": _year,
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
    records_with_token: int = 0


def _recipe_rows(frame: pl.DataFrame, recipe: RecipeLike) -> pl.DataFrame:
    """Rows (ref, message) of one recipe, one per surname variant where it applies."""
    uses_last = any(f == "last_name" for _, f in recipe.components)
    source = frame
    if uses_last and "last_name_variants" in frame.columns:
        source = (
            frame.select(
                pl.exclude("last_name"),
                pl.col("last_name_variants").alias("last_name"),
            )
            .explode("last_name")
            .drop("last_name_variants")
        )
    message = recipe_message(recipe, source.schema)
    return (
        source.select("ref", message.alias("message"))
        .drop_nulls("message")
        .unique(["ref", "message"])
    )


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
    parts: list[pl.DataFrame] = []
    messages = [(r, _recipe_rows(canonical, r)) for r in recipes]
    # One select per recipe; the HMAC itself runs in Rust, one recipe per thread.
    hashed = pl.collect_all(
        [
            rows.lazy().select(
                "ref",
                pl.lit(r.name, dtype=pl.String).alias("recipe"),
                hmac_sha256_expr(pl.col("message"), keys[r.name]).alias("token"),
            )
            for r, rows in messages
        ]
    )
    for (r, _), frame in zip(messages, hashed, strict=True):
        counts = frame.group_by("token").agg(pl.col("ref").n_unique().alias("n"))
        frequent = counts.filter(pl.col("n") > frequency_ceiling).select("token")
        kept = frame.join(frequent, on="token", how="anti") if frequent.height else frame
        dropped[r.name] = frame.height - kept.height
        per_recipe[r.name] = kept.height
        parts.append(kept)

    tokens = (
        pl.concat(parts, how="vertical")
        if parts
        else pl.DataFrame(schema={"ref": pl.Binary, "recipe": pl.String, "token": pl.Binary})
    )
    return TokenResult(
        tokens=tokens,
        per_recipe=per_recipe,
        dropped_by_guard=dropped,
        records_with_token=tokens.get_column("ref").n_unique() if tokens.height else 0,
    )
