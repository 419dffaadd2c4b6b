"""canonicalize(): a party's frame → canonical fields, from the engagement's fields table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashing.canonical import (
    CANONICAL_FIELDS,
    VARIANTS,
    canonicalize,
    parse_fields,
    usable_mask,
)
from hashing.errors import ConfigError, InputError
from tests.hashing.normalize._support import PROPERTY_SETTINGS

VOTER_FIELDS: dict[str, Any] = {
    "first_name": "Given Name",
    "middle_name": "Middle",
    "last_name": "Surname!!",
    "name_suffix": "sfx",
    "dob": {"column": "Born", "format": "%m/%d/%Y"},
    "sex": "Gender",
    "house_number": "No.",
    "street": "Street",
    "unit": "Apt",
    "city": "Town",
    "state": "St",
    "zip": "Post code",
    "phone": "Tel",
    "email": "Mail",
    "national_id": "SSN",
}
OPERATOR_FIELDS: dict[str, Any] = {
    "full_name": {"column": "holder", "order": "auto"},
    "address_line": {"column": "service address"},
    "city": "city",
    "state": "state",
    "zip": "zip",
    "phone": "phone",
    "email": "email",
}


def voters() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "VOTER_ID": ["V1", "V2", "V3"],
            "Given Name": ["ROBERT", "Mary", ""],
            "Middle": ["A", None, None],
            "Surname!!": ["SMITH JR", "Smith-Jones", None],
            "sfx": [None, None, None],
            "Born": ["01/05/1980", "12/31/1975", "02/30/1990"],
            "Gender": ["M", "F", "U"],
            "No.": ["123", "45", None],
            "Street": ["N MAIN ST", "Elm Street", None],
            "Apt": ["APT 4", None, None],
            "Town": ["Springfield", "BOSTON", None],
            "St": ["IL", "Massachusetts", None],
            "Post code": ["62704", "2134", None],
            "Tel": ["2175550143", None, "0000000000"],
            "Mail": ["Bob.Smith+tv@gmail.com", "", None],
            "SSN": ["078-05-1121", None, "000-00-0000"],
        }
    )


def subscribers() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "holder": ["SMITH, BOB A", "Mary Smith-Jones"],
            "service address": ["123 North Main Street, Unit 4", "45 ELM ST"],
            "city": ["SPRINGFIELD", "Boston"],
            "state": ["IL", "MA"],
            "zip": ["62704-1234", "02134"],
            "phone": ["(217) 555-0143", None],
            "email": ["bobsmith@gmail.com", None],
        }
    )


def test_voter_shape_with_arbitrary_column_names() -> None:
    out = canonicalize(voters().lazy(), VOTER_FIELDS).collect()
    rows = out.select(*CANONICAL_FIELDS, VARIANTS).rows(named=True)
    assert rows[0] == {
        "first_name": "ROBERT",
        "middle_name": "A",
        "last_name": "SMITH",
        "name_suffix": "JR",
        "dob": dt.date(1980, 1, 5),
        "sex": "M",
        "email": "bobsmith@gmail.com",
        "phone": "+12175550143",
        "house_number": "123",
        "street": "N MAIN ST",
        "unit": "4",
        "city": "SPRINGFIELD",
        "state": "IL",
        "zip": "62704",
        "national_id": "078051121",
        VARIANTS: ["SMITH"],
    }
    assert rows[1]["last_name"] == "SMITHJONES"
    assert rows[1][VARIANTS] == ["SMITHJONES", "SMITH", "JONES"]
    assert (rows[1]["state"], rows[1]["zip"], rows[1]["email"]) == ("MA", "02134", None)
    assert (
        all(v is None for k, v in rows[2].items() if k not in ("sex",)) and rows[2]["sex"] is None
    )


def test_operator_shape_with_composite_columns() -> None:
    out = canonicalize(subscribers().lazy(), OPERATOR_FIELDS).collect()
    rows = out.select(*CANONICAL_FIELDS, VARIANTS).rows(named=True)
    assert rows[0] | {"dob": None} == {
        "first_name": "ROBERT",
        "middle_name": "A",
        "last_name": "SMITH",
        "name_suffix": None,
        "dob": None,
        "sex": None,
        "email": "bobsmith@gmail.com",
        "phone": "+12175550143",
        "house_number": "123",
        "street": "N MAIN ST",
        "unit": "4",
        "city": "SPRINGFIELD",
        "state": "IL",
        "zip": "62704",
        "national_id": None,
        VARIANTS: ["SMITH"],
    }


def test_the_same_household_meets_in_canonical_form() -> None:
    keys = ["first_name", "last_name", "house_number", "street", "unit", "city", "state", "zip"]
    keys += ["phone", "email"]
    voter = canonicalize(voters().lazy(), VOTER_FIELDS).collect().select(keys).row(0)
    account = canonicalize(subscribers().lazy(), OPERATOR_FIELDS).collect().select(keys).row(0)
    assert voter == account
    voter_variants = canonicalize(voters().lazy(), VOTER_FIELDS).collect()[VARIANTS][1]
    account_variants = canonicalize(subscribers().lazy(), OPERATOR_FIELDS).collect()[VARIANTS][1]
    assert set(voter_variants) == set(account_variants)


def test_schema_input_columns_kept_and_unmapped_fields_null() -> None:
    frame = subscribers()
    out = canonicalize(frame.lazy(), OPERATOR_FIELDS).collect()
    assert out.columns[: frame.width] == frame.columns
    others = [c for c in frame.columns if c not in CANONICAL_FIELDS]
    assert out.select(others).equals(frame.select(others))
    # An input column named like a canonical field is replaced by the canonical value.
    assert out["zip"].to_list() == ["62704", "02134"]
    assert set(CANONICAL_FIELDS) | {VARIANTS} <= set(out.columns)
    for field in CANONICAL_FIELDS:
        assert out.schema[field] == (pl.Date if field == "dob" else pl.String), field
    assert out.schema[VARIANTS] == pl.List(pl.String)
    assert out["dob"].null_count() == out.height
    assert out["sex"].null_count() == out.height


def test_an_empty_mapping_gives_all_null_fields() -> None:
    out = canonicalize(pl.LazyFrame({"id": [1, 2]}), {}).collect()
    assert out.columns == ["id", *CANONICAL_FIELDS, VARIANTS]
    assert all(out[f].null_count() == 2 for f in (*CANONICAL_FIELDS, VARIANTS))


def test_numbers_and_dates_from_parquet_typed_columns(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "zip": pl.Series([2134, 62704, None], dtype=pl.Int64),
            "num": pl.Series([123, 0, 45], dtype=pl.Int32),
            "born": [dt.date(1980, 1, 5), None, dt.date(2199, 1, 1)],
            "phone": pl.Series([2025550143, None, 5555555555], dtype=pl.Int64),
        }
    )
    path = tmp_path / "typed.parquet"
    frame.write_parquet(path)
    fields = {"zip": "zip", "house_number": "num", "dob": "born", "phone": "phone"}
    out = canonicalize(pl.scan_parquet(path), fields).collect()
    assert out["zip"].to_list() == ["02134", "62704", None]
    assert out["house_number"].to_list() == ["123", None, "45"]
    assert out["dob"].to_list() == [dt.date(1980, 1, 5), None, None]
    assert out["phone"].to_list() == ["+12025550143", None, None]


def test_csv_read_with_string_schema(tmp_path: Path) -> None:
    path = tmp_path / "voters.csv"
    voters().write_csv(path)
    lazy = pl.scan_csv(path, infer_schema=False)
    out = canonicalize(lazy, VOTER_FIELDS).collect()
    expected = canonicalize(voters().lazy(), VOTER_FIELDS).collect()
    assert out.select(CANONICAL_FIELDS).equals(expected.select(CANONICAL_FIELDS))


def test_explicit_columns_win_and_composites_fill_the_gaps() -> None:
    frame = pl.DataFrame(
        {
            "name": ["SMITH, JOHN", "DOE, JANE"],
            "first": ["Bob", None],
            "line": ["123 Main St Apt 4, Springfield, IL 62704", "9 Oak Ave, Dayton, OH 45402"],
            "zip": [None, "45403"],
        }
    )
    fields: dict[str, Any] = {
        "full_name": "name",
        "first_name": "first",
        "address_line": {"column": "line", "includes": ["city", "state", "zip"]},
        "zip": "zip",
    }
    out = canonicalize(frame.lazy(), fields).collect()
    assert out["first_name"].to_list() == ["ROBERT", "JANE"]
    assert out["last_name"].to_list() == ["SMITH", "DOE"]
    assert out["zip"].to_list() == ["62704", "45403"]
    assert out["city"].to_list() == ["SPRINGFIELD", "DAYTON"]
    assert out["unit"].to_list() == ["4", None]


def test_unit_written_into_the_street_fills_a_missing_unit() -> None:
    frame = pl.DataFrame({"street": ["MAIN ST APT 4", "MAIN ST #5"], "unit": [None, "APT 6"]})
    out = canonicalize(frame.lazy(), {"street": "street", "unit": "unit"}).collect()
    assert out["street"].to_list() == ["MAIN ST", "MAIN ST"]
    assert out["unit"].to_list() == ["4", "6"]


def test_missing_columns_name_the_column_and_the_field_but_no_value() -> None:
    frame = pl.DataFrame({"Given Name": ["SECRETNAME"], "Other": ["SECRETVALUE"]})
    fields = {"first_name": "Given Name", "last_name": "Surname", "email": "Mail"}
    with pytest.raises(InputError) as raised:
        canonicalize(frame.lazy(), fields)
    message = str(raised.value)
    assert "'Surname' (for field last_name)" in message
    assert "'Mail' (for field email)" in message
    assert "SECRET" not in message


def test_nested_input_columns_are_refused() -> None:
    frame = pl.DataFrame({"tags": [["a"]]})
    with pytest.raises(InputError, match="'tags'"):
        canonicalize(frame.lazy(), {"first_name": "tags"})


def test_every_config_problem_is_reported_at_once() -> None:
    fields: dict[str, Any] = {
        "nickname": "X",
        "first_name": {"col": "A"},
        "dob": {"column": "B", "format": 7, "max_age": 151},
        "full_name": {"column": "C", "order": "sideways"},
        "address_line": {"column": "D", "includes": ["country"]},
        "zip": {"column": "E", "pad": True},
        "sex": 3,
    }
    with pytest.raises(ConfigError) as raised:
        canonicalize(pl.LazyFrame(), fields)
    paths = {path for path, _ in raised.value.problems}
    assert paths == {
        "fields.nickname",
        "fields.first_name.column",
        "fields.dob.format",
        "fields.dob.max_age",
        "fields.full_name.order",
        "fields.address_line.includes",
        "fields.zip.pad",
        "fields.sex",
    }


@pytest.mark.parametrize("max_age", [0, 151, True, 130.0, "130"])
def test_dob_max_age_must_be_a_whole_number_of_years_from_1_to_150(max_age: object) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_fields({"dob": {"column": "born", "max_age": max_age}})
    assert [path for path, _ in raised.value.problems] == ["fields.dob.max_age"]


def test_dob_max_age_moves_the_oldest_plausible_birth_date() -> None:
    # Dates 121 to 124 years old are null under the default (120) and kept under 130;
    # 123 keeps one of them. (1901-01-01 and older stay placeholders whatever max_age.)
    today = dt.date.today()
    old = [dt.date(today.year - years, 7, 1) for years in (119, 122, 124)]
    frame = pl.DataFrame({"born": [d.isoformat() for d in old]})

    def dob(max_age: int | None) -> list[dt.date | None]:
        spec: dict[str, Any] = {"column": "born", "format": "%Y-%m-%d"}
        if max_age is not None:
            spec["max_age"] = max_age
        return canonicalize(frame.lazy(), {"dob": spec}).collect()["dob"].to_list()

    assert dob(None) == [old[0], None, None]
    assert dob(123) == [old[0], old[1], None]
    assert dob(130) == old


def test_national_id_keeps_the_digits_of_real_looking_numbers() -> None:
    frame = pl.DataFrame({"ssn": ["078-05-1121", " 078 05 1121 ", "123-45-6789", "", None]})
    out = canonicalize(frame.lazy(), {"national_id": "ssn"}).collect()["national_id"]
    assert out.to_list() == ["078051121", "078051121", None, None, None]


def test_a_parsed_engagement_model_is_accepted() -> None:
    class Spec:
        def model_dump(self) -> dict[str, Any]:
            return {"first_name": {"column": "f"}, "dob": None, "address_line": None}

    assert {f.name: f.column for f in parse_fields(Spec()).values()} == {"first_name": "f"}


def test_usable_mask_flags_rows_without_an_identifying_field() -> None:
    frame = pl.DataFrame(
        {
            "first": ["A", None, None, None, None],
            "street": [None, "MAIN ST", None, None, None],
            "phone": [None, None, "2025550143", None, None],
            "email": [None, None, None, "a@b.com", None],
            "sex": ["M", "F", "M", "F", "M"],
        }
    )
    fields = {"first_name": "first", "street": "street", "phone": "phone", "email": "email"}
    fields |= {"sex": "sex"}
    out = canonicalize(frame.lazy(), fields).select(usable_mask()).collect()
    assert out["usable"].to_list() == [True, True, True, True, False]


@PROPERTY_SETTINGS
@given(
    rows=st.lists(
        st.tuples(*[st.one_of(st.none(), st.text(max_size=25)) for _ in range(5)]),
        min_size=1,
        max_size=25,
    )
)
def test_never_raises_and_canonical_output_is_a_fixed_point(
    rows: list[tuple[str | None, ...]],
) -> None:
    names = ["name", "line", "dob", "phone", "email"]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")
    fields = {n: n for n in ("dob", "phone", "email")} | {
        "full_name": "name",
        "address_line": "line",
    }
    once = canonicalize(frame.lazy(), fields).collect().select(CANONICAL_FIELDS)
    again = canonicalize(once.lazy(), {f: f for f in CANONICAL_FIELDS}).collect()
    assert again.select(CANONICAL_FIELDS).equals(once)


@PROPERTY_SETTINGS
@given(
    rows=st.lists(
        st.tuples(*[st.one_of(st.none(), st.text(max_size=25)) for _ in range(16)]),
        min_size=1,
        max_size=20,
    )
)
def test_canonical_text_is_trimmed_and_never_blank(rows: list[tuple[str | None, ...]]) -> None:
    """What the tokenizer relies on when it takes canonical text as it is (cleaned=True)."""
    direct = [f for f in CANONICAL_FIELDS if f != "dob"]
    names = [*direct, "full", "line"]  # 16 columns
    frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")
    fields: dict[str, Any] = {f: f for f in direct}
    fields |= {"full_name": "full", "address_line": "line"}
    out = canonicalize(frame.lazy(), fields).collect()
    for name in direct:
        values = [v for v in out.get_column(name).to_list() if v is not None]
        assert all(v == v.strip() and v != "" for v in values), name
