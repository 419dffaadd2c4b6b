"""Person names → canonical uppercase ASCII, vectorized over polars.

Canonical forms (see ``docs/normalization.md`` for the reasons):

* every name part: transliterated to ASCII, uppercase, apostrophes and periods dropped
  ("O'Brien" → "OBRIEN"), any other punctuation a single space, placeholders null;
* ``first_name``: leading titles removed (MR, DR, REV...), then a nickname replaced by
  one formal name ("BOB" → "ROBERT") through a fixed, idempotent map;
* ``last_name``: trailing suffixes split off (JR, III, ESQ...), the parts joined without
  separator ("SMITH-JONES" → "SMITHJONES", "DE LA CRUZ" → "DELACRUZ"); the list
  ``last_name_variants`` adds each part so that either half of a compound surname can
  match;
* ``name_suffix``: one of JR, SR, II, III, IV, V (other suffixes, ESQ or MD, are dropped).

Each public function takes and returns a ``pl.Expr``; the work runs once per distinct
value (see ``hashing.normalize._common.on_distinct``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from functools import cache
from typing import Literal

import nicknames
import polars as pl
from anyascii import anyascii

from hashing.normalize._common import (
    apply_expr,
    by_distinct,
    data_lines,
    data_rows,
    is_placeholder,
    null_if,
    on_distinct,
    on_rows,
    transliterate,
    words_pattern,
)

NameOrder = Literal["auto", "first_last", "last_first"]

#: Titles removed from the start of a first name or a whole name.
PREFIXES: tuple[str, ...] = (
    "MR", "MRS", "MS", "MISS", "MX", "MISTER", "MASTER", "DR", "DOCTOR", "REV", "REVEREND",
    "FR", "FATHER", "PASTOR", "RABBI", "IMAM", "BISHOP", "DEACON", "PROF", "PROFESSOR",
    "SIR", "DAME", "HON", "HONORABLE", "JUDGE", "ATTY", "SGT", "CPL", "PVT", "CAPT", "CPT",
    "LT", "COL", "GEN", "MAJ", "ADM", "CMDR", "GOV", "SEN", "REP", "PRES", "MADAM",
    "MADAME", "MME", "MLLE", "SRA", "SRTA",
)  # fmt: skip

#: Generational suffixes and their canonical spelling.
GENERATIONAL: dict[str, str] = {
    "JR": "JR", "JUNIOR": "JR", "SR": "SR", "SENIOR": "SR",
    "II": "II", "2ND": "II", "III": "III", "3RD": "III",
    "IV": "IV", "4TH": "IV", "V": "V", "5TH": "V",
}  # fmt: skip

# Extra spellings accepted in a column that holds only the suffix.
_SUFFIX_COLUMN_ONLY: dict[str, str] = {
    "2": "II", "3": "III", "4": "IV", "5": "V",
    "SECOND": "II", "THIRD": "III", "FOURTH": "IV", "FIFTH": "V",
}  # fmt: skip

#: Professional and other suffixes: removed from names, never kept as ``name_suffix``.
OTHER_SUFFIXES: tuple[str, ...] = (
    "ESQ", "ESQUIRE", "MD", "PHD", "DDS", "DMD", "DVM", "RN", "LPN", "CPA", "JD", "MBA",
    "CFP", "LCSW", "RET", "USN", "USMC", "USAF", "USCG",
)  # fmt: skip

#: Surname particles that attach to the next word ("DE LA CRUZ"); the word after them is
#: also kept as a variant on its own ("CRUZ").
PARTICLES: tuple[str, ...] = (
    "DA", "DAL", "DAS", "DE", "DEL", "DELA", "DELLA", "DELLE", "DELLO", "DEGLI", "DEI",
    "DEN", "DER", "DES", "DI", "DO", "DOS", "DU", "LA", "LAS", "LE", "LES", "LO", "LOS",
    "VAN", "VANDE", "VANDEN", "VANDER", "VON", "TER", "TEN", "SAN", "SANTA", "BIN", "BINT",
    "IBN", "AL", "EL", "ABU",
)  # fmt: skip

#: Prefixes that belong to the surname itself ("MC DONALD" is McDonald, never "DONALD").
BOUND_PREFIXES: tuple[str, ...] = ("MC", "MAC", "FITZ", "ST", "STE")
# One-letter bound prefixes ("O BRIEN", "D ANGELO"): only inside a surname column, because
# in a whole name a single letter before the surname is far more often a middle initial.
_LETTER_PREFIXES: tuple[str, ...] = ("O", "D", "L")

# Government and vendor files spell an absent part so: first/last/middle name unknown.
_NAME_PLACEHOLDERS = ("FNU", "LNU", "NMN", "NMI", "NO NAME", "NONAME", "NAME")

_PREFIX_RE = words_pattern(PREFIXES)
_GEN_RE = words_pattern(GENERATIONAL)
_SUFFIX_RE = words_pattern((*GENERATIONAL, *OTHER_SUFFIXES))
_PARTICLE_RE = words_pattern(PARTICLES)
_GLUE_WORDS = (*PARTICLES, *BOUND_PREFIXES)
_GLUE_RE = words_pattern(_GLUE_WORDS)
_GLUE_ALL_RE = words_pattern((*PARTICLES, *BOUND_PREFIXES, *_LETTER_PREFIXES))
_BOUND_ALL_RE = words_pattern((*BOUND_PREFIXES, *_LETTER_PREFIXES))

_STRUCT_FIELDS = ("first_name", "middle_name", "last_name", "name_suffix")


# --------------------------------------------------------------------------- cleaning


def _clean(e: pl.Expr, keep: str = "") -> pl.Expr:
    """Uppercase, drop apostrophes and periods, other punctuation → one space."""
    e = e.str.to_uppercase().str.replace_many(["'", "`", "."], ["", "", ""])
    # Spaces are left out of the class: a regex replacement costs per match.
    e = e.str.replace_all(f"[^A-Z0-9 {keep}]+", " ").str.replace_all("  +", " ")
    return e.str.strip_chars()


def _no_name(c: pl.Expr) -> pl.Expr:
    """Null for blanks, placeholders and values without a letter (``c``: a column)."""
    return null_if(c, is_placeholder(c, _NAME_PLACEHOLDERS) | ~c.str.contains("[A-Z]"))


def _clean_values(s: pl.Series) -> pl.Series:
    frame = transliterate(s).to_frame("v").with_columns(_clean(pl.col("v")))
    return frame.select(_no_name(pl.col("v"))).to_series()


def _clean_py(value: str) -> str:
    """The same cleaning as ``_clean`` for one Python string (used for lookup tables)."""
    text = re.sub(r"['`.]", "", anyascii(value).upper())
    return re.sub(r"[^A-Z0-9]+", " ", text).strip()


# --------------------------------------------------------------------------- nicknames


@cache
def nickname_map() -> dict[str, str]:
    """Nickname → formal first name: deterministic, many-to-one, idempotent.

    Built once from the ``nicknames`` package (``has_nickname`` pairs only; translations
    such as ROBERTO → ROBERT are not merged) plus two tables under ``data/``:

    1. A name *stays itself* when it never appears as a nickname, or when it is listed in
       ``nickname_keep.txt`` (full given names the package also lists as nicknames:
       MARY, JOHN, WILLIAM, ANNA...). These fixed points are the only targets, so
       applying the map twice changes nothing.
    2. ``nickname_overrides.csv`` pins the target of common ambiguous nicknames
       (BILL → WILLIAM, LIZ → ELIZABETH, HARRY → HENRY).
    3. Any other nickname goes to the nearest fixed point along "is a nickname of" links
       (BILLY → BILL → WILLIAM: distance first), then the candidate sharing the
       nickname's first letter, then the one with the most nicknames of its own (a rough
       stand-in for how common the formal name is), then alphabetical order.
    4. A nickname from which no fixed point can be reached stays itself.
    """
    formals_of: dict[str, set[str]] = {}
    nickname_count: dict[str, int] = {}
    for formal, relation, nick in nicknames.name_triplets():
        if relation != "has_nickname":
            continue
        f, n = _clean_py(formal), _clean_py(nick)
        if not f or not n or f == n:
            continue
        formals_of.setdefault(n, set()).add(f)
        nickname_count[f] = nickname_count.get(f, 0) + 1
    overrides = {r["nickname"]: r["formal"] for r in data_rows("nickname_overrides.csv")}
    keep = set(data_lines("nickname_keep.txt")) | set(overrides.values())
    nick_names = set(formals_of) - keep

    def is_fixed(name: str) -> bool:
        return name not in nick_names

    mapping: dict[str, str] = {}
    for nick in sorted(nick_names | set(overrides)):
        if nick in overrides:
            if overrides[nick] != nick:
                mapping[nick] = overrides[nick]
            continue
        target = _nearest_formal(nick, formals_of, nickname_count, is_fixed)
        if target is not None:
            mapping[nick] = target
    return mapping


def _nearest_formal(
    nick: str,
    formals_of: dict[str, set[str]],
    nickname_count: dict[str, int],
    is_fixed: Callable[[str], bool],
) -> str | None:
    seen = {nick}
    frontier: deque[str] = deque([nick])
    while frontier:
        level = sorted({f for n in frontier for f in formals_of.get(n, ()) if f not in seen})
        found = [f for f in level if is_fixed(f)]
        if found:
            return min(
                found,
                key=lambda f: (f[0] != nick[0], -nickname_count.get(f, 0), f),
            )
        seen.update(level)
        frontier = deque(level)
    return None


# --------------------------------------------------------------------------- name parts


def _strip_prefixes(e: pl.Expr) -> pl.Expr:
    """Remove leading titles while a word remains ("DR JANE" → "JANE", "DR" stays)."""
    return e.str.replace(rf"^(?:(?:{_PREFIX_RE})(?: AND)? )+", "")


def _first_frame(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Canonical first name of a cleaned text column, in place."""
    c = pl.col(column)
    frame = frame.with_columns(_strip_prefixes(c))
    frame = frame.with_columns(null_if(c, c.str.contains(rf"^(?:{_PREFIX_RE})$")))
    return frame.with_columns(c.replace(nickname_map()))


