"""The frame contracts: column names and dtypes of every frame that crosses a module or
party boundary. Checked where data enters a module (``check_frame``).

Artifacts (Parquet + signed manifest), by kind, producer → recipients:

``tokens``            campaign|operator → matcher     one row per (record, recipe, token)
``campaign_payloads`` campaign → matcher              one row per campaign record
``operator_payloads`` operator → matcher              one row per operator account
``households``        matcher → measurement           one row per matched household
``members``           matcher → measurement           one row per matched voter
``match_report``      matcher → campaign, operator    aggregate metrics only
``viewership``        measurement → campaign          aggregate cells only
``segment_summary``   measurement → campaign          matched households per segment

A ``ref`` is a fresh random 16-byte reference per record and engagement: the crosswalk to
the party's own IDs never leaves the party. A ``household`` is a fresh random 16-byte
reference minted by the matcher. Tokens are 32 raw bytes (HMAC-SHA256).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from hashing.errors import InputError
from linkage.measure import schema as _measure_schema

REF_BYTES = 16
TOKEN_BYTES = 32

TOKENS: dict[str, pl.DataType] = {
    "ref": pl.Binary(),
    "recipe": pl.String(),
    "token": pl.Binary(),
}
CAMPAIGN_PAYLOADS: dict[str, pl.DataType] = {
    "ref": pl.Binary(),
    "sealed_segments": pl.Binary(),
    # keyed token of the voter's normalized home address: voters sharing it live together.
    # Null where the address is missing.
    "group": pl.Binary(),
}
OPERATOR_PAYLOADS: dict[str, pl.DataType] = {
    "ref": pl.Binary(),
    "sealed_boxes": pl.Binary(),
}
HOUSEHOLDS: dict[str, pl.DataType] = {
    "household": pl.Binary(),
    "sealed_boxes": pl.Binary(),
}
MEMBERS: dict[str, pl.DataType] = {
    "household": pl.Binary(),
    "sealed_segments": pl.Binary(),
}
MATCH_REPORT: dict[str, pl.DataType] = {
    "section": pl.String(),  # e.g. "summary", "recipe", "pattern", "unmatched", "weights"
    "name": pl.String(),  # metric name within the section
    "value": pl.Float64(),
}
# Measurement's published frames are defined next to the code that builds them.
VIEWERSHIP = _measure_schema.VIEWERSHIP
SEGMENT_SUMMARY = _measure_schema.SEGMENT_SUMMARY

CONTRACTS: dict[str, Mapping[str, pl.DataType]] = {
    "tokens": TOKENS,
    "campaign_payloads": CAMPAIGN_PAYLOADS,
    "operator_payloads": OPERATOR_PAYLOADS,
    "households": HOUSEHOLDS,
    "members": MEMBERS,
    "match_report": MATCH_REPORT,
    "viewership": VIEWERSHIP,
    "segment_summary": SEGMENT_SUMMARY,
}


def check_frame(frame: pl.DataFrame | pl.LazyFrame, kind: str) -> None:
    """Raise ``InputError`` unless ``frame`` has exactly the columns and dtypes of ``kind``."""
    expected = CONTRACTS[kind]
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    problems = [f"missing column '{name}'" for name in expected if name not in schema] + [
        f"unexpected column '{name}'" for name in schema if name not in expected
    ]
    problems += [
        f"column '{name}' is {schema[name]}, expected {dtype}"
        for name, dtype in expected.items()
        if name in schema and schema[name] != dtype
    ]
    if problems:
        raise InputError(f"{kind} frame does not match its contract: " + "; ".join(problems))
