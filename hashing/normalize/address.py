"""US addresses → canonical components, after USPS Publication 28, vectorized over polars.

Canonical forms (reasons in ``docs/normalization.md``):

* ``house_number``: digits plus an optional letter or fraction ("123", "123A", "123 1/2"),
  leading zeros dropped;
* ``street``: every word in its Pub 28 standard abbreviation wherever it stands (STREET →
  ST, NORTH → N, NORTHEAST → NE), spelled ordinals as numbers (FIRST → 1ST), a bare
  number before a street type made ordinal ("5 AVE" → "5TH AVE"), post office boxes as
  "PO BOX 12"; a unit written into the street is split off;
* ``unit``: the unit identifier only ("APT 4B", "#4B", "Unit 4-B" → "4B"), because the
  two sides disagree on designators; a unit without identifier keeps its Pub 28
  designator (REAR, BSMT, UPPR...);
* ``city``: cleaned words, common abbreviations spelled out (ST → SAINT, FT → FORT);
* ``state``: the two-letter USPS code (names and old abbreviations accepted);
* ``zip``: the five-digit ZIP (ZIP+4 cut, leading zeros restored).

``parse_address_line`` splits one-line addresses. Its common shapes are parsed with
regular expressions; only the distinct lines that they cannot read (no leading house
number, a place they cannot find) go to ``usaddress``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import polars as pl
import usaddress

from hashing.normalize._common import (
    by_distinct,
    data_rows,
    is_placeholder,
    null_if,
    null_placeholders,
    on_distinct,
    on_rows,
    transliterate,
    words_pattern,
)

ADDRESS_PARTS = ("house_number", "street", "unit", "city", "state", "zip")
LINE_PARTS = ("house_number", "street", "unit")
PLACE_PARTS = ("city", "state", "zip")

#: Directionals (Pub 28 appendix B): spelled and abbreviated forms → abbreviation.
DIRECTIONALS: dict[str, str] = {
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
    "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
    "N": "N", "S": "S", "E": "E", "W": "W", "NE": "NE", "NW": "NW", "SE": "SE", "SW": "SW",
}  # fmt: skip

_ORDINAL_WORDS: dict[str, str] = {
    "FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH",
    "SIXTH": "6TH", "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH",
    "ELEVENTH": "11TH", "TWELFTH": "12TH", "THIRTEENTH": "13TH", "FOURTEENTH": "14TH",
    "FIFTEENTH": "15TH", "SIXTEENTH": "16TH", "SEVENTEENTH": "17TH", "EIGHTEENTH": "18TH",
    "NINETEENTH": "19TH", "TWENTIETH": "20TH", "THIRTIETH": "30TH", "FORTIETH": "40TH",
    "FIFTIETH": "50TH", "SIXTIETH": "60TH", "SEVENTIETH": "70TH", "EIGHTIETH": "80TH",
    "NINETIETH": "90TH", "HUNDREDTH": "100TH",
}  # fmt: skip
_TENS = {
    "TWENTY": "2", "THIRTY": "3", "FORTY": "4", "FIFTY": "5",
    "SIXTY": "6", "SEVENTY": "7", "EIGHTY": "8", "NINETY": "9",
}  # fmt: skip

# Words inside street names that both sides abbreviate differently.
_STREET_WORDS: dict[str, str] = {"SAINT": "ST", "RT": "RTE", "INTERSTATE": "I", "IH": "I"}

# Street types that are usually followed by a route number ("HWY 5"), never by a unit.
_ROUTE_TYPES = ("HWY", "RTE", "FWY", "EXPY", "TPKE", "PIKE", "BYP", "SPUR", "LOOP", "PKWY")
_ROUTE_ROADS = ("CO", "COUNTY", "CNTY", "FARM", "RANCH", "STATE", "PRIVATE", "FOREST", "TWP")

_CITY_WORDS: dict[str, str] = {
    "ST": "SAINT", "STE": "SAINTE", "FT": "FORT", "MT": "MOUNT", "PT": "POINT",
    "HTS": "HEIGHTS", "SPGS": "SPRINGS", "SPRGS": "SPRINGS", "BCH": "BEACH",
    "VLG": "VILLAGE", "TWP": "TOWNSHIP", "JCT": "JUNCTION", "CTR": "CENTER", "LK": "LAKE",
    "FLS": "FALLS", "CY": "CITY",
}  # fmt: skip
_CITY_FIRST_WORDS: dict[str, str] = {"N": "NORTH", "S": "SOUTH", "E": "EAST", "W": "WEST"}

_HOUSE_WORDS: dict[str, str] = {
    "ONE": "1", "TWO": "2", "THREE": "3", "FOUR": "4", "FIVE": "5", "SIX": "6",
    "SEVEN": "7", "EIGHT": "8", "NINE": "9", "TEN": "10",
}  # fmt: skip

_PO_BOX = r"(?:P ?O ?BOX|P ?O ?B|POST OFFICE BOX|POST BOX|POBOX|POB|PO|BOX)"
_BOX_RE = rf"^{_PO_BOX} ?#? ?(\d\S*|[A-Z]+\d\S*)$"
_HOUSE = r"\d+(?:-?[A-Z]|-\d+)?(?: \d/\d)?"


# --------------------------------------------------------------------------- tables


@cache
def street_suffixes() -> dict[str, str]:
    """Pub 28 C1: every street type spelling → its standard abbreviation (AVENUE → AVE)."""
    table: dict[str, str] = {}
    for row in data_rows("street_suffixes.csv"):
        for spelling in row["spellings"].split():
            table[spelling] = row["standard"]
        table[row["standard"]] = row["standard"]
    return table


@cache
def _unit_table() -> list[dict[str, Any]]:
    rows = []
    for row in data_rows("unit_designators.csv"):
        rows.append(
            {
                "standard": row["standard"],
                "takes_id": row["takes_id"] == "yes",
                "alone": row["alone"] == "yes",
                "in_line": row["in_line"] == "yes",
                "spellings": row["spellings"].split(),
            }
        )
    return rows


def unit_designators() -> dict[str, str]:
    """Pub 28 C2: every unit designator spelling → its standard (APARTMENT → APT)."""
    return {s: r["standard"] for r in _unit_table() for s in r["spellings"]}


@cache
def state_codes() -> dict[str, str]:
    """State, territory and military codes, names and old abbreviations → USPS code."""
    table: dict[str, str] = {}
    for row in data_rows("states.csv"):
        code = row["code"]
        table[code] = code
        table[row["name"]] = code
        for other in filter(None, row["other_spellings"].split(";")):
            table[other.strip()] = code
    return table


@cache
def _street_tokens() -> dict[str, str]:
    table = {**street_suffixes(), **DIRECTIONALS, **_ORDINAL_WORDS, **_STREET_WORDS}
    return {k: v for k, v in table.items() if k != v}


@cache
def _line_id_words() -> tuple[str, ...]:
    return tuple(s for r in _unit_table() if r["takes_id"] and r["in_line"] for s in r["spellings"])


@cache
def _patterns() -> dict[str, str]:
    suffixes = street_suffixes()
    units = _unit_table()
    route = {s for s, std in suffixes.items() if std in _ROUTE_TYPES} | {"RT", "ROUTE"}
    return {
        "suffix": words_pattern(suffixes),
        "suffix_std": words_pattern(set(suffixes.values())),
        "suffix_unit": words_pattern(set(suffixes) - route),
        "dir": words_pattern(DIRECTIONALS),
        "dir_std": words_pattern(set(DIRECTIONALS.values())),
        "line_id": words_pattern(
            s for r in units if r["takes_id"] and r["in_line"] for s in r["spellings"]
        ),
        "line_bare": words_pattern(
            s for r in units if not r["takes_id"] and r["in_line"] for s in r["spellings"]
        ),
        "unit_id": words_pattern(s for r in units if r["takes_id"] for s in r["spellings"]),
        "route_roads": words_pattern(_ROUTE_ROADS),
        "state": words_pattern(state_codes()),
    }


# --------------------------------------------------------------------------- cleaning

# Each step below adds or replaces columns of a frame of distinct values; intermediate
# results are materialized because polars evaluates a sub-expression once per reference.


def _clean(e: pl.Expr, keep: str = "") -> pl.Expr:
    """Uppercase, drop periods and apostrophes, ``#`` its own word, other punctuation and
    runs of spaces → one space. Slashes are kept (see ``_cleaned``)."""
    e = e.str.to_uppercase().str.replace_many(["'", "`", ".", "#"], ["", "", "", " # "])
    # Spaces are left out of the class: a regex replacement costs per match.
    e = e.str.replace_all(f"[^A-Z0-9#/ {keep}]+", " ").str.replace_all("  +", " ")
    return e.str.strip_chars()


def _fractions_only(e: pl.Expr) -> pl.Expr:
    """A slash survives only inside a fraction ("1/2"); elsewhere it is a space."""
    e = e.str.replace_all(r"(\d) ?/ ?(\d)", "${1}/${2}")
    e = e.str.replace_all(r"(^|[^0-9])/", "${1} ").str.replace_all(r"/([^0-9]|$)", " ${1}")
    return e.str.replace_all(" +", " ").str.strip_chars()


def _cleaned(s: pl.Series, keep: str = "") -> pl.DataFrame:
    """Frame with column ``v``: the transliterated, cleaned values."""
    frame = transliterate(s).to_frame("v").with_columns(_clean(pl.col("v"), keep))
    slashed = frame.get_column("v").str.contains("/", literal=True)
    return on_rows(frame, slashed, lambda f: f.select(_fractions_only(pl.col("v"))))


def _tokens_replaced(e: pl.Expr, table: dict[str, str]) -> pl.Expr:
    return e.str.split(" ").list.eval(pl.element().replace(table)).list.join(" ")


# --------------------------------------------------------------------------- street


def _ordinal_suffix(number: pl.Expr) -> pl.Expr:
    """ST, ND, RD or TH for a column of digit strings."""
    last_two = number.str.slice(-2).cast(pl.Int32, strict=False) % 100
    last = last_two % 10
    return (
        pl.when(last_two.is_between(11, 13))
        .then(pl.lit("TH"))
        .when(last == 1)
        .then(pl.lit("ST"))
        .when(last == 2)
        .then(pl.lit("ND"))
        .when(last == 3)
        .then(pl.lit("RD"))
        .otherwise(pl.lit("TH"))
    )


def _street_frame(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Canonical street, in place, of a cleaned column that holds no unit."""
    p = _patterns()
    c = pl.col(column)
    frame = frame.with_columns(
        c.str.extract(_BOX_RE, 1).alias("_box"),
        c.str.replace_all("#", "")
        .str.replace_all(" +", " ")
        .str.strip_chars()
        .str.replace_all(r"\b(NORTH|SOUTH) ?(EAST|WEST)\b", "${1}${2}")
        .str.replace_all(r"\b(\d*[02-9]|)2D\b", "${1}2ND")
        .str.replace_all(r"\b(\d*[02-9]|)3D\b", "${1}3RD"),
    )
    frame = frame.with_columns(_tokens_replaced(c, _street_tokens()))
    e = c
    for word, digit in _TENS.items():
        e = e.str.replace_all(rf"\b{word} (\d(?:ST|ND|RD|TH))\b", f"{digit}${{1}}")
    e = e.str.replace_all(r"\b([NS]) ([EW])$", "${1}${2}")
    e = e.str.replace_all(r"\b(?:COUNTY|CNTY) (RD|HWY|RTE)\b", "CO ${1}")
    e = e.str.replace(r"^CR (\d)", "CO RD ${1}").str.replace(r"^SR (\d)", "STATE RTE ${1}")
    e = e.str.replace_all(r"\bRURAL RTE\b", "RR").str.replace_all(r"\bFARM TO MARKET RD\b", "FM")
    e = e.str.replace_all(r"\bU S (HWY|RTE)\b", "US ${1}")
    frame = frame.with_columns(e)
    bare = c.str.extract_groups(rf"^((?:{p['dir_std']}) )?(\d+) ((?:{p['suffix_std']})(?: .*)?)$")
    frame = frame.with_columns(bare.struct.rename_fields(["_pre", "_num", "_rest"]).alias("_b"))
    frame = frame.unnest("_b")
    number = pl.col("_num")
    with_ordinal = pl.concat_str(
        pl.col("_pre").fill_null(""), number, _ordinal_suffix(number), pl.lit(" "), pl.col("_rest")
    )
    box = pl.col("_box")
    street = (
        pl.when(box.is_not_null())
        .then(pl.lit("PO BOX ") + box)
        .when(number.is_not_null())
        .then(with_ordinal)
        .otherwise(c)
    )
    frame = frame.with_columns(street.alias(column)).drop("_box", "_pre", "_num", "_rest")
    return frame.with_columns(null_placeholders(c))


