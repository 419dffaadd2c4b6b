"""Content checks of one artifact frame against the policy of its kind.

``audit_frame`` is pure: a frame, the kind and the engagement context in, findings out.
It checks the contract (exactly these columns and dtypes), the shape of every binary
column by its role (token, reference, sealed blob), the aggregate rules (k-minimum,
suppression, no per-record rows), and runs the PII detectors on every string and binary
column, on integer and date columns the contract does not have, and on the column names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from linkage.audit import detectors, shape
from linkage.audit.policy import (
    BANDS,
    POLICIES,
    QUARTER_HOURS,
    Aggregate,
    AuditContext,
    ColumnRule,
    KindPolicy,
    Role,
)
from linkage.audit.report import NO_COLUMN, Finding, Severity

# Checks whose findings are warnings: inconsistent or suspicious, not a leak by themselves.
WARNINGS = frozenset(
    {
        "token.null",
        "ref.null",
        "sealed.null",
        "viewership.domain",
        "segment_summary.domain",
        "exchange.orphan_household",
        "exchange.duplicate_artifact",
    }
)

AEAD_OVERHEAD = 12 + 16  # nonce and tag: no AEAD blob is shorter
EXTRA_COLUMN = "manifest.extra"

# Words that make a column name an identifier or a PII field (compared word by word).
IDENTIFIER_WORDS = frozenset(
    """name names fname lname firstname lastname surname given middle fullname email mail
    emailaddress phone telephone tel mobile cell phonenumber ssn social socialsecurity dob
    birth birthdate birthday born address addr street city zip zipcode postal postcode
    voter voterid account acct accountid subscriber box boxid stb device deviceid mac
    serial ip ipaddress latitude longitude lat lon lng gender sex age id uid uuid
    crosswalk""".split()  # noqa: SIM905 - a word list reads better as text
)

_RECORD_LIKE = [
    r"(?:^|[^0-9A-Za-z])(?:0x)?[0-9A-Fa-f]{16,}(?:$|[^0-9A-Za-z])",
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
    r"(?:^|[^0-9])[0-9]{9,}(?:$|[^0-9])",
]
_BASE64_ID = r"[A-Za-z0-9+/_\-]{20,}={0,2}"


def make_finding(artifact: str, column: str, check: str, count: int, note: str = "") -> Finding:
    """A finding with the severity its check carries."""
    severity = Severity.WARNING if check in WARNINGS else Severity.ERROR
    return Finding(artifact, column, check, int(count), severity, note)


def column_label(name: str, index: int) -> str:
    """How a finding names a column: its name, unless the name itself looks like PII."""
    return f"#{index}" if detectors.scan_strings([name]) else name


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def is_identifier_name(name: str) -> bool:
    """Whether a column name says it holds a person's data or a record identifier."""
    words = _name_words(name)
    return any(w in IDENTIFIER_WORDS for w in words) or "".join(words) in IDENTIFIER_WORDS


def _hits_to_findings(
    artifact: str, column: str, hits: Mapping[str, int], note: str = ""
) -> list[Finding]:
    return [make_finding(artifact, column, check, n, note) for check, n in sorted(hits.items())]


def scan_names(artifact: str, columns: Iterable[str], policy: KindPolicy | None) -> list[Finding]:
    """Column names: identifier-like names outside the contract, and PII used as a name."""
    out: list[Finding] = []
    contract = set(policy.contract) if policy else set()
    for index, name in enumerate(columns):
        hits = detectors.scan_strings([name])
        if hits:
            out += _hits_to_findings(artifact, NO_COLUMN, hits, f"column name #{index}")
        elif name not in contract and is_identifier_name(name):
            out.append(make_finding(artifact, name, "pii.column_name", 1))
    return out


def scan_values(values: Iterable[Any]) -> dict[str, int]:
    """Detector hits among loose values (the manifest's extra): the strings among them.

    Numbers are left alone: a ten-digit count of tune events has the shape of a phone.
    """
    return detectors.scan_strings(v for v in values if isinstance(v, str))


def _leaves(obj: Any) -> Iterable[Any]:
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            yield key
            yield from _leaves(value)
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from _leaves(item)
    elif not isinstance(obj, bool):
        yield obj


