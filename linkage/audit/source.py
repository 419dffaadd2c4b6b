"""The ``--source`` search: did a party's own input values leave, plain or under an unkeyed hash?

In an audit setting the auditor may be shown a party's input file. Every value of every
identifying column of it is put in a few simple normal forms (as is, trimmed, lower and
upper case, whitespace collapsed, digits only and E.164 for phone-like values, ISO for
dates), and each form is hashed with MD5, SHA-1 and SHA-256 — the classic "we hashed it,
so it is anonymous" mistake: an unkeyed hash of a name or a phone number is reversed by
hashing a phone book. The forms and digests (the *needles*) are then joined against every
string and binary column of an artifact, as raw bytes, as hex text and as base64 text.

Columns of the source with few distinct values (segment flags, sex, state) are skipped:
they identify nobody and some of them legitimately travel (segment labels appear in the
viewership report). The search runs one source column at a time to bound memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import polars_hash as plh

from hashing.errors import InputError
from linkage.audit import detectors

MIN_DISTINCT = 50  # a source column with fewer distinct values is a category, not an ID
MIN_DISTINCT_SHARE = 0.5  # ...unless most of its values are distinct (a small sample)
MIN_TEXT = 3  # shorter plain values are not searched for in the clear
ALGOS = ("value", "md5", "sha1", "sha256")
_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%Y%m%d", "%d.%m.%Y")


@dataclass(frozen=True)
class SourceHit:
    """Rows of one artifact column that hold a source value (``algo``: how it was found)."""

    artifact: str
    column: str
    algo: str  # "value" (in the clear) or the digest: "md5", "sha1", "sha256"
    rows: int
    note: str  # source column(s), form(s) and encoding(s): names only, never values


def load_source(path: Path) -> pl.DataFrame:
    """A party's input as text columns: CSV (no type inference) or Parquet (cast to text)."""
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            frame = pl.read_parquet(path)
            return frame.select(pl.all().cast(pl.String))
        return pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except (OSError, pl.exceptions.PolarsError) as e:
        raise InputError(f"{path}: cannot read the source file ({type(e).__name__})") from e


def searchable_columns(source: pl.DataFrame) -> list[str]:
    """The source columns worth searching for: those with many distinct values."""
    if source.is_empty():
        return []
    stats = source.select([pl.col(c).drop_nulls().n_unique().alias(c) for c in source.columns]).row(
        0, named=True
    )
    counts = source.select([pl.col(c).count().alias(c) for c in source.columns]).row(0, named=True)
    return [
        c
        for c in source.columns
        if stats[c] >= MIN_DISTINCT
        or (counts[c] and stats[c] >= 2 and stats[c] / counts[c] >= MIN_DISTINCT_SHARE)
    ]


def _forms(col: str) -> list[pl.Expr]:
    raw = pl.col(col)
    trim = raw.str.strip_chars()
    digits = raw.str.replace_all(r"[^0-9]", "")
    n = digits.str.len_bytes()
    iso = pl.coalesce([trim.str.to_date(fmt, strict=False) for fmt in _DATE_FORMATS]).dt.to_string(
        "%Y-%m-%d"
    )
    return [
        raw.alias("raw"),
        trim.alias("trim"),
        trim.str.to_lowercase().alias("lower"),
        trim.str.to_uppercase().alias("upper"),
        trim.str.to_lowercase().str.replace_all(r"\s+", " ").alias("collapsed"),
        trim.str.replace_all(r"\s+", "").str.to_lowercase().alias("nospace"),
        pl.when(n >= 7).then(digits).alias("digits"),
        pl.when(n == 10)
        .then(pl.lit("+1") + digits)
        .when((n == 11) & digits.str.starts_with("1"))
        .then(pl.lit("+") + digits)
        .alias("e164"),
        iso.alias("iso_date"),
    ]


def needles(source: pl.DataFrame, column: str) -> pl.DataFrame:
    """Needles of one source column: ``needle`` (bytes), ``algo``, ``form``."""
    forms = (
        source.lazy()
        .select(_forms(column))
        .unpivot(variable_name="form", value_name="text")
        .drop_nulls("text")
        .filter(pl.col("text").str.len_bytes() > 0)
        .unique("text", keep="first", maintain_order=True)
        .collect()
    )
    parts = [
        forms.filter(pl.col("text").str.len_chars() >= MIN_TEXT).select(
            pl.col("text").cast(pl.Binary).alias("needle"), pl.lit("value").alias("algo"), "form"
        )
    ]
    digests = {
        "md5": plh.col("text").nchash.md5(),
        "sha1": plh.col("text").nchash.sha1(),
        "sha256": plh.col("text").chash.sha2_256(),
    }
    for algo, expr in digests.items():
        parts.append(
            forms.select(expr.str.decode("hex").alias("needle"), pl.lit(algo).alias("algo"), "form")
        )
    return pl.concat(parts)


