"""Names: cleaning, titles, suffixes, nicknames, compound surnames, whole-name splitting."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given

from hashing.normalize import names
from hashing.normalize.names import (
    clean_name,
    full_name_parts,
    initial,
    last_name_variants,
    nickname_map,
    normalize_first_name,
    normalize_last_name,
    normalize_middle_name,
    normalize_name_suffix,
    split_full_name,
)
from tests.hashing.normalize._support import (
    PROPERTY_SETTINGS,
    case_safe_text,
    check_blank_is_null,
    check_case_and_space_insensitive,
    check_idempotent,
    run,
    value_lists,
    whitespace,
)

NORMALIZERS = {
    "clean": clean_name,
    "first": normalize_first_name,
    "middle": normalize_middle_name,
    "last": normalize_last_name,
    "suffix": normalize_name_suffix,
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Robert", "ROBERT"),
        ("  mary ", "MARY"),
        ("Bob", "ROBERT"),
        ("BILL", "WILLIAM"),
        ("Liz", "ELIZABETH"),
        ("Jack", "JOHN"),
        ("Peggy", "MARGARET"),
        ("José", "JOSE"),
        ("Zoë", "ZOE"),
        ("Мария", "MARIYA"),
        ("Mr. John", "JOHN"),
        ("DR JANE", "JANE"),
        ("Mr and Mrs John", "JOHN"),
        ("Mary-Kate", "MARY KATE"),
        ("D'Andre", "DANDRE"),
        ("Dr.", None),
        ("UNKNOWN", None),
        ("FNU", None),
        ("N/A", None),
        ("123", None),
        ("", None),
        (None, None),
    ],
)
def test_first_name(raw: str | None, expected: str | None) -> None:
    assert run(normalize_first_name, [raw]) == [expected]


@pytest.mark.parametrize(
    ("raw", "last", "suffix", "variants"),
    [
        ("O'Brien", "OBRIEN", None, ["OBRIEN"]),
        ("O Brien", "OBRIEN", None, ["OBRIEN"]),
        ("  smith-jones ", "SMITHJONES", None, ["SMITHJONES", "SMITH", "JONES"]),
        ("Smith Jones", "SMITHJONES", None, ["SMITHJONES", "SMITH", "JONES"]),
        ("GARCIA LOPEZ", "GARCIALOPEZ", None, ["GARCIALOPEZ", "GARCIA", "LOPEZ"]),
        ("De La Cruz", "DELACRUZ", None, ["DELACRUZ", "CRUZ"]),
        ("van der Berg", "VANDERBERG", None, ["VANDERBERG", "BERG"]),
        ("McDonald", "MCDONALD", None, ["MCDONALD"]),
        ("Mc Donald", "MCDONALD", None, ["MCDONALD"]),
        ("St. John", "STJOHN", None, ["STJOHN"]),
        ("Saint John", "STJOHN", None, ["STJOHN"]),
        ("SMITH JR", "SMITH", "JR", ["SMITH"]),
        ("Smith III Esq.", "SMITH", "III", ["SMITH"]),
        ("Smith, M.D.", "SMITH", None, ["SMITH"]),
        ("Núñez", "NUNEZ", None, ["NUNEZ"]),
        ("X", "X", None, ["X"]),
        ("unknown", None, None, None),
        ("", None, None, None),
    ],
)
def test_last_name(raw: str, last: str | None, suffix: str | None, variants: list[str]) -> None:
    parts = run(names.last_name_parts, [raw])[0]
    assert parts == {"last_name": last, "name_suffix": suffix, "last_name_variants": variants}
    assert run(normalize_last_name, [raw]) == [last]
    assert run(last_name_variants, [raw]) == [variants]


def test_hyphenated_and_spaced_compound_surnames_meet() -> None:
    spellings = ["SMITH-JONES", "Smith Jones", "smith - jones", "SMITHJONES"]
    assert set(run(normalize_last_name, spellings)) == {"SMITHJONES"}


def test_either_half_of_a_compound_surname_is_a_variant() -> None:
    (variants,) = run(last_name_variants, ["Smith-Jones"])
    assert {"SMITH", "JONES"} <= set(variants)
    assert variants[0] == "SMITHJONES"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jr.", "JR"),
        ("junior", "JR"),
        ("SR", "SR"),
        ("2nd", "II"),
        ("II", "II"),
        ("3", "III"),
        ("third", "III"),
        ("IV", "IV"),
        ("5th", "V"),
        ("Esq.", None),
        ("MD", None),
        ("", None),
    ],
)
def test_name_suffix(raw: str, expected: str | None) -> None:
    assert run(normalize_name_suffix, [raw]) == [expected]


def test_middle_name_keeps_words_and_drops_periods() -> None:
    assert run(normalize_middle_name, ["a.", "Ann Marie", "NMN", ""]) == [
        "A",
        "ANN MARIE",
        None,
        None,
    ]


def test_initial_is_the_first_letter_of_the_canonical_name() -> None:
    values = run(lambda e: initial(normalize_first_name(e)), ["Bob", "mary", "", None])
    assert values == ["R", "M", None, None]


# --------------------------------------------------------------------------- nicknames


def test_nickname_map_is_idempotent_and_lands_on_fixed_points() -> None:
    mapping = nickname_map()
    assert mapping, "the nickname map is empty"
    for nickname, formal in mapping.items():
        assert formal not in mapping, (nickname, formal)
        assert formal != nickname


def test_common_given_names_stay_themselves() -> None:
    mapping = nickname_map()
    for name in ("MARY", "JOHN", "WILLIAM", "ROBERT", "ANNA", "LAURA", "MARIA", "ERIN", "NOAH"):
        assert name not in mapping, name


def test_nickname_map_is_built_once_and_deterministic() -> None:
    assert nickname_map() is nickname_map()
    names.nickname_map.cache_clear()
    rebuilt = nickname_map()
    assert rebuilt == dict(rebuilt)
    assert rebuilt["BILL"] == "WILLIAM"


def test_nickname_and_formal_spellings_meet() -> None:
    pairs = [("Bob", "Robert"), ("Bill", "William"), ("Liz", "Elizabeth"), ("Jim", "James")]
    for nick, formal in pairs:
        assert run(normalize_first_name, [nick]) == run(normalize_first_name, [formal])


# --------------------------------------------------------------------------- whole names


@pytest.mark.parametrize(
    ("raw", "first", "middle", "last", "suffix"),
    [
        ("SMITH, JOHN A", "JOHN", "A", "SMITH", None),
        ("John A. Smith", "JOHN", "A", "SMITH", None),
        ("JOHN SMITH JR", "JOHN", None, "SMITH", "JR"),
        ("Mary Smith-Jones", "MARY", None, "SMITHJONES", None),
        ("Dr. Jane van der Berg", "JANE", None, "VANDERBERG", None),
        ("Smith, John, Jr.", "JOHN", None, "SMITH", "JR"),
        ("John Smith, Jr", "JOHN", None, "SMITH", "JR"),
        ("SMITH JR, JOHN", "JOHN", None, "SMITH", "JR"),
        ("Bob O'Brien", "ROBERT", None, "OBRIEN", None),
        ("Juan Carlos de la Cruz", "JUAN", "CARLOS", "DELACRUZ", None),
        ("Mr. & Mrs. John Smith III", "JOHN", None, "SMITH", "III"),
        ("John Andrew Smith", "JOHN", "ANDREW", "SMITH", None),
        ("JOHN DE", "JOHN", None, "DE", None),
        ("Madonna", None, None, "MADONNA", None),
        ("", None, None, None, None),
    ],
)
def test_split_full_name_auto(
    raw: str, first: str | None, middle: str | None, last: str | None, suffix: str | None
) -> None:
    frame = split_full_name(pl.Series([raw]))
    assert isinstance(frame, pl.DataFrame)
    assert frame.row(0) == (first, middle, last, suffix)


def test_split_full_name_last_first_and_first_last() -> None:
    values = pl.Series(["SMITH JOHN A", "VAN DER BERG JANE", "SMITH, JOHN"])
    frame = split_full_name(values, order="last_first")
    assert isinstance(frame, pl.DataFrame)
    assert frame.rows() == [
        ("JOHN", "A", "SMITH", None),
        ("JANE", None, "VANDERBERG", None),
        ("JOHN", None, "SMITH", None),
    ]
    frame = split_full_name(pl.Series(["SMITH, JOHN"]), order="first_last")
    assert isinstance(frame, pl.DataFrame)
    assert frame.row(0) == ("SMITH", None, "JOHN", None)


def test_split_full_name_as_an_expression() -> None:
    frame = pl.DataFrame({"name": ["Mary Smith-Jones", None]})
    out = frame.select(split_full_name(pl.col("name")).alias("p")).unnest("p")  # type: ignore[union-attr]
    assert out.columns == ["first_name", "middle_name", "last_name", "name_suffix"]
    assert out.row(0) == ("MARY", None, "SMITHJONES", None)
    assert out.row(1) == (None, None, None, None)


def test_whole_name_parts_are_canonical_and_carry_variants() -> None:
    (parts,) = run(full_name_parts, ["GARCIA LOPEZ, MARIA"])
    assert parts["last_name_variants"] == ["GARCIALOPEZ", "GARCIA", "LOPEZ"]
    shapes = ["SMITH, BOB A", "Bob A. Smith", "BOB SMITH", "Robert A Smith"]
    firsts = {p["first_name"] for p in run(full_name_parts, shapes)}
    assert firsts == {"ROBERT"}


def test_bad_order_is_refused() -> None:
    with pytest.raises(ValueError, match="order"):
        full_name_parts(pl.col("x"), order="sideways")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_blank_is_null(name: str) -> None:
    check_blank_is_null(NORMALIZERS[name])


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
@PROPERTY_SETTINGS
@given(values=value_lists())
def test_idempotent_and_total(name: str, values: list[str]) -> None:
    check_idempotent(NORMALIZERS[name], values)


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
@PROPERTY_SETTINGS
@given(values=value_lists(case_safe_text), left=whitespace, right=whitespace)
def test_case_and_whitespace_insensitive(
    name: str, values: list[str], left: str, right: str
) -> None:
    check_case_and_space_insensitive(NORMALIZERS[name], values, left, right)


@PROPERTY_SETTINGS
@given(values=value_lists())
def test_whole_name_parts_are_fixed_points_of_the_field_normalizers(values: list[str]) -> None:
    parts = run(full_name_parts, values)
    firsts = [p["first_name"] for p in parts]
    lasts = [p["last_name"] for p in parts]
    assert run(normalize_first_name, firsts) == firsts
    assert run(normalize_last_name, lasts) == lasts
    for p in parts:
        if p["last_name"] is None:
            assert p["last_name_variants"] is None
        else:
            assert p["last_name_variants"][0] == p["last_name"]