def scan_extra(artifact: str, extra: Any) -> list[Finding]:
    """PII detectors over every key and value of a manifest's ``extra`` section."""
    if extra is None:
        return []
    return _hits_to_findings(artifact, EXTRA_COLUMN, scan_values(_leaves(extra)))


# --- per column


def _text_findings(artifact: str, label: str, values: pl.Series) -> list[Finding]:
    hits = detectors.scan_text(values)
    out = _hits_to_findings(artifact, label, hits)
    blanks = shape.blank_hash_rows(values)
    if blanks:
        out.append(make_finding(artifact, label, "hash.blank", blanks))
    return out


def _binary_findings(
    artifact: str, label: str, values: pl.Series, entropy: shape.EntropyResult
) -> list[Finding]:
    """Checks for any binary column: blank digests, bytes that are text, PII in that text.

    Values that are wholly printable are counted (``binary.text``) and scanned; in a
    column whose bytes failed the randomness test, the printable runs inside each value
    are scanned too (a zero-padded address, a box list that was never encrypted).
    """
    out: list[Finding] = []
    blanks = shape.blank_hash_rows(values)
    if blanks:
        out.append(make_finding(artifact, label, "hash.blank", blanks))
    present = values.len() - values.null_count()
    text = detectors.printable_binary(values)
    if not text.is_empty():
        observed = int(text["n"].sum())
        expected = detectors.expected_printable(values)
        if observed > expected + 6 * math.sqrt(expected) + 3:
            out.append(make_finding(artifact, label, "binary.text", observed, "printable text"))
    if not entropy.random:
        text = detectors.embedded_text(values)
    if not text.is_empty():
        out += _hits_to_findings(artifact, label, detectors.scan_counts(text, total_rows=present))
    return out


def _role_findings(
    artifact: str,
    label: str,
    frame: pl.DataFrame,
    column: str,
    rule: ColumnRule,
    context: AuditContext,
    recipe_column: str | None,
    entropy: shape.EntropyResult,
) -> list[Finding]:
    values = frame[column]
    prefix = {Role.TOKEN: "token", Role.REF: "ref", Role.SEALED: "sealed"}[rule.role]
    out: list[Finding] = []
    nulls = values.null_count()
    if nulls and not rule.nullable:
        out.append(make_finding(artifact, label, f"{prefix}.null", nulls))
    if rule.length is not None:
        wrong = shape.wrong_length_rows(values, rule.length)
        if wrong:
            out.append(
                make_finding(
                    artifact, label, f"{prefix}.length", wrong, f"expected {rule.length} bytes"
                )
            )
    if rule.role is Role.SEALED:
        profile = shape.length_profile(values)
        if profile.off_rows:
            out.append(
                make_finding(
                    artifact,
                    label,
                    "sealed.length",
                    profile.off_rows,
                    f"{profile.distinct} lengths",
                )
            )
        elif profile.modal is not None and profile.modal < AEAD_OVERHEAD:
            out.append(
                make_finding(
                    artifact,
                    label,
                    "sealed.length",
                    values.len() - nulls,
                    "shorter than an AEAD blob",
                )
            )
        repeated = shape.repeated_rows(values)
        if repeated:
            out.append(make_finding(artifact, label, "sealed.repeated", repeated))
    if rule.unique:
        repeated = shape.repeated_rows(values)
        if repeated:
            out.append(make_finding(artifact, label, f"{prefix}.unique", repeated))
    if not entropy.random:
        out.append(
            make_finding(
                artifact,
                label,
                f"{prefix}.entropy",
                values.len() - nulls,
                "bytes far from uniform (chi-square test on a sample)",
            )
        )
    if rule.role is Role.TOKEN:
        freq = shape.token_frequency(frame, column, context.frequency_ceiling, recipe_column)
        if freq.over_rows:
            out.append(
                make_finding(
                    artifact,
                    label,
                    "token.frequency",
                    freq.over_rows,
                    f"{freq.over_values} value(s) above the ceiling of {context.frequency_ceiling}",
                )
            )
        if freq.cross_recipe_rows:
            out.append(make_finding(artifact, label, "token.cross_recipe", freq.cross_recipe_rows))
    return out


# --- per kind


