"""US addresses: Pub 28 streets, units, house numbers, ZIP, city, state, one-line parsing."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given

from hashing.normalize import address
from hashing.normalize.address import (
    address_line_parts,
    normalize_city,
    normalize_house_number,
    normalize_state,
    normalize_street,
    normalize_unit,
    normalize_zip,
    parse_address_line,
    street_parts,
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
    "street": normalize_street,
    "unit": normalize_unit,
    "house_number": normalize_house_number,
    "zip": normalize_zip,
    "city": normalize_city,
    "state": normalize_state,
}


@pytest.mark.parametrize(
    ("raw", "street", "unit"),
    [
        ("N MAIN ST", "N MAIN ST", None),
        ("North Main Street", "N MAIN ST", None),
        ("n. main str.", "N MAIN ST", None),
        ("MAIN STREET NORTH", "MAIN ST N", None),
        ("Northeast Blvd", "NE BLVD", None),
        ("North East Boulevard", "NE BLVD", None),
        ("First Avenue", "1ST AVE", None),
        ("1st Ave", "1ST AVE", None),
        ("5 AVE", "5TH AVE", None),
        ("N 1 ST", "N 1ST ST", None),
        ("11 ST", "11TH ST", None),
        ("112 St", "112TH ST", None),
        ("Twenty-First Street", "21ST ST", None),
        ("2D ST", "2ND ST", None),
        ("P.O. Box 12", "PO BOX 12", None),
        ("PO BOX #12", "PO BOX 12", None),
        ("Post Office Box 12", "PO BOX 12", None),
        ("Box Elder Rd", "BOX ELDER RD", None),
        ("Saint James Place", "ST JAMES PL", None),
        ("Mount Vernon Avenue", "MT VERNON AVE", None),
        ("County Road 5", "CO RD 5", None),
        ("CR 5", "CO RD 5", None),
        ("HWY 5", "HWY 5", None),
        ("Avenue B", "AVE B", None),
        ("N Avenue B", "N AVE B", None),
        ("Main St Apt 4", "MAIN ST", "4"),
        ("MAIN ST #4B", "MAIN ST", "4B"),
        ("Main St Rear", "MAIN ST", "REAR"),
        ("Main St 4B", "MAIN ST", "4B"),
        ("Calle Ñandú", "CALLE NANDU", None),
        ("unknown", None, None),
        ("", None, None),
    ],
)
def test_street(raw: str, street: str | None, unit: str | None) -> None:
    assert run(street_parts, [raw]) == [{"street": street, "unit": unit}]
    assert run(normalize_street, [raw]) == [street]


def test_every_pub28_street_type_spelling_meets_its_standard() -> None:
    table = address.street_suffixes()
    spellings = sorted(table)
    streets = run(normalize_street, [f"OAK {s}" for s in spellings])
    assert streets == [f"OAK {table[s]}" for s in spellings]
    standards = sorted(set(table.values()))
    assert run(normalize_street, [f"OAK {s}" for s in standards]) == [f"OAK {s}" for s in standards]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("APT 4B", "4B"),
        ("#4B", "4B"),
        ("4B", "4B"),
        ("Unit 4-B", "4B"),
        ("Apt. #4b", "4B"),
        ("Suite 200", "200"),
        ("STE 200", "200"),
        ("apt 04", "4"),
        ("BLDG 5 APT 4B", "4B"),
        ("Basement", "BSMT"),
        ("REAR", "REAR"),
        ("PH", "PH"),
        ("Penthouse 2", "2"),
        ("APT", None),
        ("", None),
    ],
)
def test_unit(raw: str, expected: str | None) -> None:
    assert run(normalize_unit, [raw]) == [expected]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123", "123"),
        ("0123", "123"),
        ("123 1/2", "123 1/2"),
        ("123½", "123 1/2"),
        ("123A", "123A"),
        ("123-A", "123A"),
        ("123 a", "123A"),
        ("45-12", "45-12"),
        ("123.0", "123"),
        ("One", "1"),
        ("0", None),
        ("A", None),
        ("", None),
    ],
)
def test_house_number(raw: str, expected: str | None) -> None:
    assert run(normalize_house_number, [raw]) == [expected]


def test_house_number_and_zip_from_integers() -> None:
    assert run(normalize_house_number, [123, None, 0], dtype=pl.Int64) == ["123", None, None]
    assert run(normalize_zip, [2134, 62704, 501, None], dtype=pl.Int64) == [
        "02134",
        "62704",
        "00501",
        None,
    ]
    assert run(normalize_zip, [2134.0], dtype=pl.Float64) == ["02134"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("02134", "02134"),
        ("2134", "02134"),
        ("02134-1234", "02134"),
        ("2134-1234", "02134"),
        ("021341234", "02134"),
        ("21341234", "02134"),
        (" 02134 ", "02134"),
        ("12", None),
        ("123456", None),
        ("00000", None),
        ("ABCDE", None),
    ],
)
def test_zip(raw: str, expected: str | None) -> None:
    assert run(normalize_zip, [raw]) == [expected]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ma", "MA"),
        ("Massachusetts", "MA"),
        ("Mass.", "MA"),
        ("N.Y.", "NY"),
        ("new york", "NY"),
        ("Washington, D.C.", "DC"),
        ("Puerto Rico", "PR"),
        ("XX", None),
        ("Atlantis", None),
    ],
)
def test_state(raw: str, expected: str | None) -> None:
    assert run(normalize_state, [raw]) == [expected]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("St. Louis", "SAINT LOUIS"),
        ("Saint Louis", "SAINT LOUIS"),
        ("N Las Vegas", "NORTH LAS VEGAS"),
        ("Ft. Worth", "FORT WORTH"),
        ("Winston-Salem", "WINSTON SALEM"),
        ("Coeur d'Alene", "COEUR DALENE"),
        ("  boston ", "BOSTON"),
        ("N/A", None),
    ],
)
def test_city(raw: str, expected: str | None) -> None:
    assert run(normalize_city, [raw]) == [expected]


# --------------------------------------------------------------------------- one line


def test_the_three_operator_shapes_meet_the_voter_file() -> None:
    lines = ["123 North Main Street, Unit 4", "123 N MAIN ST APT 4", "123 N Main St #4"]
    parsed = parse_address_line(pl.Series(lines))
    assert isinstance(parsed, pl.DataFrame)
    assert parsed.rows() == [("123", "N MAIN ST", "4")] * 3
    voter = pl.DataFrame({"num": ["123"], "street": ["N MAIN ST"], "unit": ["APT 4"]}).select(
        normalize_house_number(pl.col("num")),
        normalize_street(pl.col("street")),
        normalize_unit(pl.col("unit")),
    )
    assert voter.row(0) == ("123", "N MAIN ST", "4")


@pytest.mark.parametrize(
    ("raw", "house", "street", "unit"),
    [
        ("123 N. Main St., Apt. 4B", "123", "N MAIN ST", "4B"),
        ("P.O. Box 12", None, "PO BOX 12", None),
        ("123 1/2 Main St", "123 1/2", "MAIN ST", None),
        ("123A Main St", "123A", "MAIN ST", None),
        ("123-A Main St", "123A", "MAIN ST", None),
        ("45-12 Bell Blvd", "45-12", "BELL BLVD", None),
        ("123 Main St 4B", "123", "MAIN ST", "4B"),
        ("123 HWY 5", "123", "HWY 5", None),
        ("12 E 1st St Apt 3", "12", "E 1ST ST", "3"),
        ("12 Main St Rear", "12", "MAIN ST", "REAR"),
        ("456 Oak Ridge Rd Ste 200", "456", "OAK RDG RD", "200"),
        ("12 Winston-Salem Rd", "12", "WINSTON SALEM RD", None),
        ("APT 4 123 MAIN ST", "123", "MAIN ST", "4"),
        ("One Main St", "1", "MAIN ST", None),
        ("", None, None, None),
    ],
)
def test_parse_address_line(
    raw: str, house: str | None, street: str | None, unit: str | None
) -> None:
    parsed = parse_address_line(pl.Series([raw]))
    assert isinstance(parsed, pl.DataFrame)
    assert parsed.row(0) == (house, street, unit)


def test_parse_address_line_with_place() -> None:
    lines = pl.Series(
        [
            "123 Main St Apt 4, Springfield, IL 62704-1234",
            "123 Main St, Springfield, Illinois 62704",
            "PO Box 5, Boston, MA 02134",
            "123 Main St Springfield IL 62704",
        ]
    )
    parsed = parse_address_line(lines, includes=["city", "state", "zip"])
    assert isinstance(parsed, pl.DataFrame)
    assert parsed.rows() == [
        ("123", "MAIN ST", "4", "SPRINGFIELD", "IL", "62704"),
        ("123", "MAIN ST", None, "SPRINGFIELD", "IL", "62704"),
        (None, "PO BOX 5", None, "BOSTON", "MA", "02134"),
        ("123", "MAIN ST", None, "SPRINGFIELD", "IL", "62704"),
    ]


def test_parse_address_line_as_an_expression() -> None:
    frame = pl.DataFrame({"line": ["123 N Main St #4", None]})
    out = frame.select(parse_address_line(pl.col("line")).alias("a")).unnest("a")  # type: ignore[union-attr]
    assert out.rows() == [("123", "N MAIN ST", "4"), (None, None, None)]


def test_unknown_includes_are_refused() -> None:
    with pytest.raises(ValueError, match="city, state and zip"):
        address_line_parts(pl.col("x"), includes=["country"])


def test_line_parser_calls_usaddress_on_distinct_leftovers_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    original = address._usaddress_parts

    def spy(line: str) -> dict[str, str | None]:
        seen.append(line)
        return original(line)

    monkeypatch.setattr(address, "_usaddress_parts", spy)
    lines = ["123 N MAIN ST APT 4"] * 5 + ["APT 4 123 MAIN ST"] * 5 + ["12 OAK AVE"]
    parse_address_line(pl.Series(lines))
    assert seen == ["APT 4 123 MAIN ST"]


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
def test_line_parts_are_fixed_points_of_the_field_normalizers(values: list[str]) -> None:
    parts = run(address_line_parts, values)
    for field, normalize in (
        ("house_number", normalize_house_number),
        ("street", normalize_street),
        ("unit", normalize_unit),
    ):
        column = [p[field] for p in parts]
        assert run(normalize, column) == column, field