def _first_name_values(s: pl.Series) -> pl.Series:
    return _first_frame(_clean_values(s).to_frame("v"), "v").to_series()


def _middle_name_values(s: pl.Series) -> pl.Series:
    return _clean_values(s)


def _suffix_expr(e: pl.Expr, *, column: bool = False) -> pl.Expr:
    """The generational suffix found in cleaned text, canonical; null when none."""
    table = {**GENERATIONAL, **_SUFFIX_COLUMN_ONLY} if column else GENERATIONAL
    found = e.str.extract(rf"\b({words_pattern(table)})\b", 1)
    return found.replace_strict(table, default=None, return_dtype=pl.String)


def _suffix_values(s: pl.Series) -> pl.Series:
    # Not _clean_values: a suffix column may hold a bare digit ("3" for III).
    return apply_expr(transliterate(s), lambda e: _suffix_expr(_clean(e), column=True))


def _trailing_suffixes(c: pl.Expr) -> pl.Expr:
    """The run of suffix words at the end of cleaned text (" JR ESQ"), or null."""
    return c.str.extract(rf"((?: (?:{_SUFFIX_RE}))+)$", 1)


def _without_suffixes(c: pl.Expr) -> pl.Expr:
    return c.str.replace(rf"(?: (?:{_SUFFIX_RE}))+$", "")


