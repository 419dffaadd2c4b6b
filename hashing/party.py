"""The list owners' job: a party's own file → token and payload artifacts for the matcher.

``run_party`` is what ``link --role campaign`` and ``link --role operator`` call. It reads
the party's input through the engagement's mapping, normalizes it, gives every record a
fresh random reference, computes the recipe tokens, seals what measurement needs (segment
labels from the campaign, box lists from the operator), and writes two signed artifacts
into the outbox. The crosswalk (reference → the party's own ID) and the quarantine (rows
that could not be used, with reason codes) are written to ``private/`` only.

Counts always reconcile: rows in = rows tokenized + rows quarantined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from hashing import _crypto
from hashing.canonical import canonicalize, usable_mask
from hashing.engagement import Engagement
from hashing.engagement_model import CampaignInput, OperatorInput, Recipe
from hashing.errors import InputError, PolicyError
from hashing.keys import PartyIdentity, PublicBundle, link_secret, recipe_key, seal_key
from hashing.seal import seal_box_lists, seal_labels
from hashing.tokens import tokenize
from hashing.workspace import Workspace

LIST_OWNERS = ("campaign", "operator")
REF_BYTES = 16
TRUTHY = ("1", "Y", "YES", "T", "TRUE", "X")
MAX_BOX_ID_BYTES = 32
# The campaign's household-group token: the same normalized home address, under its own key.
GROUP_RECIPE = Recipe(
    name="household_group",
    fields=("house_number", "street", "unit", "zip"),
    optional=("unit",),
    level="household",
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PartySummary:
    """What a list owner's run did, in counts only (safe to print and log)."""

    role: str
    rows_in: int
    rows_tokenized: int
    rows_quarantined: int
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    tokens_per_recipe: dict[str, int] = field(default_factory=dict)
    dropped_by_frequency_guard: dict[str, int] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.rows_tokenized + self.rows_quarantined


def random_refs(n: int) -> pl.Series:
    """``n`` fresh random 16-byte references (unique; checked, not assumed)."""
    while True:
        buf = _crypto.random_bytes(REF_BYTES * n) if n else b""
        arr = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(REF_BYTES), n, [None, pa.py_buffer(buf)]
        )
        refs = pl.Series("ref", arr).cast(pl.Binary)
        if refs.n_unique() == n:
            return refs


def shuffled(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``frame`` in a uniformly random order (permutation seeded by the OS CSPRNG)."""
    seed = int.from_bytes(_crypto.random_bytes(16), "big")
    keys = np.random.default_rng(seed).integers(0, 2**63, frame.height, dtype=np.int64)
    # Sorting by random keys is several times faster in polars than gathering by a
    # permutation of the same length.
    return frame.with_columns(pl.Series("_shuffle", keys)).sort("_shuffle").drop("_shuffle")


def read_input(path: Path, mapping: CampaignInput | OperatorInput) -> pl.DataFrame:
    """Read a party's file as declared (every CSV column as text) with a 1-based ``_row``.

    Invalid bytes for the declared encoding are replaced, and such rows are quarantined
    later as ``bad_encoding`` — the run never fails on one bad row, and never prints it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: input file not found")
    fmt = mapping.file_format(path)
    try:
        if fmt == "parquet":
            frame = pl.read_parquet(path)
        else:
            raw = path.read_bytes()
            enc = mapping.encoding.lower().replace("_", "-")
            if enc not in ("utf-8", "utf8"):
                raw = raw.decode(enc, errors="replace").encode("utf-8")
            frame = pl.read_csv(
                raw,
                infer_schema=False,
                encoding="utf8-lossy",
                separator=mapping.delimiter,
            )
    except (pl.exceptions.PolarsError, OSError, UnicodeError, LookupError) as e:
        raise InputError(
            f"{path}: cannot be read as {fmt} ({type(e).__name__}); check the format, "
            "delimiter and encoding declared in the engagement file"
        ) from e
    needed = set(mapping.columns_for()) | {mapping.id_column}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)} that the engagement maps; "
            f"the file has {len(frame.columns)} columns"
        )
    return frame.with_row_index("_row", offset=1)


def _bad_encoding(frame: pl.DataFrame, columns: list[str]) -> pl.Expr:
    checks = [
        pl.col(c).cast(pl.String).str.contains("\ufffd", literal=True).fill_null(False)
        for c in columns
        if frame.schema[c] == pl.String
    ]
    return pl.any_horizontal(checks) if checks else pl.lit(False)