def _tokens_findings(artifact: str, frame: pl.DataFrame, context: AuditContext) -> list[Finding]:
    if not context.recipe_names or frame.schema.get("recipe") != pl.String:
        return []
    undeclared = int((~frame["recipe"].is_in(list(context.recipe_names))).sum())
    return (
        [make_finding(artifact, "recipe", "policy.recipe", undeclared, "recipe not declared")]
        if undeclared
        else []
    )


def _aggregate_findings(
    artifact: str, frame: pl.DataFrame, kind: str, agg: Aggregate, context: AuditContext
) -> list[Finding]:
    """Small cells published, and suppressed cells that still carry a figure."""
    k = context.effective_k
    flag = pl.col(agg.flag).fill_null(False)
    figures = [pl.col(c).is_not_null() for c in agg.figures] or [pl.lit(False)]
    row = frame.select(
        under_k=(~flag & (pl.col(agg.count) < k)).sum(),
        leaked=(flag & pl.any_horizontal(figures)).sum(),
        bad_flag=pl.col(agg.flag).is_null().sum(),
    ).row(0, named=True)
    out: list[Finding] = []
    if row["under_k"]:
        note = f"unsuppressed cells under k={k}"
        out.append(make_finding(artifact, agg.count, f"{kind}.k_min", row["under_k"], note))
    if row["leaked"]:
        note = "suppressed cells that still carry a figure"
        out.append(
            make_finding(artifact, agg.count, f"{kind}.suppressed_value", row["leaked"], note)
        )
    if row["bad_flag"]:
        out.append(make_finding(artifact, agg.flag, f"{kind}.domain", row["bad_flag"], "null flag"))
    return out


PART_BANDS = ("light", "medium", "heavy")


def _complementary_findings(
    artifact: str, frame: pl.DataFrame, kind: str, agg: Aggregate, context: AuditContext
) -> list[Finding]:
    """Hidden band cells that the published total and the other bands give away.

    The light, medium and heavy bands split a cell's households, so the band-"all" count
    is the sum of theirs. Where the total is published, the hidden parts together count
    ``total - published parts``; if that lies strictly between 0 and k, a group under k
    has been published by difference. Not applied to differentially private releases,
    whose differences are noisy by design.
    """
    if context.dp_epsilon > 0 or "band" not in frame.columns:
        return []
    keys = [
        c
        for c in frame.columns
        if c not in {*agg.figures, agg.count, agg.flag, "band"}
        and frame.schema[c] in (pl.String, pl.Date, pl.Int16, pl.Int32, pl.Int64)
    ]
    hidden = pl.col(agg.flag).fill_null(True)
    count = pl.col(agg.count)
    is_part = pl.col("band").is_in(list(PART_BANDS))
    is_total = pl.col("band") == "all"
    groups = (
        frame.lazy()
        .group_by(keys)
        .agg(
            total=count.filter(is_total & ~hidden).first(),
            totals=(is_total & ~hidden).sum(),
            parts=is_part.sum(),
            hidden_parts=(is_part & hidden).sum(),
            published=count.filter(is_part & ~hidden).sum(),
        )
        .filter(
            (pl.col("totals") == 1)
            & (pl.col("parts") == len(PART_BANDS))
            & (pl.col("hidden_parts") >= 1)
        )
        .with_columns(derived=pl.col("total") - pl.col("published"))
        .filter((pl.col("derived") > 0.5) & (pl.col("derived") < context.effective_k - 1e-9))
        .select(pl.col("hidden_parts").sum())
        .collect()
    )
    rows = int(groups.item() or 0)
    if not rows:
        return []
    note = "hidden band cells recoverable from the band total"
    return [make_finding(artifact, agg.count, f"{kind}.complementary", rows, note)]


def _domain_findings(
    artifact: str, frame: pl.DataFrame, kind: str, context: AuditContext
) -> list[Finding]:
    """Aggregate keys outside their vocabulary: bands, quarter-hours, declared segments."""
    checks: list[tuple[str, pl.Expr, str]] = []
    if frame.schema.get("band") == pl.String:
        checks.append(("band", ~pl.col("band").is_in(sorted(BANDS)), "unknown band"))
    if "quarter_hour" in frame.columns and frame.schema["quarter_hour"].is_integer():
        qh = ~pl.col("quarter_hour").is_between(*QUARTER_HOURS)
        checks.append(("quarter_hour", qh, "outside 0..95"))
    if context.segment_labels and frame.schema.get("segment") == pl.String:
        known = ~pl.col("segment").is_in([*context.segment_labels, "all"])
        checks.append(("segment", known, "undeclared segment"))
    out: list[Finding] = []
    for column, bad, note in checks:
        n = int(frame.select((bad | pl.col(column).is_null()).sum()).item())
        if n:
            out.append(make_finding(artifact, column, f"{kind}.domain", n, note))
    return out