def _last_frame(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Adds last_name, name_suffix, last_name_variants from a cleaned surname column."""
    c = pl.col(column)
    frame = frame.with_columns(
        _suffix_expr(_trailing_suffixes(c)).alias("name_suffix"), _without_suffixes(c).alias("_r")
    )
    frame = frame.with_columns(_no_name(pl.col("_r")).str.replace_all(r"\bSAINT ", "ST "))
    r = pl.col("_r")
    # One-word surnames (most) are their own only variant; the others are split below.
    frame = frame.with_columns(
        r.alias("last_name"),
        pl.when(r.is_not_null()).then(pl.concat_list(r)).alias("last_name_variants"),
    )
    compound = frame.get_column("_r").str.contains(" ", literal=True)
    return on_rows(frame, compound, _compound_surnames).drop("_r")


def _compound_surnames(frame: pl.DataFrame) -> pl.DataFrame:
    """Joined surname and its variants for surnames of several words (column ``_r``)."""
    r = pl.col("_r")
    frame = frame.select(
        r.str.replace_all(rf"\b({_GLUE_ALL_RE}) ", "${1}").alias("_glued"),
        r.str.replace_all(rf"\b({_BOUND_ALL_RE}) ", "${1}")
        .str.replace_all(rf"\b(?:{_PARTICLE_RE})(?: |$)", "")
        .str.strip_chars()
        .alias("_cores"),
    )
    glued = pl.col("_glued")
    frame = frame.with_columns(glued.str.replace_all(" ", "", literal=True).alias("last_name"))
    extras = pl.concat_list(glued.str.split(" "), pl.col("_cores").str.split(" "))
    extras = extras.list.eval(pl.element().filter(pl.element().str.len_bytes() >= 2))
    variants = pl.concat_list(pl.col("last_name"), extras).list.unique(maintain_order=True)
    return frame.select("last_name", variants.alias("last_name_variants"))


def _last_name_values(s: pl.Series) -> pl.Series:
    frame = _last_frame(_clean_values(s).to_frame("v"), "v")
    return frame.select("last_name", "name_suffix", "last_name_variants").to_struct("value")


# --------------------------------------------------------------------------- whole names


_PART_COLUMNS = ("first_name", "middle_name", "last_raw", "suffix_raw")


def _given_parts(frame: pl.DataFrame) -> pl.DataFrame:
    """Column ``g`` ("FIRST MIDDLE...", titles and suffixes already removed) → first_name
    (the first word) and middle_name (the rest, or null)."""
    words = pl.col("g").str.splitn(" ", 2).struct.rename_fields(["first_name", "middle_name"])
    return frame.with_columns(words.alias("_w")).unnest("_w")


def _strip_titles_and_suffixes(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Leading titles off ``column``; trailing suffix words moved to ``suffix_raw``.

    Both are tested cheaply on every row and removed on the few rows that have them.
    """
    c = pl.col(column)
    frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("suffix_raw"))
    titled = frame.get_column(column).str.contains(rf"^(?:{_PREFIX_RE}) ")
    frame = on_rows(frame, titled, lambda sub: sub.select(_strip_prefixes(c)))
    suffixed = frame.get_column(column).str.contains(rf" (?:{_SUFFIX_RE})$")
    return on_rows(
        frame,
        suffixed,
        lambda sub: sub.select(_without_suffixes(c), _trailing_suffixes(c).alias("suffix_raw")),
    )


