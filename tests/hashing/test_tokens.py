"""Keyed tokens: known-answer vectors, properties, the blank rule and the frequency guard."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashing._crypto import hmac_sha256_hexkey
from hashing.engagement_model import Recipe
from hashing.errors import InputError
from hashing.keys import LinkSecret, recipe_key
from hashing.tokens import UNIT_SEPARATOR, tokenize

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "tokens.json"

NAME_ADDRESS = Recipe(
    name="name_address", fields=("first_name", "last_name", "house_number", "street", "zip")
)
ADDRESS = Recipe(
    name="address",
    fields=("house_number", "street", "unit", "zip"),
    optional=("unit",),
    level="household",
)
PHONETIC = Recipe(
    name="phonetic", fields=("nysiis(last_name)", "initial(first_name)", "house_number", "zip")
)
EMAIL = Recipe(name="email", fields=("email",))
NAME_DOB = Recipe(name="name_dob", fields=("first_name", "last_name", "dob"))
RECIPES = (EMAIL, NAME_ADDRESS, ADDRESS, PHONETIC, NAME_DOB)

CANONICAL_SCHEMA = {
    "ref": pl.Binary,
    "first_name": pl.String,
    "last_name": pl.String,
    "last_name_variants": pl.List(pl.String),
    "house_number": pl.String,
    "street": pl.String,
    "unit": pl.String,
    "zip": pl.String,
    "email": pl.String,
    "dob": pl.Date,
}


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    full = []
    for i, row in enumerate(rows):
        record = {name: None for name in CANONICAL_SCHEMA}
        record["ref"] = i.to_bytes(16, "big")
        record.update(row)
        if record["last_name_variants"] is None and record["last_name"] is not None:
            record["last_name_variants"] = [record["last_name"]]
        full.append(record)
    return pl.DataFrame(full, schema=CANONICAL_SCHEMA)


def _keys(secret: LinkSecret) -> dict[str, bytes]:
    return {r.name: recipe_key(secret, r.canonical_spec()) for r in RECIPES}


SECRET = LinkSecret(bytes(range(32)))
PERSON = {
    "first_name": "JOHN",
    "last_name": "SMITH",
    "house_number": "123",
    "street": "N MAIN ST",
    "zip": "43215",
    "email": "jsmith@example.com",
    "dob": date(1970, 5, 17),
}


def _tokens_of(frame: pl.DataFrame, keys: dict[str, bytes]) -> dict[str, set[bytes]]:
    result = tokenize(frame, RECIPES, keys, frequency_ceiling=1000)
    grouped: dict[str, set[bytes]] = {}
    for recipe, token in result.tokens.select("recipe", "token").iter_rows():
        grouped.setdefault(recipe, set()).add(token)
    return grouped


def test_known_answer_vectors() -> None:
    """(link secret, recipe spec, canonical message) → token, pinned in tests/vectors."""
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert len(vectors) >= 5
    for v in vectors:
        key = recipe_key(LinkSecret(bytes.fromhex(v["link_secret"])), v["recipe_spec"])
        assert key.hex() == v["recipe_key"]
        message = v["message"].replace("|", UNIT_SEPARATOR).encode("utf-8")
        assert hmac_sha256_hexkey(key, message).hex() == v["token"]


def test_vectorized_tokens_equal_the_vectors() -> None:
    vectors = {v["recipe_spec"]: v for v in json.loads(VECTORS.read_text(encoding="utf-8"))}
    frame = _frame([PERSON])
    tokens = _tokens_of(frame, _keys(SECRET))
    for recipe in RECIPES:
        v = vectors[recipe.canonical_spec()]
        assert v["link_secret"] == SECRET._material().hex()
        assert tokens[recipe.name] == {bytes.fromhex(v["token"])}


def test_tokens_are_32_bytes_and_deterministic() -> None:
    frame = _frame([PERSON, {**PERSON, "first_name": "MARY"}])
    first = tokenize(frame, RECIPES, _keys(SECRET), frequency_ceiling=100).tokens
    second = tokenize(frame, RECIPES, _keys(SECRET), frequency_ceiling=100).tokens
    assert first.get_column("token").bin.size().unique().to_list() == [32]
    assert first.sort("ref", "recipe", "token").equals(second.sort("ref", "recipe", "token"))


def test_missing_component_yields_no_token() -> None:
    frame = _frame([{**PERSON, "email": None, "dob": None, "zip": "  "}])
    tokens = _tokens_of(frame, _keys(SECRET))
    # email and dob are missing; zip is blank, which kills every address-based recipe.
    assert tokens == {}


def test_optional_unit_may_be_missing_but_changes_the_token() -> None:
    without_unit = _tokens_of(_frame([PERSON]), _keys(SECRET))["address"]
    with_unit = _tokens_of(_frame([{**PERSON, "unit": "4B"}]), _keys(SECRET))["address"]
    assert len(without_unit) == 1
    assert without_unit != with_unit


def test_every_surname_variant_gets_a_token() -> None:
    compound = {**PERSON, "last_name": "SMITHJONES"}
    compound["last_name_variants"] = ["SMITHJONES", "SMITH", "JONES"]
    both = _tokens_of(_frame([compound]), _keys(SECRET))
    plain = _tokens_of(_frame([PERSON]), _keys(SECRET))
    assert len(both["name_address"]) == 3
    assert plain["name_address"] <= both["name_address"]


def test_frequency_guard_drops_shared_values_and_counts_them() -> None:
    shared = [{**PERSON, "first_name": f"P{i}", "email": "same@example.com"} for i in range(6)]
    result = tokenize(_frame(shared), RECIPES, _keys(SECRET), frequency_ceiling=5)
    assert result.dropped_by_guard["email"] == 6
    assert "email" not in set(result.tokens.get_column("recipe").to_list())
    assert result.per_recipe["name_address"] == 6


def test_missing_key_or_field_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no key"):
        tokenize(_frame([PERSON]), RECIPES, {}, frequency_ceiling=5)
    frame = _frame([PERSON]).drop("dob")
    with pytest.raises(InputError, match="'dob'"):
        tokenize(frame, RECIPES, _keys(SECRET), frequency_ceiling=5)


names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(first=names, last=names, secret=st.binary(min_size=32, max_size=32))
def test_tokens_differ_across_keys_recipes_and_engagements(
    first: str, last: str, secret: bytes
) -> None:
    frame = _frame([{**PERSON, "first_name": first, "last_name": last}])
    mine = _tokens_of(frame, _keys(LinkSecret(secret)))
    other_secret = bytes(b ^ 0xFF for b in secret)
    theirs = _tokens_of(frame, _keys(LinkSecret(other_secret)))
    all_mine = set().union(*mine.values())
    # another key (another engagement's or party's secret) shares no token value
    assert all_mine.isdisjoint(set().union(*theirs.values()))
    # recipes never share a token value, even over equal messages
    assert sum(len(v) for v in mine.values()) == len(all_mine)
    assert all(len(t) == 32 for t in all_mine)


@settings(max_examples=40, deadline=None)
@given(blank=st.sampled_from(["", " ", "   ", None]), which=st.sampled_from(["first_name", "zip"]))
def test_blank_component_never_yields_a_token(blank: str | None, which: str) -> None:
    frame = _frame([{**PERSON, which: blank, "email": None, "dob": None}])
    tokens = _tokens_of(frame, _keys(SECRET))
    # only recipes that do not read the blanked field may produce tokens
    for recipe in RECIPES:
        if which in recipe.field_names:
            assert recipe.name not in tokens


def test_core_street_drops_directionals_and_type_only() -> None:
    from hashing.tokens import TRANSFORMS

    streets = ["N MAIN ST", "MAIN ST", "MAIN", "MAIN ST N", "E 5TH AVE", "OAK HILL DR", "ST", None]
    frame = pl.DataFrame({"street": streets}, schema={"street": pl.String})
    core = frame.select(TRANSFORMS["core"](pl.col("street"))).to_series().to_list()
    assert core == ["MAIN", "MAIN", "MAIN", "MAIN", "5TH", "OAK HILL", "ST", None]
    # idempotent: the core of a core is itself
    again = pl.DataFrame({"street": core}).select(TRANSFORMS["core"](pl.col("street")))
    assert again.to_series().to_list() == core