def _split_unit_frame(frame: pl.DataFrame, column: str, street: str, unit: str) -> pl.DataFrame:
    """Columns ``street`` and ``unit`` from a cleaned column that may end with a unit.

    Three shapes, tried in order: a designator with an identifier ("MAIN ST APT 4",
    "MAIN ST # 4"); a designator that needs none at the end ("MAIN ST REAR"); a bare
    identifier right after a street type ("MAIN ST 4B"; never after a route type, so
    "HWY 5" and "COUNTY RD 5" stay whole).
    """
    p = _patterns()
    c = pl.col(column)
    frame = frame.with_columns(c.alias(street), pl.lit(None, dtype=pl.String).alias(unit))
    markers = [f" {w} " for w in _line_id_words()] + [" #"]
    tests = frame.select(
        c.str.contains_any(markers).alias("designated"),
        c.str.contains(rf" (?:{p['line_bare']})$").alias("bare"),
        c.str.contains(r" (?:\d\S*|[A-DF-MO-RT-VX-Z])$").alias("trailing"),
    )

    def groups(sub: pl.DataFrame, pattern: str) -> pl.DataFrame:
        found = c.str.extract_groups(pattern).struct.rename_fields(["_s", "_u"]).alias("_g")
        return sub.select(c, found).unnest("_g")

    def designated(sub: pl.DataFrame) -> pl.DataFrame:
        g = groups(sub, rf"^(.+?) ((?:{p['line_id']})\b.*|# ?.*)$")
        return g.select(pl.col("_s").alias(street), pl.col("_u").alias(unit))

    def bare(sub: pl.DataFrame) -> pl.DataFrame:
        g = groups(sub, rf"^(.+ (?:{p['suffix']}|{p['dir']})) ((?:{p['line_bare']}))$")
        return g.select(pl.coalesce("_s", column).alias(street), pl.col("_u").alias(unit))

    def trailing(sub: pl.DataFrame) -> pl.DataFrame:
        g = groups(
            sub, rf"^(.* (?:{p['suffix_unit']})(?: (?:{p['dir']}))?) (\d\S*|[A-DF-MO-RT-VX-Z])$"
        )
        s = pl.col("_s")
        only_type = s.str.contains(
            rf"^(?:(?:{p['dir']}) )?(?:{p['suffix']})(?: (?:{p['dir']}))?$"
        ) | s.str.contains(rf"\b(?:{p['route_roads']}) (?:RD|ROAD)$")
        ok = s.is_not_null() & ~only_type
        return g.select(
            pl.when(ok).then(s).otherwise(c).alias(street),
            pl.when(ok).then(pl.col("_u")).alias(unit),
        )

    first = tests.get_column("designated")
    second = tests.get_column("bare") & ~first
    third = tests.get_column("trailing") & ~first & ~second
    frame = on_rows(frame, first, designated)
    frame = on_rows(frame, second, bare)
    return on_rows(frame, third, trailing)