def segment_bitsets(mapping: CampaignInput) -> pl.Expr:
    """Bit i set where the column of the i-th declared segment label is truthy (1, Y, TRUE...)."""
    expr: pl.Expr = pl.lit(0, dtype=pl.UInt64)
    for i, column in enumerate(mapping.segments.values()):
        flag = pl.col(column).cast(pl.String).str.strip_chars().str.to_uppercase().is_in(TRUTHY)
        expr = expr | pl.when(flag).then(pl.lit(1 << i, dtype=pl.UInt64)).otherwise(0)
    return expr.alias("segments")


def _box_lists(
    frame: pl.DataFrame, mapping: OperatorInput, boxes_path: Path | None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Attach ``box_ids: List(String)`` to the operator's rows; count boxes left over."""
    source = mapping.boxes
    notes: dict[str, int] = {}
    if source is None:
        # A person-level engagement (e.g. a benchmark) that stops after matching: every
        # account gets an empty, still fixed-size, sealed box list.
        return frame.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("box_ids")), notes
    if source.in_subscriber_file:
        assert source.column is not None
        lists = (
            pl.col(source.column)
            .cast(pl.String)
            .str.split(source.list_separator)
            .list.eval(pl.element().str.strip_chars().filter(pl.element().str.len_bytes() > 0))
            .fill_null([])
        )
        return frame.with_columns(lists.alias("box_ids")), notes
    if boxes_path is None:
        raise InputError("the operator's box IDs live in a separate file: pass --boxes FILE")
    boxes_path = Path(boxes_path)
    if not boxes_path.is_file():
        raise InputError(f"{boxes_path}: box file not found")
    fmt = "parquet" if boxes_path.suffix.lower() in (".parquet", ".pq") else "csv"
    boxes = (
        pl.read_parquet(boxes_path)
        if fmt == "parquet"
        else pl.read_csv(boxes_path, infer_schema=False)
    )
    assert source.account_column is not None and source.box_column is not None
    for col in (source.account_column, source.box_column):
        if col not in boxes.columns:
            raise InputError(f"{boxes_path}: missing column '{col}'")
    boxes = boxes.select(
        pl.col(source.account_column).cast(pl.String).alias("_account"),
        pl.col(source.box_column).cast(pl.String).str.strip_chars().alias("_box"),
    ).filter(pl.col("_box").is_not_null() & (pl.col("_box").str.len_bytes() > 0))
    per_account = boxes.group_by("_account").agg(pl.col("_box").unique().sort().alias("box_ids"))
    ids = frame.select(pl.col(mapping.id_column).cast(pl.String).alias("_account"))
    orphans = per_account.join(ids, on="_account", how="anti")
    notes["boxes_without_account"] = int(orphans.get_column("box_ids").list.len().sum() or 0)
    joined = frame.with_columns(pl.col(mapping.id_column).cast(pl.String).alias("_account")).join(
        per_account, on="_account", how="left"
    )
    return (
        joined.drop("_account").with_columns(pl.col("box_ids").fill_null([])),
        notes,
    )