_HEX = r"^(?:[0-9A-Fa-f]{2}){8,}$"
_B64 = r"^[A-Za-z0-9+/\-_]{12,}={0,2}$"


def _decoded(text: pl.Expr, encoding: str) -> pl.Expr:
    if encoding == "hex":
        return pl.when(text.str.contains(_HEX)).then(text.str.decode("hex", strict=False))
    std = text.str.replace_all("-", "+", literal=True).str.replace_all("_", "/")
    std = std.str.strip_chars_end("=")
    padded = std.str.pad_end((std.str.len_bytes() + 3) // 4 * 4, "=")
    return pl.when(text.str.contains(_B64)).then(padded.str.decode("base64", strict=False))


PROBE_SCHEMA = {
    "artifact": pl.String,
    "column": pl.String,
    "pid": pl.UInt32,
    "n": pl.Int64,
    "encoding": pl.String,
    "needle": pl.Binary,
}


def probes(
    frame: pl.DataFrame,
    columns: Mapping[str, str],
    *,
    artifact: str,
    vocabulary: Iterable[str] = (),
) -> pl.DataFrame:
    """The values of an artifact's columns as bytes to look up: raw, hex- and base64-decoded.

    ``columns`` maps each column to search to the label findings give it. Text equal to a
    word of ``vocabulary`` (declared segment labels, recipe names, bands) is not looked up
    in the clear: those words travel by design, and one may well also be a surname.
    Columns of the result: see ``PROBE_SCHEMA`` (``pid`` identifies a distinct value
    within its column, ``n`` counts its rows).
    """
    words = sorted(set(vocabulary))
    parts: list[pl.DataFrame] = []
    for name, label in columns.items():
        s = frame[name]
        if s.dtype == pl.Binary:
            base = s.drop_nulls().rename("raw").value_counts(name="n").with_row_index("pid")
            # bytes that are ASCII text (hex or base64 written into a binary column)
            text = base.filter(detectors.printable_mask(base["raw"])).with_columns(
                pl.col("raw").cast(pl.String).alias("text")
            )
        elif s.dtype == pl.String or s.dtype.is_integer():
            text = (
                s.drop_nulls().cast(pl.String).rename("text").value_counts(name="n")
            ).with_row_index("pid")
            text = text.filter(~pl.col("text").is_in(words))
            base = text.with_columns(pl.col("text").cast(pl.Binary).alias("raw"))
        else:
            continue
        for encoding, rows, expr in (
            ("raw", base, pl.col("raw")),
            ("hex", text, _decoded(pl.col("text"), "hex")),
            ("base64", text, _decoded(pl.col("text"), "base64")),
        ):
            parts.append(
                rows.select(
                    pl.lit(artifact).alias("artifact"),
                    pl.lit(label).alias("column"),
                    "pid",
                    pl.col("n").cast(pl.Int64),
                    pl.lit(encoding).alias("encoding"),
                    expr.alias("needle"),
                ).drop_nulls("needle")
            )
    return pl.concat(parts) if parts else pl.DataFrame(schema=PROBE_SCHEMA)


def search(sources: Mapping[str, pl.DataFrame], probe: pl.DataFrame) -> list[SourceHit]:
    """Source values found among ``probe`` (of any number of artifacts).

    The needles of each searchable source column are built once and joined against every
    probe; one hit per (artifact, column, algo), its note naming the source file(s),
    column(s), form(s) and encoding(s).
    """
    if probe.is_empty():
        return []
    matched: list[pl.DataFrame] = []
    for label, source in sources.items():
        for src_col in searchable_columns(source):
            found = probe.join(needles(source, src_col), on="needle", how="inner")
            if not found.is_empty():
                matched.append(
                    found.select(
                        "artifact",
                        "column",
                        "pid",
                        "n",
                        "encoding",
                        "algo",
                        "form",
                        pl.lit(f"{label}:{src_col}").alias("src"),
                    )
                )
    if not matched:
        return []
    summary = (
        pl.concat(matched)
        .group_by("artifact", "column", "algo")
        .agg(
            pl.struct("pid", "n").unique().struct.field("n").sum().alias("rows"),
            pl.col("src").unique().sort().alias("srcs"),
            pl.col("form").unique().sort().alias("forms"),
            pl.col("encoding").unique().sort().alias("encodings"),
        )
        .sort("artifact", "column", "algo")
    )
    out: list[SourceHit] = []
    for artifact, column, algo, rows, srcs, forms, encodings in summary.iter_rows():
        note = (
            f"source column(s) {', '.join(srcs)}; form(s) {', '.join(forms)}; "
            f"as {', '.join(encodings)}"
        )
        out.append(SourceHit(artifact, column, algo, int(rows), note))
    return out