def _split_comma(frame: pl.DataFrame) -> pl.DataFrame:
    """ "LAST, FIRST MIDDLE SUFFIX" (column ``t``) → raw parts."""
    t = pl.col("t")
    comma = t.str.find(",", literal=True)
    frame = frame.select(
        t.str.slice(0, comma).alias("last_raw"),
        t.str.slice(comma + 1).str.replace_all(",", " ", literal=True).str.strip_chars().alias("g"),
    )
    frame = _strip_titles_and_suffixes(frame, "g")
    return _given_parts(frame).select(_PART_COLUMNS)


def _split_plain(frame: pl.DataFrame, order: NameOrder) -> pl.DataFrame:
    """ "FIRST MIDDLE LAST SUFFIX" (or "LAST FIRST MIDDLE") in column ``t`` → raw parts.

    The surname is one word, or several when particles lead it ("VAN DER BERG"); the
    rows with a particle (few) are split by a regular expression, the others by words.
    """
    t = pl.col("t")
    frame = frame.select(t.str.replace_all(",", " ", literal=True).str.strip_chars())
    frame = _strip_titles_and_suffixes(frame, "t")
    frame = frame.with_columns(t.str.split(" ").alias("_words"))
    words = pl.col("_words")
    count = words.list.len()
    if order == "last_first":
        split = frame.select(
            words.list.first().alias("last_raw"),
            words.list.get(1, null_on_oob=True).alias("first_name"),
            words.list.slice(2).list.join(" ").alias("middle_name"),
            "suffix_raw",
        )
        pattern = rf"^((?:(?:{_GLUE_RE}) )+\S+)(?: (\S+)(?: (.+))?)?$"
        fields = ["last_raw", "first_name", "middle_name"]
    else:
        split = frame.select(
            pl.when(count > 1).then(words.list.first()).alias("first_name"),
            words.list.slice(1, count - 2).list.join(" ").alias("middle_name"),
            words.list.last().alias("last_raw"),
            "suffix_raw",
        )
        pattern = rf"^(?:(\S+)(?: (.+?))?? )?((?:(?:{_GLUE_RE}) )+\S+)$"
        fields = ["first_name", "middle_name", "last_raw"]
    split = split.with_columns(null_if(pl.col("middle_name"), pl.col("middle_name") == ""))
    glued = frame.select(
        words.list.slice(0, count - 1).list.eval(pl.element().is_in(_GLUE_WORDS)).list.any()
    ).to_series()

    def particles(sub: pl.DataFrame) -> pl.DataFrame:
        found = t.str.extract_groups(pattern).struct.rename_fields([f"_{f}" for f in fields])
        sub = sub.with_columns(found.alias("_g")).unnest("_g")
        # No match (the particle does not lead the surname): keep the word split.
        matched = pl.col("_last_raw").is_not_null()
        return sub.select(
            pl.when(matched).then(pl.col(f"_{f}")).otherwise(pl.col(f)).alias(f) for f in fields
        )

    parts = on_rows(pl.concat([frame.select("t"), split], how="horizontal"), glued, particles)
    return parts.select(_PART_COLUMNS)