def run_party(
    engagement: Engagement,
    role: str,
    input_path: Path,
    workspace: Workspace,
    identity: PartyIdentity,
    *,
    boxes_path: Path | None = None,
    progress: Progress | None = None,
) -> PartySummary:
    """Tokenize a list owner's file and publish its artifacts to the outbox (see module doc)."""
    say = progress or (lambda _step: None)
    if role not in LIST_OWNERS:
        raise PolicyError(f"only the list owners ({', '.join(LIST_OWNERS)}) tokenize files")
    if identity.role != role or workspace.role != role:
        raise PolicyError(f"the {role} step needs the {role} identity and workspace")
    mapping: Any = engagement.input_for(role)
    eid = engagement.engagement_id

    say("reading input")
    # Shuffled once, up front: every frame derived from it (tokens, payloads) then follows
    # a random order, so no output's row order reveals the input's (e.g. alphabetical).
    frame = read_input(input_path, mapping)
    frame = shuffled(
        frame.select(list(dict.fromkeys(["_row", mapping.id_column, *mapping.columns_for()])))
    )
    rows_in = frame.height

    notes: dict[str, int] = {}
    if role == "campaign":
        frame = frame.with_columns(segment_bitsets(mapping))
    else:
        frame, notes = _box_lists(frame, mapping, boxes_path)

    say("normalizing")
    fields = mapping.fields.model_dump(exclude_none=True)
    canonical = canonicalize(frame.lazy(), fields).collect()

    # Reasons are checked in order; a row is quarantined for its first reason.
    id_col = pl.col(mapping.id_column).cast(pl.String).str.strip_chars()
    reasons: list[tuple[str, pl.Expr]] = [
        ("missing_id", id_col.is_null() | (id_col.str.len_bytes() == 0)),
        ("duplicate_id", id_col.is_duplicated() & id_col.is_not_null()),
        ("bad_encoding", _bad_encoding(frame, list(mapping.columns_for()))),
        ("no_identifying_field", ~usable_mask()),
    ]
    max_boxes = mapping.boxes.max_boxes if role == "operator" and mapping.boxes else 1
    if role == "operator":
        reasons += [
            ("too_many_boxes", pl.col("box_ids").list.len() > max_boxes),
            (
                "box_id_too_long",
                pl.col("box_ids")
                .list.eval(pl.element().str.len_bytes() > MAX_BOX_ID_BYTES)
                .list.any(),
            ),
        ]
    reason_expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for code, condition in reversed(reasons):
        reason_expr = pl.when(condition.fill_null(False)).then(pl.lit(code)).otherwise(reason_expr)
    canonical = canonical.with_columns(reason_expr.alias("_reason"), random_refs(rows_in))

    say("tokenizing")
    secret = link_secret(
        identity, party_bundle(engagement, "operator" if role == "campaign" else "campaign"), eid
    )
    recipes = list(engagement.recipes)
    keys = {r.name: recipe_key(secret, r.canonical_spec()) for r in recipes}
    candidates = canonical.filter(pl.col("_reason").is_null())
    result = tokenize(
        candidates, recipes, keys, frequency_ceiling=engagement.tokens.frequency_ceiling
    )
    with_token = result.tokens.select("ref").unique().with_columns(_has_token=pl.lit(True))
    canonical = (
        canonical.join(with_token, on="ref", how="left")
        .with_columns(
            pl.when(pl.col("_reason").is_null() & pl.col("_has_token").is_null())
            .then(pl.lit("no_token"))
            .otherwise(pl.col("_reason"))
            .alias("_reason")
        )
        .drop("_has_token")
    )
    kept = canonical.filter(pl.col("_reason").is_null())
    quarantined = canonical.filter(pl.col("_reason").is_not_null())

    say("sealing")
    measurement = party_bundle(engagement, "measurement")
    if role == "campaign":
        key = seal_key(identity, measurement, eid, "segments")
        group_key = recipe_key(secret, GROUP_RECIPE.canonical_spec())
        group = tokenize(
            kept,
            [GROUP_RECIPE],
            {GROUP_RECIPE.name: group_key},
            frequency_ceiling=engagement.tokens.frequency_ceiling,
        )
        payloads = kept.select(
            "ref",
            seal_labels(kept.get_column("segments"), key, eid, len(mapping.segments)).alias(
                "sealed_segments"
            ),
        ).join(group.tokens.select("ref", pl.col("token").alias("group")), on="ref", how="left")
    else:
        key = seal_key(identity, measurement, eid, "boxes")
        payloads = kept.select(
            "ref",
            seal_box_lists(kept.get_column("box_ids"), key, eid, max_boxes).alias("sealed_boxes"),
        )

    say("writing artifacts")
    tokens = result.tokens
    workspace.private.mkdir(parents=True, exist_ok=True)
    kept.select("ref", pl.col(mapping.id_column).cast(pl.String).alias("id"), "_row").write_parquet(
        workspace.private / "crosswalk.parquet"
    )
    quarantined.sort("_row").select(
        pl.col("_row").alias("row"),
        pl.col(mapping.id_column).cast(pl.String).alias("id"),
        pl.col("_reason").alias("reason"),
    ).write_parquet(workspace.private / "quarantine.parquet")
    names = (f"{role}.tokens", f"{role}.payloads")
    workspace.write(
        tokens,
        names[0],
        kind="tokens",
        engagement_id=eid,
        producer=identity,
        recipients=["matcher"],
    )
    workspace.write(
        payloads,
        names[1],
        kind=f"{role}_payloads",
        engagement_id=eid,
        producer=identity,
        recipients=["matcher"],
    )
    counts = quarantined.group_by("_reason").len()
    summary = PartySummary(
        role=role,
        rows_in=rows_in,
        rows_tokenized=kept.height,
        rows_quarantined=quarantined.height,
        quarantine_reasons={r: int(n) for r, n in counts.iter_rows()},
        tokens_per_recipe=result.per_recipe,
        dropped_by_frequency_guard=result.dropped_by_guard,
        artifacts=names,
        notes=notes,
    )
    if not summary.reconciles:  # pragma: no cover - an invariant, kept loud on purpose
        raise InputError("row counts do not reconcile; nothing should have been lost")
    return summary


def party_bundle(engagement: Engagement, role: str) -> PublicBundle:
    """The public bundle the engagement names for ``role`` (PolicyError if none)."""
    party = engagement.parties.declared().get(role)
    if party is None:
        raise PolicyError(f"the engagement declares no {role} party")
    return PublicBundle.load(engagement.resolve_path(party.public_keys))