def _street_values(s: pl.Series) -> pl.Series:
    """Canonical street of text that holds no unit."""
    return _street_frame(_cleaned(s), "v").get_column("v")


def _street_unit_values(s: pl.Series) -> pl.Series:
    frame = _cleaned(s)
    # A whole-value PO box is never a street plus a unit ("PO BOX 12" stays whole).
    frame = frame.with_columns(pl.col("v").str.contains(_BOX_RE).alias("_is_box"))
    frame = _split_unit_frame(frame, "v", "street", "unit")
    box = pl.col("_is_box")
    frame = frame.with_columns(
        pl.when(box).then(pl.col("v")).otherwise(pl.col("street")).alias("street"),
        pl.when(box).then(None).otherwise(pl.col("unit")).alias("unit"),
    )
    frame = _unit_frame(_street_frame(frame, "street"), "unit")
    return frame.select("street", "unit").to_struct("value")


# --------------------------------------------------------------------------- unit


def _unit_frame(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Canonical unit, in place, of a cleaned column: the identifier, or a bare designator."""
    p = _patterns()
    table = _unit_table()
    c = pl.col(column)
    alone = {s: r["standard"] for r in table if r["alone"] for s in r["spellings"]}
    marked = c.str.replace_all(rf"\b(?:{p['unit_id']})\b", "#")
    for row in table:
        if not row["takes_id"]:
            words = words_pattern(row["spellings"])
            marked = marked.str.replace_all(rf"\b(?:{words})\b", row["standard"])
    frame = frame.with_columns(
        c.replace_strict(alone, default=None, return_dtype=pl.String).alias("_whole"),
        marked.alias("_marked"),
    )
    m = pl.col("_marked")
    after_mark = pl.coalesce(
        m.str.extract(r"#\s*([^#\s][^#]*?)[\s#]*$", 1),
        m.str.extract(r"([^#\s][^#]*?)\s*#[\s#]*$", 1),
    )
    ident = pl.when(m.str.contains("#", literal=True)).then(after_mark).otherwise(m)
    ident = ident.str.replace_all(r"[^A-Z0-9]", "").str.replace(r"^0+(\d)", "${1}")
    frame = frame.with_columns(pl.coalesce(pl.col("_whole"), ident).alias(column))
    return frame.with_columns(null_placeholders(c)).drop("_whole", "_marked")


def _unit_values(s: pl.Series) -> pl.Series:
    return _unit_frame(_cleaned(s), "v").get_column("v")


# --------------------------------------------------------------------------- house number


def _house_frame(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    c = pl.col(column)
    e = c.str.to_uppercase().str.replace(r"^(\d+)\.0*$", "${1}")
    e = e.str.replace_all(r"[^A-Z0-9/ -]", " ").str.replace_all(" +", " ").str.strip_chars(" -")
    frame = frame.with_columns(e.replace(_HOUSE_WORDS))
    e = c.str.replace(r"^0+(\d)", "${1}")
    e = e.str.replace(r"^(\d+) ?-? ?([A-Z])$", "${1}${2}")
    e = e.str.replace(r"^(\d+)[ -]+(\d+/\d+)$", "${1} ${2}")
    e = e.str.replace(r"^(\d+) ?- ?(\d+)$", "${1}-${2}")
    frame = frame.with_columns(e)
    return frame.with_columns(null_if(c, ~c.str.contains(r"\d") | c.str.contains(r"^0+$")))


def _house_values(s: pl.Series) -> pl.Series:
    return _house_frame(transliterate(s).to_frame("v"), "v").get_column("v")


# --------------------------------------------------------------------------- place


def _city_frame(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    c = pl.col(column)
    frame = frame.with_columns(
        c.str.replace_all("#", "").str.replace_all(" +", " ").str.strip_chars()
    )
    frame = frame.with_columns(null_if(c, is_placeholder(c)))
    e = c
    for letter, word in _CITY_FIRST_WORDS.items():
        e = e.str.replace(f"^{letter} ", f"{word} ")
    frame = frame.with_columns(_tokens_replaced(e, _CITY_WORDS))
    return frame.with_columns(null_if(c, is_placeholder(c) | ~c.str.contains("[A-Z]")))


def _city_values(s: pl.Series) -> pl.Series:
    return _city_frame(_cleaned(s), "v").get_column("v")


def _state_expr(e: pl.Expr) -> pl.Expr:
    e = e.str.replace_all("#", "").str.replace_all(r"\b([A-Z]) ([A-Z])\b", "${1}${2}")
    e = e.str.replace_all(" +", " ").str.strip_chars()
    return e.replace_strict(state_codes(), default=None, return_dtype=pl.String)


def _state_values(s: pl.Series) -> pl.Series:
    return _cleaned(s).select(_state_expr(pl.col("v"))).to_series()


def _zip_frame(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    c = pl.col(column)
    frame = frame.with_columns(
        c.str.strip_chars().str.replace(r"^(\d+)\.0*$", "${1}").str.replace_all(r"[^0-9-]", "")
    )
    frame = frame.with_columns(
        c.str.extract(r"^(\d{3,5})-\d{0,4}$", 1).alias("_dashed"),
        c.str.extract(r"^(\d+)$", 1).alias("_plain"),
    )
    plain = pl.col("_plain")
    five = (
        pl.when(pl.col("_dashed").is_not_null())
        .then(pl.col("_dashed").str.zfill(5))
        .when(plain.str.len_bytes().is_between(3, 5))
        .then(plain.str.zfill(5))
        .when(plain.str.len_bytes().is_between(8, 9))
        .then(plain.str.zfill(9).str.slice(0, 5))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    frame = frame.with_columns(five.alias(column)).drop("_dashed", "_plain")
    return frame.with_columns(null_if(c, c.is_in(["00000", "99999"])))


def _zip_values(s: pl.Series) -> pl.Series:
    return _zip_frame(transliterate(s).to_frame("v"), "v").get_column("v")


# --------------------------------------------------------------------------- one-line


def _line_frame(frame: pl.DataFrame, includes: Sequence[str]) -> pl.DataFrame:
    """Raw parts of cleaned lines (column ``text``, commas kept) and whether they parsed."""
    p = _patterns()
    t = pl.col("_t")
    none = pl.lit(None, dtype=pl.String)
    frame = frame.with_columns(
        pl.col("text").alias("_t"),
        none.alias("city"),
        none.alias("state"),
        none.alias("zip"),
        pl.lit(True).alias("ok"),
    )
    if "zip" in includes:
        frame = frame.with_columns(
            t.str.extract(r"[ ,](\d{5}(?:[- ]?\d{4})?)$", 1).alias("zip"),
            t.str.replace(r"[ ,]+\d{5}(?:[- ]?\d{4})?$", ""),
        )
    if "state" in includes:
        frame = frame.with_columns(
            t.str.extract(rf"[ ,]((?:{p['state']}))$", 1).alias("state"),
            t.str.replace(rf"[ ,]+(?:{p['state']})$", ""),
        )
    if "city" in includes:
        frame = frame.with_columns(
            t.str.extract(r",\s*([^,]+)$", 1).alias("city"), t.str.replace(r",\s*[^,]+$", "")
        )
        frame = frame.with_columns(pl.col("city").is_not_null().alias("ok"))
    frame = frame.with_columns(t.str.replace_all(",", " ", literal=True))
    # House number: the first word when it looks like one, plus a fraction after it.
    space = t.str.find(" ", literal=True)
    frame = frame.with_columns(
        t.str.contains(_BOX_RE).alias("_is_box"),
        t.str.slice(0, space).alias("house_number"),
        t.str.slice(space + 1).alias("_rest"),
    )
    house = pl.col("house_number")
    frame = frame.with_columns(
        pl.when(house.str.contains(r"^\d+(?:-?[A-Z]|-\d+)?$")).then(house).alias("house_number")
    )
    fraction = (
        frame.get_column("_rest").str.contains(r"^\d/\d ")
        & frame.get_column("house_number").is_not_null()
    )
    frame = on_rows(
        frame,
        fraction,
        lambda sub: sub.select(
            (house + " " + pl.col("_rest").str.slice(0, 3)).alias("house_number"),
            pl.col("_rest").str.slice(4).alias("_rest"),
        ),
    )
    frame = frame.with_columns(pl.when(house.is_not_null()).then(pl.col("_rest")).alias("_rest"))
    frame = _split_unit_frame(frame, "_rest", "street", "unit")
    box = pl.col("_is_box")
    frame = frame.with_columns(
        pl.when(box).then(None).otherwise(house).alias("house_number"),
        pl.when(box).then(t).otherwise(pl.col("street")).alias("street"),
        pl.when(box).then(None).otherwise(pl.col("unit")).alias("unit"),
        (pl.col("ok") & (box | house.is_not_null())).alias("ok"),
    )
    return frame.drop("_t", "_is_box", "_rest")


_USADDRESS_STREET = (
    "StreetNamePreModifier",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostDirectional",
)


def _usaddress_parts(line: str) -> dict[str, str | None]:
    """Components of one line by ``usaddress``; the whole line as street if it fails."""
    try:
        labelled = usaddress.parse(line)
    except Exception:  # the parser's own failures: fall back to the whole line
        return {"street": line}
    found: dict[str, list[str]] = {}
    for token, label in labelled:
        found.setdefault(label, []).append(token.strip(",").strip())

    def joined(*labels: str) -> str | None:
        words = [w for label in labels for w in found.get(label, []) if w]
        return " ".join(words) or None

    street = joined(*_USADDRESS_STREET)
    box = joined("USPSBoxType", "USPSBoxID")
    unit = joined("OccupancyType", "OccupancyIdentifier") or joined(
        "SubaddressType", "SubaddressIdentifier"
    )
    return {
        "house_number": joined("AddressNumberPrefix", "AddressNumber", "AddressNumberSuffix"),
        "street": street or box,
        "unit": unit,
        "city": joined("PlaceName"),
        "state": joined("StateName"),
        "zip": joined("ZipCode"),
    }


def _line_values(s: pl.Series, includes: tuple[str, ...]) -> pl.Series:
    frame = _cleaned(s, keep=",-").rename({"v": "text"})
    t = pl.col("text")
    # Commas tight; a hyphen with a space beside it separates words ("ST - APT 4").
    spaced = [" , ", " ,", ", ", " - ", " -", "- "]
    frame = frame.with_columns(
        t.str.replace_many(spaced, [",", ",", ",", " ", " ", " "]).str.strip_chars(", -")
    )
    frame = _line_frame(frame, includes).with_row_index("_row")
    hard = (~pl.col("ok") & (t.str.len_bytes() > 0)).fill_null(False)
    leftovers = frame.filter(hard)
    if leftovers.height:
        parsed = pl.DataFrame(
            [_usaddress_parts(v.replace(",", ", ")) for v in leftovers["text"].to_list()],
            schema=dict.fromkeys(ADDRESS_PARTS, pl.String),
        ).with_columns(leftovers["_row"])
        if not includes:
            parsed = parsed.with_columns(
                pl.lit(None, dtype=pl.String).alias(p) for p in PLACE_PARTS
            )
        kept = frame.filter(~hard).select("_row", *ADDRESS_PARTS)
        frame = pl.concat([kept, parsed.select("_row", *ADDRESS_PARTS)]).sort("_row")
    # The parts repeat far more than whole lines do: normalize each once per value.
    out = {
        "house_number": by_distinct(frame.get_column("house_number"), _house_values),
        "street": by_distinct(frame.get_column("street"), _street_values),
        "unit": by_distinct(frame.get_column("unit"), _unit_values),
    }
    place = {"city": _city_values, "state": _state_values, "zip": _zip_values}
    for part in includes:
        out[part] = by_distinct(frame.get_column(part), place[part])
    return pl.DataFrame(out).to_struct("value")


# --------------------------------------------------------------------------- public API

STREET_UNIT_DTYPE = pl.Struct({"street": pl.String, "unit": pl.String})


def normalize_street(expr: pl.Expr) -> pl.Expr:
    """Street name → Pub 28 canonical form ("North Main Street" → "N MAIN ST").

    A unit written into the street ("MAIN ST APT 4") is dropped here; ``street_parts``
    returns it.
    """
    return street_parts(expr).struct.field("street")


def street_parts(expr: pl.Expr) -> pl.Expr:
    """Struct {street, unit}: the canonical street and a unit found at its end, if any."""
    return on_distinct(expr, _street_unit_values, STREET_UNIT_DTYPE)


def normalize_unit(expr: pl.Expr) -> pl.Expr:
    """Unit → its identifier ("APT 4B", "#4B", "Unit 4-B" → "4B"; "Basement" → "BSMT")."""
    return on_distinct(expr, _unit_values, pl.String)


def normalize_house_number(expr: pl.Expr) -> pl.Expr:
    """House number → "123", "123A", "123 1/2" (any dtype; "0123", 123.0 → "123")."""
    return on_distinct(expr, _house_values, pl.String)


def normalize_zip(expr: pl.Expr) -> pl.Expr:
    """ZIP → five digits ("02134-1234", 2134, "021341234" → "02134"); else null."""
    return on_distinct(expr, _zip_values, pl.String)


def normalize_city(expr: pl.Expr) -> pl.Expr:
    """City → cleaned uppercase words ("St. Louis" → "SAINT LOUIS")."""
    return on_distinct(expr, _city_values, pl.String)


def normalize_state(expr: pl.Expr) -> pl.Expr:
    """State → USPS two-letter code ("Massachusetts", "Mass.", "ma" → "MA"); else null."""
    return on_distinct(expr, _state_values, pl.String)


def address_line_parts(expr: pl.Expr, includes: Iterable[str] = ()) -> pl.Expr:
    """One-line address → struct of canonical house_number, street, unit (+ ``includes``).

    ``includes`` names the place parts the line also carries at its end, among city,
    state and zip ("123 Main St, Springfield, IL 62704"): the city must follow a comma.
    """
    wanted = tuple(p for p in PLACE_PARTS if p in set(includes))
    unknown = set(includes) - set(PLACE_PARTS)
    if unknown:
        raise ValueError(f"includes may name city, state and zip only, not {sorted(unknown)}")
    dtype = pl.Struct(dict.fromkeys((*LINE_PARTS, *wanted), pl.String))
    return on_distinct(expr, lambda s: _line_values(s, wanted), dtype)


def parse_address_line(
    values: pl.Expr | pl.Series, includes: Iterable[str] = ()
) -> pl.Expr | pl.DataFrame:
    """Split one-line addresses into canonical house_number, street and unit.

    "123 North Main Street, Unit 4", "123 N MAIN ST APT 4" and "123 N Main St #4" all
    give ("123", "N MAIN ST", "4"). Given an expression, returns a struct expression;
    given a series, a DataFrame with one column per part.
    """
    if isinstance(values, pl.Series):
        frame = values.to_frame("value").select(address_line_parts(pl.col("value"), includes))
        return frame.to_series().struct.unnest()
    return address_line_parts(values, includes)