def _split_whole(frame: pl.DataFrame, order: NameOrder) -> pl.DataFrame:
    """Split column ``t`` (cleaned whole name, commas and hyphens kept) into raw parts."""
    t = pl.col("t")
    suffix_run = rf"(?:{_SUFFIX_RE})(?: (?:{_SUFFIX_RE}))*"
    # "JOHN SMITH, JR": a comma before suffixes only is not a "LAST, FIRST" comma.
    late = frame.get_column("t").str.contains(rf",{suffix_run}$")
    frame = on_rows(
        frame, late, lambda sub: sub.select(t.str.replace(rf",({suffix_run})$", " ${1}"))
    )
    if order == "first_last":
        return _split_plain(frame, order)
    has_comma = frame.get_column("t").str.contains(",", literal=True).fill_null(False)
    if not has_comma.any():
        return _split_plain(frame, order)
    frame = frame.with_row_index("_row")
    with_comma = frame.filter(has_comma)
    plain = frame.filter(~has_comma)
    parts = pl.concat(
        [
            pl.concat([with_comma.select("_row"), _split_comma(with_comma)], how="horizontal"),
            pl.concat([plain.select("_row"), _split_plain(plain, order)], how="horizontal"),
        ]
    )
    return parts.sort("_row").drop("_row")


def _full_name_values(s: pl.Series, order: NameOrder) -> pl.Series:
    spaced = [" , ", " ,", ", ", " - ", " -", "- "]
    tight = [",", ",", ",", "-", "-", "-"]
    frame = (
        transliterate(s)
        .to_frame("t")
        .select(
            _clean(pl.col("t"), keep=",-").str.replace_many(spaced, tight).str.strip_chars(",- ")
        )
    )
    parts = _split_whole(frame, order)
    # The parts repeat far more than whole names do: normalize each once per value.
    first = by_distinct(parts.get_column("first_name"), _first_name_values)
    middle = by_distinct(parts.get_column("middle_name"), _clean_values)
    last = by_distinct(parts.get_column("last_raw"), _last_name_values).struct.unnest()
    suffix = by_distinct(parts.get_column("suffix_raw"), _suffix_values)
    return pl.DataFrame(
        {
            "first_name": first,
            "middle_name": middle,
            "last_name": last.get_column("last_name"),
            "name_suffix": suffix.fill_null(last.get_column("name_suffix")),
            "last_name_variants": last.get_column("last_name_variants"),
        }
    ).to_struct("value")


# --------------------------------------------------------------------------- public API

