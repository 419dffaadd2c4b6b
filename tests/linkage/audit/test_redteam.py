"""The red-team corpus: each case leaks in its own way, and the right check must say so.

Every case starts from the clean world (which audits clean, see ``test_clean_world``),
changes one thing, writes and signs the artifacts for real, and audits them. The test
asserts the named check fires on the named artifact (and column, where it matters), that
nothing else in the exchange is blamed, and that no planted value appears anywhere in the
report, text or JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from hashing.engagement import Recipe, lint_recipe
from hashing.keys import PartyIdentity
from linkage.audit import AuditReport, audit_exchange, audit_paths
from tests.linkage.audit import world as w

Mutate = Callable[[w.World], list[str]]  # returns the planted values (never to be reported)


@dataclass(frozen=True)
class Case:
    """One way to leak and the check that must catch it."""

    id: str
    target: str  # the artifact (name without .parquet) the finding must be on
    check: str
    mutate: Mutate
    column: str | None = None
    exchange: bool = False  # engagement-wide audit of every artifact
    source: bool = False  # the auditor is shown the parties' inputs
    context: dict[str, Any] = field(default_factory=dict)
    also_blamed: tuple[str, ...] = ()  # other artifacts legitimately named by findings


def _art(world: w.World, name: str) -> w.Artifact:
    return world.artifacts[name]


def _add(world: w.World, name: str, column: str, values: list[Any] | pl.Series) -> None:
    art = _art(world, name)
    n = art.frame.height
    series = values if isinstance(values, pl.Series) else pl.Series(values)
    reps = -(-n // len(series))
    art.frame = art.frame.with_columns(pl.concat([series] * reps)[:n].alias(column))


def _voters(world: w.World, column: str) -> list[str]:
    return world.people.voters[column].to_list()


def _subscribers(world: w.World, column: str) -> list[str]:
    return world.people.subscribers[column].to_list()


def _set_recipe_tokens(world: w.World, name: str, recipe: str, values: list[bytes]) -> None:
    art = _art(world, name)
    frame = art.frame.with_row_index("i")
    idx = frame.filter(pl.col("recipe") == recipe)["i"].to_numpy()
    new = art.frame["token"].to_list()
    for j, i in enumerate(idx):
        new[i] = values[j % len(values)]
    art.frame = art.frame.with_columns(pl.Series("token", new, dtype=pl.Binary))


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


# --- the cases ---------------------------------------------------------------------------


def name_column_left_in(world: w.World) -> list[str]:
    names = _voters(world, "LAST_NAME")
    _add(world, "campaign.tokens", "LAST_NAME", names)
    return names


def emails_in_free_text(world: w.World) -> list[str]:
    emails = _subscribers(world, "email")
    _add(world, "operator.payloads", "note", [f"renewal due, write to {e} first" for e in emails])
    return emails


def sha256_of_emails(world: w.World) -> list[str]:
    emails = _voters(world, "EMAIL")
    _set_recipe_tokens(
        world, "campaign.tokens", "email", [hashlib.sha256(e.encode()).digest() for e in emails]
    )
    return [hashlib.sha256(e.encode()).hexdigest() for e in emails] + emails


def md5_of_phones(world: w.World) -> list[str]:
    phones = _subscribers(world, "phone")
    _set_recipe_tokens(
        world,
        "operator.tokens",
        "phone",
        [hashlib.md5(_digits(p).encode()).digest() for p in phones],
    )
    return phones


def base64_of_phones(world: w.World) -> list[str]:
    phones = _subscribers(world, "phone")
    encoded = [base64.b64encode(_digits(p).encode()).decode() for p in phones]
    _add(world, "operator.payloads", "contact", encoded)
    return phones + encoded


def hex_encoded_names(world: w.World) -> list[str]:
    names = _subscribers(world, "holder_name")
    encoded = [n.encode().hex() for n in names]
    _add(world, "matcher.households", "label", encoded)
    return names + encoded


def url_encoded_emails(world: w.World) -> list[str]:
    emails = _voters(world, "EMAIL")
    encoded = [urllib.parse.quote(e) for e in emails]
    _add(world, "campaign.payloads", "redirect", encoded)
    return emails + encoded


def ssns(world: w.World) -> list[str]:
    rng = np.random.default_rng(3)
    values = [
        f"{a:03d}-{b:02d}-{c:04d}"
        for a, b, c in rng.integers([100, 10, 1000], [899, 99, 9999], (50, 3))
    ]
    _add(world, "campaign.tokens", "misc", values)
    return values


def dobs_as_strings(world: w.World) -> list[str]:
    dobs = _voters(world, "BIRTH_DATE")
    _add(world, "campaign.payloads", "extra_info", dobs)
    return dobs


def street_addresses(world: w.World) -> list[str]:
    addresses = _subscribers(world, "service_address")
    _add(world, "operator.payloads", "svc", addresses)
    return addresses


def hash_of_blank(world: w.World) -> list[str]:
    art = _art(world, "campaign.tokens")
    blank = hashlib.sha256(b"").digest()
    art.frame = art.frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 3)
        .then(pl.lit(blank))
        .otherwise(pl.col("token"))
        .alias("token")
    )
    return []


def repeated_token(world: w.World) -> list[str]:
    art = _art(world, "campaign.tokens")
    handle = b"\x17" * 32
    art.frame = art.frame.with_columns(
        pl.when((pl.col("recipe") == "phone") & (pl.int_range(pl.len()) % 5 == 0))
        .then(pl.lit(handle))
        .otherwise(pl.col("token"))
        .alias("token")
    )
    return []


def sixteen_byte_tokens(world: w.World) -> list[str]:
    art = _art(world, "operator.tokens")
    rng = np.random.default_rng(9)
    art.frame = art.frame.with_columns(w.random_binary(rng, art.frame.height, 16).alias("token"))
    return []


def constant_sealed(world: w.World) -> list[str]:
    art = _art(world, "matcher.members")
    blob = np.random.default_rng(1).bytes(w.SEALED_LABELS_LEN)
    art.frame = art.frame.with_columns(pl.lit(blob).alias("sealed_segments"))
    return []


def sealed_of_varying_length(world: w.World) -> list[str]:
    art = _art(world, "matcher.households")
    rng = np.random.default_rng(2)
    blobs = [rng.bytes(int(n)) for n in rng.integers(40, 300, art.frame.height)]
    art.frame = art.frame.with_columns(pl.Series("sealed_boxes", blobs, dtype=pl.Binary))
    return []


def small_cell(world: w.World) -> list[str]:
    art = _art(world, "measurement.viewership")
    first = pl.int_range(pl.len()) == 0
    art.frame = art.frame.with_columns(
        pl.when(first).then(3.0).otherwise(pl.col("reach")).alias("reach"),
        pl.when(first).then(False).otherwise(pl.col("suppressed")).alias("suppressed"),
    )
    return []


def suppressed_cell_with_value(world: w.World) -> list[str]:
    art = _art(world, "measurement.viewership")
    art.frame = art.frame.with_columns(
        pl.when(pl.col("suppressed")).then(7.0).otherwise(pl.col("reach")).alias("reach")
    )
    return []


def band_cell_recoverable_by_difference(world: w.World) -> list[str]:
    # one group: total 220 published, light (20) hidden, medium and heavy published
    art = _art(world, "measurement.viewership")
    group = (
        (pl.col("segment") == "persuadable")
        & pl.col("day").is_null()
        & (pl.col("channel") == "CH01")
        & (pl.col("quarter_hour") == 28)
    )
    reach = {"all": 220.0, "light": 20.0, "medium": 100.0, "heavy": 100.0}
    new_reach = pl.col("band").replace_strict(reach, return_dtype=pl.Float64)
    hidden = pl.col("band") == "light"
    figures = ("reach", "audience", "rating", "share")
    art.frame = art.frame.with_columns(
        pl.when(group).then(hidden).otherwise(pl.col("suppressed")).alias("suppressed"),
        *[
            pl.when(group & hidden)
            .then(None)
            .when(group)
            .then(new_reach)
            .otherwise(pl.col(c))
            .alias(c)
            for c in figures
        ],
    )
    return []


def small_segment_summary_cell(world: w.World) -> list[str]:
    art = _art(world, "measurement.segments")
    art.frame = art.frame.with_columns(
        pl.col("households").fill_null(12.0), pl.lit(False).alias("suppressed")
    )
    return []


def other_engagement(world: w.World) -> list[str]:
    _art(world, "matcher.report").engagement_id = "another-engagement-2025"
    return []


def wrong_recipient(world: w.World) -> list[str]:
    _art(world, "matcher.members").recipients = ["campaign"]
    return []


def _edit_manifest(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    manifest = path.with_name(path.name.removesuffix(".parquet") + ".manifest.json")
    data = json.loads(manifest.read_text())
    change(data)
    manifest.write_text(json.dumps(data))


def tampered_digest(world: w.World) -> list[str]:
    def tamper(path: Path) -> None:
        _edit_manifest(path, lambda m: m.update(sha256="0" * 64))

    _art(world, "operator.payloads").after_write = tamper
    return []


def forged_signature(world: w.World) -> list[str]:
    def forge(path: Path) -> None:
        _edit_manifest(path, lambda m: m.update(signature=base64.b64encode(b"\x01" * 64).decode()))

    _art(world, "campaign.payloads").after_write = forge
    return []


def missing_manifest(world: w.World) -> list[str]:
    def drop(path: Path) -> None:
        path.with_name(path.name.removesuffix(".parquet") + ".manifest.json").unlink()

    _art(world, "matcher.households").after_write = drop
    return []


def box_id_in_clear(world: w.World) -> list[str]:
    boxes = _subscribers(world, "box_id")
    _add(world, "matcher.households", "box_id", boxes)
    return boxes


def campaign_ref_in_members(world: w.World) -> list[str]:
    refs = _art(world, "campaign.payloads").frame["ref"]
    _add(world, "matcher.members", "ref", refs)
    return []


def voter_id_column(world: w.World) -> list[str]:
    ids = _voters(world, "VOTER_ID")
    _add(world, "campaign.tokens", "voter_id", ids)
    return ids


def per_record_match_report(world: w.World) -> list[str]:
    art = _art(world, "matcher.report")
    refs = _art(world, "campaign.payloads").frame["ref"].to_list()
    rows = pl.DataFrame(
        {
            "section": ["match"] * len(refs),
            "name": [r.hex() for r in refs],
            "value": [1.0] * len(refs),
        }
    )
    art.frame = pl.concat([art.frame, rows])
    return [r.hex() for r in refs]


def pii_in_manifest_extra(world: w.World) -> list[str]:
    email = _voters(world, "EMAIL")[0]
    _art(world, "campaign.tokens").extra = {"tool": "blindlink", "contact": email}
    return [email]


def sha1_of_normalized_names(world: w.World) -> list[str]:
    names = [n.strip().lower() for n in _voters(world, "LAST_NAME")]
    _set_recipe_tokens(
        world, "campaign.tokens", "last_address", [hashlib.sha1(n.encode()).digest() for n in names]
    )
    return names


def hex_text_stored_as_bytes(world: w.World) -> list[str]:
    art = _art(world, "operator.tokens")
    art.frame = art.frame.with_columns(
        pl.col("token").bin.encode("hex").str.slice(0, 32).cast(pl.Binary).alias("token")
    )
    return []


def plaintext_in_sealed_column(world: w.World) -> list[str]:
    # "sealed" labels that are really the plaintext, one per voter (so all distinct)
    art = _art(world, "matcher.members")
    rng = np.random.default_rng(4)
    labels = [
        f"{','.join(w.SEGMENTS[: int(k)])}|{i}".ljust(w.SEALED_LABELS_LEN).encode()
        for i, k in enumerate(rng.integers(1, 5, art.frame.height))
    ]
    art.frame = art.frame.with_columns(pl.Series("sealed_segments", labels, dtype=pl.Binary))
    return []


def box_list_in_the_clear(world: w.World) -> list[str]:
    # the operator's box IDs in the slot layout, never encrypted
    art = _art(world, "operator.payloads")
    boxes = _subscribers(world, "box_id")
    slots = [
        (bytes([len(b)]) + b.encode().ljust(32, b"\0")).ljust(w.SEALED_BOXES_LEN, b"\0")
        for b in boxes[: art.frame.height]
    ]
    art.frame = art.frame.with_columns(pl.Series("sealed_boxes", slots, dtype=pl.Binary))
    return boxes


def zero_padded_emails_in_sealed(world: w.World) -> list[str]:
    art = _art(world, "campaign.payloads")
    emails = _voters(world, "EMAIL")
    blobs = [e.encode().ljust(w.SEALED_LABELS_LEN, b"\0") for e in emails[: art.frame.height]]
    art.frame = art.frame.with_columns(pl.Series("sealed_segments", blobs, dtype=pl.Binary))
    return emails


def tokens_as_hex_strings(world: w.World) -> list[str]:
    art = _art(world, "operator.tokens")
    art.frame = art.frame.with_columns(pl.col("token").bin.encode("hex"))
    return []


def phone_in_report_names(world: w.World) -> list[str]:
    art = _art(world, "matcher.report")
    phone = "+1" + _digits(_subscribers(world, "phone")[0])
    art.frame = pl.concat(
        [art.frame, pl.DataFrame({"section": ["contact"], "name": [phone], "value": [1.0]})]
    )
    return [phone]


def email_as_column_name(world: w.World) -> list[str]:
    email = _voters(world, "EMAIL")[1]
    _add(world, "matcher.households", email, [1.0])
    return [email]


def emails_as_bytes_in_group(world: w.World) -> list[str]:
    art = _art(world, "campaign.payloads")
    emails = _voters(world, "EMAIL")
    padded = [e.encode().ljust(32, b" ")[:32] for e in emails]
    art.frame = art.frame.with_columns(
        pl.Series("group", padded[: art.frame.height], dtype=pl.Binary)
    )
    return emails


def tokens_shared_across_recipes(world: w.World) -> list[str]:
    art = _art(world, "campaign.tokens")
    email = art.frame.filter(pl.col("recipe") == "email").select("ref", pl.col("token").alias("t"))
    art.frame = (
        art.frame.join(email, on="ref", how="left")
        .with_columns(
            pl.when(pl.col("recipe") == "phone")
            .then(pl.col("t"))
            .otherwise(pl.col("token"))
            .fill_null(pl.col("token"))
            .alias("token")
        )
        .drop("t")
    )
    return []


def repeated_refs(world: w.World) -> list[str]:
    art = _art(world, "operator.payloads")
    art.frame = art.frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 10)
        .then(pl.col("ref").first())
        .otherwise(pl.col("ref"))
        .alias("ref")
    )
    return []


def undeclared_recipe(world: w.World) -> list[str]:
    art = _art(world, "campaign.tokens")
    art.frame = art.frame.with_columns(
        pl.when(pl.col("recipe") == "phonetic")
        .then(pl.lit("last_name_only"))
        .otherwise(pl.col("recipe"))
        .alias("recipe")
    )
    return []


def mac_addresses(world: w.World) -> list[str]:
    rng = np.random.default_rng(8)
    macs = [":".join(f"{b:02x}" for b in rng.bytes(6)) for _ in range(50)]
    _add(world, "matcher.households", "hw", macs)
    return macs


def base64_sha256_of_emails(world: w.World) -> list[str]:
    emails = _subscribers(world, "email")
    encoded = [base64.b64encode(hashlib.sha256(e.encode()).digest()).decode() for e in emails]
    _add(world, "operator.payloads", "h", encoded)
    return emails + encoded


def household_ref_is_campaign_ref(world: w.World) -> list[str]:
    members = _art(world, "matcher.members")
    refs = _art(world, "campaign.payloads").frame["ref"][: members.frame.height]
    members.frame = members.frame.with_columns(refs.alias("household"))
    return []


def measurement_gets_tokens(world: w.World) -> list[str]:
    _art(world, "operator.tokens").recipients = ["matcher", "measurement"]
    return []


def viewing_log_to_matcher(world: w.World) -> list[str]:
    rng = np.random.default_rng(6)
    log = pl.DataFrame(
        {"box": w.random_binary(rng, 100, 16), "channel": ["CH01"] * 100, "minutes": [5] * 100}
    )
    world.artifacts["measurement.log"] = w.Artifact(
        "measurement.log", "viewing_log", "measurement", ["matcher"], log
    )
    return []


def quarter_hour_out_of_range(world: w.World) -> list[str]:
    art = _art(world, "measurement.viewership")
    art.frame = art.frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 4)
        .then(pl.lit(120, dtype=pl.Int16))
        .otherwise(pl.col("quarter_hour"))
        .alias("quarter_hour")
    )
    return []


def dob_date_column(world: w.World) -> list[str]:
    dobs = pl.Series(_voters(world, "BIRTH_DATE")).str.to_date("%m/%d/%Y")
    _add(world, "matcher.members", "d", dobs)
    return []


def copied_artifact(world: w.World) -> list[str]:
    def copy(path: Path) -> None:
        for suffix in (".parquet", ".manifest.json"):
            src = path.with_name("matcher.report" + suffix)
            shutil.copy(src, path.with_name("matcher.report-copy" + suffix))

    _art(world, "matcher.report").after_write = copy
    return []


CASES = [
    Case(
        "name column left in",
        "campaign.tokens",
        "pii.name",
        name_column_left_in,
        column="LAST_NAME",
    ),
    Case(
        "emails in a free-text column",
        "operator.payloads",
        "pii.email",
        emails_in_free_text,
        column="note",
    ),
    Case(
        "sha-256 of emails",
        "campaign.tokens",
        "source.sha256",
        sha256_of_emails,
        column="token",
        source=True,
    ),
    Case(
        "md5 of phones", "operator.tokens", "source.md5", md5_of_phones, column="token", source=True
    ),
    Case(
        "base64 of phone numbers",
        "operator.payloads",
        "pii.phone.base64",
        base64_of_phones,
        column="contact",
    ),
    Case(
        "hex-encoded names", "matcher.households", "pii.name.hex", hex_encoded_names, column="label"
    ),
    Case(
        "url-encoded emails",
        "campaign.payloads",
        "pii.email.url",
        url_encoded_emails,
        column="redirect",
    ),
    Case("ssns", "campaign.tokens", "pii.ssn", ssns, column="misc"),
    Case("dobs as strings", "campaign.payloads", "pii.date", dobs_as_strings, column="extra_info"),
    Case("street addresses", "operator.payloads", "pii.address", street_addresses, column="svc"),
    Case("hash of a blank", "campaign.tokens", "hash.blank", hash_of_blank, column="token"),
    Case(
        "token repeated past the ceiling",
        "campaign.tokens",
        "token.frequency",
        repeated_token,
        column="token",
    ),
    Case("16-byte tokens", "operator.tokens", "token.length", sixteen_byte_tokens, column="token"),
    Case(
        "constant sealed column",
        "matcher.members",
        "sealed.repeated",
        constant_sealed,
        column="sealed_segments",
    ),
    Case(
        "sealed blobs of varying length",
        "matcher.households",
        "sealed.length",
        sealed_of_varying_length,
        column="sealed_boxes",
    ),
    Case(
        "viewership cell of 3",
        "measurement.viewership",
        "viewership.k_min",
        small_cell,
        column="reach",
    ),
    Case(
        "suppressed cell keeps its value",
        "measurement.viewership",
        "viewership.suppressed_value",
        suppressed_cell_with_value,
    ),
    Case(
        "band cell recoverable by difference",
        "measurement.viewership",
        "viewership.complementary",
        band_cell_recoverable_by_difference,
        column="reach",
    ),
    Case(
        "segment summary cell of 12",
        "measurement.segments",
        "segment_summary.k_min",
        small_segment_summary_cell,
        column="households",
    ),
    Case(
        "manifest of another engagement", "matcher.report", "manifest.engagement", other_engagement
    ),
    Case("wrong recipient", "matcher.members", "manifest.recipient", wrong_recipient),
    Case("tampered digest", "operator.payloads", "manifest.digest", tampered_digest),
    Case("forged signature", "campaign.payloads", "manifest.signature", forged_signature),
    Case("missing manifest", "matcher.households", "manifest.missing", missing_manifest),
    Case(
        "box id in the clear",
        "matcher.households",
        "pii.column_name",
        box_id_in_clear,
        column="box_id",
    ),
    Case(
        "campaign ref in members",
        "matcher.members",
        "policy.columns",
        campaign_ref_in_members,
        column="ref",
    ),
    Case(
        "campaign ref in members, across artifacts",
        "matcher.members",
        "exchange.ref_reuse",
        campaign_ref_in_members,
        column="ref",
        exchange=True,
    ),
    Case(
        "column named voter_id",
        "campaign.tokens",
        "pii.column_name",
        voter_id_column,
        column="voter_id",
    ),
    Case(
        "match report with per-record rows",
        "matcher.report",
        "match_report.per_record",
        per_record_match_report,
        column="name",
    ),
    Case(
        "pii in manifest extra",
        "campaign.tokens",
        "pii.email",
        pii_in_manifest_extra,
        column="manifest.extra",
    ),
    Case(
        "sha-1 of normalized names",
        "campaign.tokens",
        "source.sha1",
        sha1_of_normalized_names,
        column="token",
        source=True,
    ),
    Case(
        "ascii hex stored as token bytes",
        "operator.tokens",
        "token.entropy",
        hex_text_stored_as_bytes,
        column="token",
    ),
    Case(
        "plaintext in a sealed column",
        "matcher.members",
        "sealed.entropy",
        plaintext_in_sealed_column,
        column="sealed_segments",
    ),
    Case(
        "box list sealed in the clear",
        "operator.payloads",
        "sealed.entropy",
        box_list_in_the_clear,
        column="sealed_boxes",
    ),
    Case(
        "zero-padded emails in a sealed column",
        "campaign.payloads",
        "pii.email",
        zero_padded_emails_in_sealed,
        column="sealed_segments",
    ),
    Case(
        "tokens as hex strings",
        "operator.tokens",
        "policy.dtype",
        tokens_as_hex_strings,
        column="token",
    ),
    Case(
        "phone in report names", "matcher.report", "pii.phone", phone_in_report_names, column="name"
    ),
    Case(
        "email as a column name",
        "matcher.households",
        "pii.email",
        email_as_column_name,
        column="-",
    ),
    Case(
        "emails as bytes in group",
        "campaign.payloads",
        "pii.email",
        emails_as_bytes_in_group,
        column="group",
    ),
    Case(
        "one token under two recipes",
        "campaign.tokens",
        "token.cross_recipe",
        tokens_shared_across_recipes,
        column="token",
    ),
    Case(
        "repeated refs in payloads", "operator.payloads", "ref.unique", repeated_refs, column="ref"
    ),
    Case(
        "undeclared recipe", "campaign.tokens", "policy.recipe", undeclared_recipe, column="recipe"
    ),
    Case("mac addresses", "matcher.households", "pii.device_id", mac_addresses, column="hw"),
    Case(
        "base64 of sha-256 of emails",
        "operator.payloads",
        "source.sha256",
        base64_sha256_of_emails,
        column="h",
        source=True,
    ),
    Case(
        "household ref is a campaign ref",
        "matcher.members",
        "exchange.ref_reuse",
        household_ref_is_campaign_ref,
        column="household",
        exchange=True,
        also_blamed=("matcher.members",),
    ),
    Case(
        "measurement receives tokens",
        "operator.tokens",
        "exchange.graph",
        measurement_gets_tokens,
        exchange=True,
    ),
    Case(
        "viewing log sent to the matcher",
        "measurement.log",
        "exchange.graph",
        viewing_log_to_matcher,
        exchange=True,
    ),
    Case(
        "quarter-hour out of range",
        "measurement.viewership",
        "viewership.domain",
        quarter_hour_out_of_range,
        column="quarter_hour",
    ),
    Case(
        "dates of birth as a date column",
        "matcher.members",
        "pii.date",
        dob_date_column,
        column="d",
    ),
    Case(
        "artifact delivered twice",
        "matcher.report",
        "exchange.duplicate_artifact",
        copied_artifact,
        exchange=True,
        also_blamed=("matcher.report-copy",),
    ),
    Case(
        "k_min below the floor",
        "engagement",
        "engagement.k_min",
        lambda world: [],
        exchange=True,
        context={"k_min": 5},
    ),
    Case(
        "weak recipe",
        "engagement",
        "engagement.recipe_lint",
        lambda world: [],
        exchange=True,
        context={"recipes": (Recipe(name="zip_only", fields=("zip",)),)},
    ),
]


def _audit(case: Case, world: w.World, tmp_path: Path) -> AuditReport:
    world.write(tmp_path / "out")
    sources = world.write_sources(tmp_path / "src") if case.source else ()
    ctx = w.context(**case.context)
    if case.exchange:
        return audit_exchange([tmp_path / "out"], context=ctx, sources=sources)
    target = tmp_path / "out" / f"{case.target}.parquet"
    return audit_paths([target], context=ctx, sources=sources)


def test_the_corpus_is_big_and_varied() -> None:
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({c.check for c in CASES}) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_leak_is_caught_by_the_right_check(case: Case, tmp_path: Path) -> None:
    world = w.clean_world()
    planted = case.mutate(world)
    report = _audit(case, world, tmp_path)
    target = case.target if case.target == "engagement" else f"{case.target}.parquet"
    hits = [f for f in report.findings if f.check == case.check and f.artifact == target]
    assert hits, f"{case.check} not reported on {target}: {sorted(report.checks())}"
    if case.column is not None:
        assert case.column in {f.column for f in hits}
    assert all(f.count >= 1 for f in report.findings)
    assert report.exit_code in (1, 2)
    blamed = {f.artifact for f in report.findings}
    expected = {target, "engagement"} | {f"{a}.parquet" for a in case.also_blamed}
    assert blamed <= expected, f"unrelated artifacts blamed: {sorted(blamed - expected)}"
    text, js = report.to_text(), report.to_json()
    leaked = [v for v in planted if len(v) >= 6 and (v in text or v in js)]
    assert leaked == [], "the report repeats a planted value"


def test_a_second_key_for_one_producer_is_caught(tmp_path: Path) -> None:
    world = w.clean_world()
    paths = world.write(tmp_path / "out")
    art = world.artifacts["campaign.payloads"]
    from hashing.artifacts import write_artifact

    write_artifact(
        art.frame,
        tmp_path / "out",
        "campaign.payloads2",
        kind=art.kind,
        engagement_id=w.ENGAGEMENT,
        producer=PartyIdentity.generate("campaign"),
        recipients=art.recipients,
    )
    paths.append(tmp_path / "out" / "campaign.payloads2.parquet")
    report = audit_exchange(paths, context=w.context())
    checks = {(f.artifact, f.check) for f in report.findings}
    assert ("campaign.payloads2.parquet", "exchange.fingerprint") in checks
    # the real verifier refuses it too: signed by a key that is not the campaign's
    assert ("campaign.payloads2.parquet", "manifest.signature") in checks


def test_the_weak_recipe_really_is_weak() -> None:
    # guards the case above against a lint that would pass anything
    assert lint_recipe(Recipe(name="zip_only", fields=("zip",))) is not None
