"""PII detectors over text, and the decoders that unwrap text hidden in an encoding.

Every detector works on the *distinct* values of a column with their row counts, so a
column of ten million rows drawn from a few labels costs a few regex evaluations, and a
leaky column costs one vectorized pass. Nothing here loops over rows in Python.

Detectors (the name a finding carries):

``pii.email``      an address ``local@domain.tld``
``pii.phone``      a NANP number in any usual punctuation, or an E.164 number
``pii.ssn``        ``123-45-6789`` or ``123 45 6789``
``pii.date``       a date whose year could be a voter's birth year (1900–2009), ISO, US,
                   compact ``YYYYMMDD`` or with a month name
``pii.address``    a house number, up to four street words and a street suffix; PO boxes
``pii.device_id``  a MAC address (set-top boxes are often known by one)
``pii.name``       two adjacent words of which one is a common first name and the other a
                   common surname; or a column where at least a fifth of the rows (and at
                   least three distinct values) are a bare first name or surname

Encoded text is decoded and the detectors run again; a hit is then named with the
encoding appended: ``pii.phone.base64``, ``pii.name.hex``, ``pii.email.url`` (and two
levels deep, ``pii.email.base64.hex``). Binary columns are searched for bytes that are
printable text (:func:`printable_binary`), which are then scanned the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

EMAIL = "pii.email"
PHONE = "pii.phone"
SSN = "pii.ssn"
DATE = "pii.date"
ADDRESS = "pii.address"
DEVICE_ID = "pii.device_id"
NAME = "pii.name"
DETECTORS = (EMAIL, PHONE, SSN, DATE, ADDRESS, DEVICE_ID, NAME)

_DATA = Path(__file__).resolve().parent / "data"

# --- patterns (Rust regex syntax: no look-around; digit guards instead of \b where a
# --- parenthesis or plus sign may open the match)
_D0 = r"(?:^|[^0-9])"  # not preceded by a digit
_D1 = r"(?:$|[^0-9])"  # not followed by a digit
_YEAR = r"(?:19[0-9]{2}|200[0-9])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MONTH_NAME = (
    r"(?:JAN(?:UARY)?|FEB(?:RUARY)?|MAR(?:CH)?|APR(?:IL)?|MAY|JUNE?|JULY?|AUG(?:UST)?"
    r"|SEP(?:T(?:EMBER)?)?|OCT(?:OBER)?|NOV(?:EMBER)?|DEC(?:EMBER)?)"
)
_SUFFIX = (
    r"(?:STREET|STR|ST|AVENUE|AVE|AV|ROAD|RD|BOULEVARD|BLVD|DRIVE|DR|LANE|LN|COURT|CT"
    r"|PLACE|PL|WAY|TERRACE|TER|CIRCLE|CIR|HIGHWAY|HWY|PARKWAY|PKWY|TRAIL|TRL|SQUARE|SQ"
    r"|PIKE|ALLEY|ALY|LOOP|RUN|PATH|CROSSING|XING|EXPRESSWAY|EXPY|FREEWAY|FWY|TURNPIKE"
    r"|TPKE|PLAZA|PLZ|ROW|WALK)"
)

PATTERNS: dict[str, str] = {
    EMAIL: r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    PHONE: (
        _D0
        + r"(?:(?:\+?1[\s.\-]?)?\(?[2-9][0-9]{2}\)?[\s.\-]?[2-9][0-9]{2}[\s.\-]?[0-9]{4}"
        + r"|\+[1-9][0-9]{7,14})"
        + _D1
    ),
    SSN: _D0 + r"[0-9]{3}(?:-[0-9]{2}-|\s[0-9]{2}\s)[0-9]{4}" + _D1,
    DATE: (
        "(?i)"
        + _D0
        + "(?:"
        + rf"{_YEAR}[\-/.]{_MONTH}[\-/.]{_DAY}"
        + rf"|{_MONTH}[\-/.]{_DAY}[\-/.](?:{_YEAR}|[0-9]{{2}})"
        + rf"|{_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
        + rf"|{_MONTH_NAME}\.?\s+{_DAY},?\s+{_YEAR}"
        + rf"|{_DAY}\s+{_MONTH_NAME}\.?,?\s+{_YEAR}"
        + ")"
        + _D1
    ),
    ADDRESS: (
        r"(?i)(?:(?:^|[^\w])[0-9]{1,6}[A-Z]?\s+(?:(?:[NSEW]{1,2}\.?|NORTH|SOUTH|EAST|WEST)\s+)?"
        r"(?:[A-Z0-9][A-Z0-9'.\-]*\s+){1,4}"
        + _SUFFIX
        + r"\.?(?:$|[^\w])"
        + r"|(?:^|[^\w])P\.?\s?O\.?\s*BOX\s+[0-9]+)"
    ),
    DEVICE_ID: r"(?i)(?:^|[^0-9A-F:\-])[0-9A-F]{2}(?:[:\-][0-9A-F]{2}){5}(?:$|[^0-9A-F:\-])",
}

NAME_COLUMN_SHARE = 0.2
NAME_COLUMN_MIN_DISTINCT = 3

# printable ASCII (0x20-0x7e) as lowercase hex pairs
_PRINTABLE_HEX = r"^(?:[2-6][0-9a-f]|7[0-9a-e])+$"
MIN_TEXT_BYTES = 3
PRINTABLE_BYTES = 95


@functools.cache
def common_words() -> frozenset[str]:
    """Names that are also everyday words: not a name on their own (``data/common_words.txt``)."""
    return _read_words(_DATA / "common_words.txt")


@functools.cache
def first_names() -> frozenset[str]:
    """The first-name dictionary (uppercase ASCII)."""
    return _read_words(_DATA / "first_names.txt")


@functools.cache
def last_names() -> frozenset[str]:
    """The surname dictionary (uppercase ASCII)."""
    return _read_words(_DATA / "last_names.txt")


def _read_words(path: Path) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().upper() for w in lines if w.strip() and not w.startswith("#"))


def value_counts(values: pl.Series) -> pl.DataFrame:
    """Distinct non-null values of a text column with their row counts (``value``, ``n``)."""
    s = values.drop_nulls().rename("value")
    if s.dtype != pl.String:
        s = s.cast(pl.String)
    return s.value_counts(name="n").with_columns(pl.col("n").cast(pl.Int64))


def _name_counts(frame: pl.DataFrame) -> tuple[int, int, int]:
    """Rows holding a full name, rows that are a bare name, distinct bare-name values."""
    if frame.is_empty():
        return 0, 0, 0
    first = sorted(first_names())
    last = sorted(last_names())
    common = sorted(common_words())
    words = (
        frame.with_row_index("i")
        .select(
            "i",
            "n",
            pl.col("value")
            .str.to_uppercase()
            .str.replace_all("'", "", literal=True)
            .str.extract_all("[A-Z]+")
            .alias("w"),
        )
        .explode("w")
        .with_columns(
            f=pl.col("w").is_in(first),
            l=pl.col("w").is_in(last),
            c=pl.col("w").is_in(common),
        )
        .with_columns(
            nf=pl.col("f").shift(-1).over("i"),
            nl=pl.col("l").shift(-1).over("i"),
            nc=pl.col("c").shift(-1).over("i"),
        )
        .with_columns(
            pair=((pl.col("f") & pl.col("nl")) | (pl.col("l") & pl.col("nf")))
            & ~(pl.col("c") & pl.col("nc")),
            bare=(pl.col("f") | pl.col("l")) & ~pl.col("c"),
        )
        .group_by("i")
        .agg(
            pl.col("n").first(),
            pl.col("pair").fill_null(False).any().alias("full"),
            ((pl.col("w").count() == 1) & pl.col("bare").fill_null(False).all()).alias("bare"),
        )
    )
    out = words.select(
        full=pl.col("n").filter(pl.col("full")).sum(),
        bare=pl.col("n").filter(pl.col("bare") & ~pl.col("full")).sum(),
        bare_distinct=(pl.col("bare") & ~pl.col("full")).sum(),
    ).row(0)
    return int(out[0] or 0), int(out[1] or 0), int(out[2] or 0)


def detect(frame: pl.DataFrame, *, total_rows: int | None = None) -> dict[str, int]:
    """Run every detector over ``frame`` (``value``: text, ``n``: rows); rows hit by each.

    ``total_rows`` is the row count of the whole column (the bare-name rule is a share of
    it); it defaults to the rows of ``frame``.
    """
    if frame.is_empty():
        return {}
    total = int(frame["n"].sum()) if total_rows is None else total_rows
    sums = frame.select(
        [
            pl.col("n").filter(pl.col("value").str.contains(pattern)).sum().alias(name)
            for name, pattern in PATTERNS.items()
        ]
    ).row(0, named=True)
    hits = {name: int(v) for name, v in sums.items() if v}
    full, bare, bare_distinct = _name_counts(frame)
    name_rows = full
    if bare_distinct >= NAME_COLUMN_MIN_DISTINCT and bare >= NAME_COLUMN_SHARE * total:
        name_rows += bare
    if name_rows:
        hits[NAME] = name_rows
    return hits


# --- decoders: each maps a (value, n) frame of text to the (value, n) frame of the text
# --- hidden in it, dropping values that do not decode to printable text.


def _printable_from_hex(frame: pl.DataFrame, hex_col: str = "hex") -> pl.DataFrame:
    """Rows whose lowercase-hex column encodes printable ASCII, decoded to ``value``."""
    ok = frame.filter(
        (pl.col(hex_col).str.len_bytes() >= 2 * MIN_TEXT_BYTES)
        & pl.col(hex_col).str.contains(_PRINTABLE_HEX)
    )
    return ok.select(pl.col(hex_col).str.decode("hex").cast(pl.String).alias("value"), pl.col("n"))


def _from_hex(frame: pl.DataFrame) -> pl.DataFrame:
    cand = frame.filter(pl.col("value").str.contains(r"^(?:[0-9A-Fa-f]{2}){3,}$"))
    return _printable_from_hex(cand.select(pl.col("value").str.to_lowercase().alias("hex"), "n"))


def _from_base64(frame: pl.DataFrame) -> pl.DataFrame:
    cand = frame.filter(
        pl.col("value").str.contains(r"^[A-Za-z0-9+/\-_]{4,}={0,2}$")
        & (pl.col("value").str.len_bytes() % 4 != 1)
    )
    std = pl.col("value").str.replace_all("-", "+", literal=True).str.replace_all("_", "/")
    std = std.str.strip_chars_end("=")
    padded = std.str.pad_end((std.str.len_bytes() + 3) // 4 * 4, "=")
    decoded = cand.select(padded.str.decode("base64", strict=False).alias("raw"), "n")
    return _printable_from_hex(
        decoded.drop_nulls("raw").select(pl.col("raw").bin.encode("hex").alias("hex"), "n")
    )


_URL_CODES = [f"%{b:02X}" for b in range(0x20, 0x7F)]
_URL_FROM = _URL_CODES + [c.lower() for c in _URL_CODES if c.lower() != c]
_URL_TO = [chr(b) for b in range(0x20, 0x7F)] + [
    chr(int(c[1:], 16)) for c in _URL_CODES if c.lower() != c
]


def _from_url(frame: pl.DataFrame) -> pl.DataFrame:
    cand = frame.filter(pl.col("value").str.contains(r"%[0-9A-Fa-f]{2}"))
    return cand.select(
        pl.col("value")
        .str.replace_many(_URL_FROM, _URL_TO)
        .str.replace_all("+", " ", literal=True),
        "n",
    )


DECODERS = {"hex": _from_hex, "base64": _from_base64, "url": _from_url}


def scan_counts(
    frame: pl.DataFrame, *, total_rows: int | None = None, depth: int = 2
) -> dict[str, int]:
    """Detector hits in ``frame`` (``value``, ``n``), plain and under up to ``depth`` encodings.

    Keys are detector names, with the encodings peeled off appended in order
    (``pii.email.base64.hex``: base64 around hex around an address).
    """
    total = int(frame["n"].sum()) if total_rows is None else total_rows
    hits = detect(frame, total_rows=total)
    if depth > 0:
        for label, decode in DECODERS.items():
            decoded = decode(frame)
            if decoded.is_empty():
                continue
            inner = scan_counts(decoded, total_rows=total, depth=depth - 1)
            for name, rows in inner.items():
                key = f"{name.split('.')[0]}.{name.split('.')[1]}.{label}" + "".join(
                    f".{part}" for part in name.split(".")[2:]
                )
                hits[key] = hits.get(key, 0) + rows
    return hits


def scan_text(values: pl.Series) -> dict[str, int]:
    """Detector hits (rows) in a text column, plain and encoded."""
    return scan_counts(value_counts(values))


def scan_strings(values: Iterable[str]) -> dict[str, int]:
    """Detector hits in a handful of strings (column names, manifest values)."""
    return scan_text(pl.Series("value", list(values), dtype=pl.String))


_TEXT_VIEW = {
    pa.binary(): pa.string(),
    pa.large_binary(): pa.large_string(),
    pa.binary_view(): pa.string_view(),
}


def printable_mask(values: pl.Series) -> pl.Series:
    """Per row: is the value at least three bytes, all printable ASCII? (nulls: False).

    Vectorized in Arrow: the bytes are viewed as text without validation and tested by
    ``ascii_is_printable``, which any non-ASCII byte fails.
    """
    arr = values.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    printable = pc.ascii_is_printable(arr.view(_TEXT_VIEW[arr.type]))
    mask = pl.Series(printable).fill_null(False)
    return mask & (values.bin.size() >= MIN_TEXT_BYTES).fill_null(False)


def printable_binary(values: pl.Series) -> pl.DataFrame:
    """Values of a binary column that are printable ASCII text: ``value`` (text), ``n``."""
    text = values.filter(printable_mask(values))
    if text.is_empty():
        return pl.DataFrame(schema={"value": pl.String, "n": pl.Int64})
    counted = text.rename("value").value_counts(name="n")
    return counted.select(pl.col("value").cast(pl.String), pl.col("n").cast(pl.Int64))


EMBEDDED_LIMIT = 200_000
_RUN = re.compile(rb"[\x20-\x7e]{%d,}" % (MIN_TEXT_BYTES + 1))


def embedded_text(values: pl.Series, *, limit: int = EMBEDDED_LIMIT, seed: int = 0) -> pl.DataFrame:
    """Printable runs inside the values of a binary column that is *not* random.

    Like ``strings(1)``: each distinct value's runs of four or more printable bytes,
    joined by newlines, so that a zero-padded e-mail or a box list sealed in the clear
    is scanned as text. Meant for columns that already failed the randomness test, so
    the per-value work is rare; at most ``limit`` distinct values are read (a seeded
    sample beyond that, and then the counts are a lower bound).
    """
    counted = values.drop_nulls().rename("v").value_counts(name="n")
    if counted.height > limit:
        counted = counted.sort("v").sample(limit, seed=seed)
    runs = [b"\n".join(_RUN.findall(v)).decode("ascii") for v in counted["v"]]
    frame = pl.DataFrame({"value": runs, "n": counted["n"].cast(pl.Int64)})
    return frame.filter(pl.col("value") != "")


def expected_printable(values: pl.Series) -> float:
    """How many values of a column of random bytes would be printable text by chance."""
    lengths = values.drop_nulls().bin.size().value_counts(name="n")
    p = PRINTABLE_BYTES / 256
    return float(
        sum(
            n * p**size
            for size, n in lengths.iter_rows()
            if size is not None and size >= MIN_TEXT_BYTES
        )
    )