def _match_report_findings(
    artifact: str, frame: pl.DataFrame, context: AuditContext
) -> list[Finding]:
    out: list[Finding] = []
    if frame.height > context.max_report_rows:
        out.append(
            make_finding(
                artifact,
                NO_COLUMN,
                "match_report.row_count",
                frame.height,
                f"more than {context.max_report_rows} rows",
            )
        )
    for column in ("section", "name"):
        if frame.schema.get(column) != pl.String:
            continue
        text = pl.col(column)
        b64 = (
            text.str.contains(_BASE64_ID)
            & text.str.contains("[0-9]")
            & text.str.contains("[A-Z]")
            & text.str.contains("[a-z]")
        )
        record_like = pl.any_horizontal([text.str.contains(p) for p in _RECORD_LIKE] + [b64])
        rows = int(frame.select(record_like.fill_null(False).sum()).item())
        if rows:
            out.append(
                make_finding(
                    artifact,
                    column,
                    "match_report.per_record",
                    rows,
                    "identifier-like metric names",
                )
            )
    return out


_BINARY_ROLES = (Role.TOKEN, Role.REF, Role.SEALED)

_KIND_CHECKS = {
    "tokens": _tokens_findings,
    "match_report": _match_report_findings,
}


def audit_frame(
    frame: pl.DataFrame, *, artifact: str, kind: str | None, context: AuditContext
) -> list[Finding]:
    """Every content check of one artifact frame; ``kind`` None: detectors only."""
    policy = POLICIES.get(kind) if kind else None
    schema = frame.schema
    labels = {c: column_label(c, i) for i, c in enumerate(frame.columns)}
    out = scan_names(artifact, frame.columns, policy)
    conforming: set[str] = set()
    if policy is not None:
        for name, dtype in policy.contract.items():
            if name not in schema:
                out.append(make_finding(artifact, name, "policy.columns", 1, "missing column"))
            elif schema[name] != dtype:
                out.append(
                    make_finding(
                        artifact,
                        name,
                        "policy.dtype",
                        frame.height,
                        f"{schema[name]}, expected {dtype}",
                    )
                )
            else:
                conforming.add(name)
        for name in frame.columns:
            if name not in policy.contract:
                count = frame.height - frame[name].null_count()
                out.append(
                    make_finding(
                        artifact,
                        labels[name],
                        "policy.columns",
                        count,
                        "column not in the contract",
                    )
                )
    recipe_column = "recipe" if "recipe" in conforming and kind == "tokens" else None
    for name in frame.columns:
        label = labels[name]
        values = frame[name]
        rule = policy.columns.get(name) if policy is not None and name in conforming else None
        dtype = values.dtype
        entropy = shape.byte_entropy(values) if dtype == pl.Binary else None
        if entropy is not None and rule is not None and rule.role in _BINARY_ROLES:
            out += _role_findings(
                artifact, label, frame, name, rule, context, recipe_column, entropy
            )
        if entropy is not None:
            out += _binary_findings(artifact, label, values, entropy)
        elif dtype == pl.String or (dtype.is_integer() and rule is None):
            out += _text_findings(artifact, label, values)
        elif dtype.is_temporal() and rule is None:
            years = values.dt.year()
            born = int(years.is_between(1900, 2009).sum())
            if born:
                out.append(
                    make_finding(artifact, label, detectors.DATE, born, "dates in a date column")
                )
    if policy is None or kind is None or conforming != set(policy.contract):
        return out
    if kind in _KIND_CHECKS:
        out += _KIND_CHECKS[kind](artifact, frame, context)
    if policy.aggregate is not None:
        out += _aggregate_findings(artifact, frame, kind, policy.aggregate, context)
        out += _complementary_findings(artifact, frame, kind, policy.aggregate, context)
        out += _domain_findings(artifact, frame, kind, context)
    return out