FULL_NAME_DTYPE = pl.Struct(
    {
        "first_name": pl.String,
        "middle_name": pl.String,
        "last_name": pl.String,
        "name_suffix": pl.String,
        "last_name_variants": pl.List(pl.String),
    }
)
LAST_NAME_DTYPE = pl.Struct(
    {"last_name": pl.String, "name_suffix": pl.String, "last_name_variants": pl.List(pl.String)}
)


def clean_name(expr: pl.Expr) -> pl.Expr:
    """Any name text → uppercase ASCII words, apostrophes and periods dropped; blank → null."""
    return on_distinct(expr, _clean_values, pl.String)


def normalize_first_name(expr: pl.Expr) -> pl.Expr:
    """First name: cleaned, leading titles removed, nickname → formal ("Bob" → "ROBERT")."""
    return on_distinct(expr, _first_name_values, pl.String)


def normalize_middle_name(expr: pl.Expr) -> pl.Expr:
    """Middle name: cleaned ("a." → "A"); no nickname mapping."""
    return on_distinct(expr, _middle_name_values, pl.String)


def normalize_last_name(expr: pl.Expr) -> pl.Expr:
    """Last name: cleaned, suffixes removed, parts joined ("Smith-Jones" → "SMITHJONES")."""
    return last_name_parts(expr).struct.field("last_name")


def last_name_variants(expr: pl.Expr) -> pl.Expr:
    """Surname variants: [joined, each part...] distinct ("DE LA CRUZ" → [DELACRUZ, CRUZ]).

    The joined form comes first and is always present when the surname is; parts shorter
    than two letters are left out. Null when the surname is missing.
    """
    return last_name_parts(expr).struct.field("last_name_variants")


def last_name_parts(expr: pl.Expr) -> pl.Expr:
    """Struct {last_name, name_suffix, last_name_variants} of a surname column.

    ``name_suffix`` is the generational suffix found at the end of the surname
    ("SMITH JR" → "JR"), for callers that have no suffix column of their own.
    """
    return on_distinct(expr, _last_name_values, LAST_NAME_DTYPE)


def normalize_name_suffix(expr: pl.Expr) -> pl.Expr:
    """Suffix column → JR, SR, II, III, IV or V ("Jr." → "JR", "3rd" → "III"); else null."""
    return on_distinct(expr, _suffix_values, pl.String)


def initial(expr: pl.Expr) -> pl.Expr:
    """First letter of a canonical name ("ROBERT" → "R"); null when the name is null."""
    text = expr.cast(pl.String).str.strip_chars().str.slice(0, 1).str.to_uppercase()
    return null_if(text, text.str.len_bytes() == 0)


def full_name_parts(expr: pl.Expr, order: NameOrder = "auto") -> pl.Expr:
    """A whole-name column → struct of canonical parts plus ``last_name_variants``.

    ``order``: ``"first_last"`` ("John A. Smith"), ``"last_first"`` ("SMITH JOHN A";
    with a comma too), or ``"auto"``: a comma means "LAST, FIRST MIDDLE", otherwise
    first name first. A comma followed only by suffixes ("JOHN SMITH, JR") is no name
    separator. Titles at the start are dropped; the surname takes the last word together
    with the particles before it ("Dr. Jane van der Berg" → JANE / VANDERBERG); a single
    word is taken as the surname.
    """
    if order not in ("auto", "first_last", "last_first"):
        raise ValueError(f"order must be auto, first_last or last_first, not {order!r}")
    return on_distinct(expr, lambda s: _full_name_values(s, order), FULL_NAME_DTYPE)


def split_full_name(
    values: pl.Expr | pl.Series, order: NameOrder = "auto"
) -> pl.Expr | pl.DataFrame:
    """Split whole names into first_name, middle_name, last_name and name_suffix.

    Given an expression, returns a struct expression with those four fields; given a
    series, returns a DataFrame with those four columns. The values are canonical (the
    same as the field normalizers give). ``full_name_parts`` also returns the surname
    variants.
    """
    if isinstance(values, pl.Series):
        frame = values.to_frame("value").select(full_name_parts(pl.col("value"), order))
        return frame.to_series().struct.unnest().select(_STRUCT_FIELDS)
    parts = full_name_parts(values, order)
    return pl.struct(*(parts.struct.field(f) for f in _STRUCT_FIELDS))
