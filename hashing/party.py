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

import mmap
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hashing import _crypto
from hashing.artifacts import artifact_paths
from hashing.canonical import USABLE_FIELDS, VARIANTS, canonicalize, usable_mask
from hashing.engagement import Engagement
from hashing.engagement_model import CampaignInput, OperatorInput, Recipe
from hashing.engagement_recipes import CANONICAL_FIELDS, COMPOSITE_PARTS
from hashing.errors import InputError, PolicyError
from hashing.keys import PartyIdentity, PublicBundle, link_secret, recipe_key, seal_key
from hashing.seal import seal_box_lists, seal_labels
from hashing.tokens import (
    ROW,
    RecipeTokens,
    guarded,
    long_tokens,
    recipe_tokens,
    rows_with_token,
    shared_by_more_than,
)
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
        # Distinct first 8 bytes imply distinct references (a cheap integer check); only
        # if two share them (about once in 10^7 files of a million rows) compare in full.
        prefixes = np.frombuffer(buf, dtype=np.uint64)[::2]
        refs = _crypto.binary_from_fixed("ref", buf, REF_BYTES)
        if pl.Series(prefixes).n_unique() == n or refs.n_unique() == n:
            return refs


def shuffled(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``frame`` in a uniformly random order (permutation seeded by the OS CSPRNG)."""
    seed = int.from_bytes(_crypto.random_bytes(16), "big")
    order = np.random.default_rng(seed).permutation(frame.height)
    # On contiguous columns a gather is the cheapest way to apply the permutation.
    return frame.rechunk()[order]


def read_input(path: Path, mapping: CampaignInput | OperatorInput) -> pl.DataFrame:
    """Read a party's file as declared (every CSV column as text) with a 1-based ``_row``.

    Invalid bytes for the declared encoding are replaced, and such rows are quarantined
    later as ``bad_encoding`` — the run never fails on one bad row, and never prints it.
    """
    return _read_input(path, mapping)[0]


def _read_input(
    path: Path,
    mapping: CampaignInput | OperatorInput,
    columns: list[str] | None = None,
    flags: Sequence[str] = (),
) -> tuple[pl.DataFrame, bool]:
    """:func:`read_input` with only the mapped columns (or only ``columns`` of them), plus
    whether any value may carry a replaced (undecodable) byte — False when the whole
    file decoded cleanly, so that the per-row ``bad_encoding`` check can be skipped.
    Every mapped column must exist, read or not. ``flags``: CSV columns of few distinct
    values (the campaign's segment flags), read as categoricals — 4 bytes a row instead
    of a 16-byte text view each."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: input file not found")
    fmt = mapping.file_format(path)
    mapped = list(dict.fromkeys([mapping.id_column, *mapping.columns_for()]))
    needed = mapped if columns is None else [c for c in mapped if c in columns]
    suspect = True
    try:
        if fmt == "parquet":
            available = pl.read_parquet_schema(path)
            _check_needed(path, mapped, available)
            frame = pl.read_parquet(path, columns=needed)
        else:
            enc = mapping.encoding.lower().replace("_", "-")
            source: Path | bytes = path
            if enc not in ("utf-8", "utf8"):
                source = path.read_bytes().decode(enc, errors="replace").encode("utf-8")
            header = _read_csv(source, mapping, None, "utf8-lossy", n_rows=0)
            _check_needed(path, mapped, header.columns)
            suspect = _may_hold_replacements(source)
            categorical: dict[str, pl.DataType] = {
                c: pl.Categorical() for c in flags if c in needed
            }
            try:  # strict UTF-8 validates as it parses
                frame = _read_csv(source, mapping, needed, "utf8", overrides=categorical)
            except pl.exceptions.ComputeError:
                frame = _read_csv(source, mapping, needed, "utf8-lossy", overrides=categorical)
                suspect = True
    except (pl.exceptions.PolarsError, OSError, UnicodeError, LookupError) as e:
        raise InputError(
            f"{path}: cannot be read as {fmt} ({type(e).__name__}); check the format, "
            "delimiter and encoding declared in the engagement file"
        ) from e
    # One chunk per column: every later column operation is several times faster on it.
    return frame.with_row_index("_row", offset=1).rechunk(), suspect


REPLACEMENT = "\ufffd".encode()


def _may_hold_replacements(source: Path | bytes) -> bool:
    """False when the text surely holds no replacement character: plain ASCII (checked
    at memory speed), or no U+FFFD bytes anywhere."""
    if isinstance(source, bytes):
        return not source.isascii() and REPLACEMENT in source
    if source.stat().st_size == 0:
        return False
    with open(source, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        if int(np.frombuffer(view, dtype=np.uint8).max()) < 0x80:
            return False
        return view.find(REPLACEMENT) != -1


def _read_csv(
    source: Path | bytes,
    mapping: Any,
    columns: list[str] | None,
    encoding: Any,
    n_rows: int | None = None,
    overrides: dict[str, pl.DataType] | None = None,
) -> pl.DataFrame:
    return pl.read_csv(
        source,
        infer_schema=False,
        encoding=encoding,
        separator=mapping.delimiter,
        columns=columns,
        n_rows=n_rows,
        schema_overrides=overrides,
    )


def _check_needed(path: Path, needed: list[str], available: Any) -> None:
    missing = sorted(set(needed) - set(available))
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)} that the engagement maps; "
            f"the file has {len(available)} columns"
        )


def _bad_encoding(frame: pl.DataFrame, columns: list[str]) -> pl.Expr:
    checks = [
        pl.col(c).cast(pl.String).str.contains("\ufffd", literal=True).fill_null(False)
        for c in columns
        if frame.schema[c] in (pl.String, pl.Categorical)
    ]
    return pl.any_horizontal(checks) if checks else pl.lit(False)


def segment_bitsets(mapping: CampaignInput) -> pl.Expr:
    """Bit i set where the column of the i-th declared segment label is truthy (1, Y, TRUE...)."""
    expr: pl.Expr = pl.lit(0, dtype=pl.UInt64)
    for i, column in enumerate(mapping.segments.values()):
        expr = expr | pl.when(_truthy(pl.col(column))).then(
            pl.lit(1 << i, dtype=pl.UInt64)
        ).otherwise(0)
    return expr.alias("segments")


def _truthy(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.strip_chars().str.to_uppercase().is_in(TRUTHY)


def _segment_column(frame: pl.DataFrame, mapping: CampaignInput) -> pl.Series:
    """:func:`segment_bitsets` of ``frame``, deciding truthiness once per distinct value.

    Each column's distinct values, then each column's flags, are found in one query for
    all columns (polars runs the columns side by side)."""
    columns = list(mapping.segments.values())
    if not columns:
        return pl.Series("segments", np.zeros(frame.height, dtype=np.uint64))
    distinct = frame.select(pl.col(c).unique().implode() for c in columns).row(0)
    truthy = [
        pl.Series(values, dtype=frame.schema[c]).to_frame("v").filter(_truthy(pl.col("v")))
        for c, values in zip(columns, distinct, strict=True)
    ]
    flags = frame.select(
        pl.col(c).is_in(t.to_series().implode()).fill_null(False).alias(f"f{i}")
        for i, (c, t) in enumerate(zip(columns, truthy, strict=True))
    )
    bits = np.zeros(frame.height, dtype=np.uint64)
    for i in range(len(columns)):
        bits[flags.get_column(f"f{i}").to_numpy()] |= np.uint64(1 << i)
    return pl.Series("segments", bits)


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
    # Only the fields some recipe or the usability rule reads are read and normalized:
    # the others (a middle name, a sex, a city...) would reach no output at all.
    used = {f for r in (*engagement.recipes, GROUP_RECIPE) for _, f in r.components}
    fields = {
        name: spec
        for name, spec in mapping.fields.model_dump(exclude_none=True).items()
        if name in used or name in USABLE_FIELDS or name in COMPOSITE_PARTS
    }
    field_columns = [spec if isinstance(spec, str) else spec["column"] for spec in fields.values()]
    columns = [mapping.id_column, *mapping.payload_columns(), *field_columns]
    # The campaign's segment flags (unless a field reads the same column) are categoricals.
    flags = [c for c in mapping.payload_columns() if c not in field_columns]

    say("reading input")
    frame, suspect_encoding = _read_input(
        input_path, mapping, columns, flags if role == "campaign" else ()
    )
    rows_in = frame.height
    notes: dict[str, int] = {}
    measurement = party_bundle(engagement, "measurement")
    names = (f"{role}.tokens", f"{role}.payloads")

    def publish(frame_out: pl.DataFrame, name: str, kind: str) -> None:
        workspace.write(
            frame_out,
            name,
            kind=kind,
            engagement_id=eid,
            producer=identity,
            recipients=["matcher"],
            # References, tokens and sealed blobs are random bytes: nothing to compress
            # and no useful minimum or maximum, so no time spent on either.
            compression="uncompressed",
            statistics=False,
        )

    # Two worker threads run beside the work here, without the interpreter lock: one
    # seals (the campaign's labels while the names are normalized, the operator's box
    # lists — only usable rows' can be sealed — while tokens are hashed); the other
    # publishes the token artifact as soon as the tokens exist, so that encoding, hashing
    # and syncing its few hundred MB overlap the payloads' preparation. Once sealing is
    # done, the payload artifact is published on the free one.
    with ThreadPoolExecutor(max_workers=2) as workers:
        writes: dict[str, Future[None]] = {}  # artifact name -> its write, once submitted
        try:
            carried = []  # input columns read again after normalizing, besides the fields
            if role == "campaign":
                seal_k = seal_key(identity, measurement, eid, "segments")
                labels = _segment_column(frame, mapping)  # in input order, like `_row`
                sealing = workers.submit(seal_labels, labels, seal_k, eid, len(mapping.segments))
            else:
                frame, notes = _box_lists(frame, mapping, boxes_path)
                carried.append("box_ids")

            say("normalizing")
            canonical = canonicalize(frame.lazy(), fields).collect()
            reasons = _quarantine_reasons(canonical, mapping, role, suspect_encoding)
            keep = [mapping.id_column, *carried, *(f for f in CANONICAL_FIELDS if f in used)]
            canonical = _shuffled_rows(canonical, reasons, keep)
            candidates = canonical.filter(pl.col("_reason").is_null())

            say("tokenizing")
            secret = link_secret(
                identity,
                party_bundle(engagement, "operator" if role == "campaign" else "campaign"),
                eid,
            )
            recipes = list(engagement.recipes)
            keys = {r.name: recipe_key(secret, r.canonical_spec()) for r in recipes}
            hashed = recipes
            if role == "campaign":
                keys[GROUP_RECIPE.name] = recipe_key(secret, GROUP_RECIPE.canonical_spec())
                hashed = [*recipes, GROUP_RECIPE]
            else:
                max_boxes = mapping.boxes.max_boxes if mapping.boxes else 1
                seal_k = seal_key(identity, measurement, eid, "boxes")
                boxes = candidates.get_column("box_ids")
                sealing = workers.submit(seal_box_lists, boxes, seal_k, eid, max_boxes)
            results = recipe_tokens(
                candidates,
                hashed,
                keys,
                frequency_ceiling=engagement.tokens.frequency_ceiling,
                cleaned=True,  # straight from canonicalize
                unguarded=[GROUP_RECIPE.name],  # guarded below, among the rows kept
            )
            linked = results[: len(recipes)]
            tokens = long_tokens(candidates.get_column("ref"), recipes, linked)
            # A previous run's payloads must not sit beside this run's tokens.
            _withdraw(workspace, names[1])
            writes[names[0]] = workers.submit(publish, tokens, names[0], "tokens")

            say("sealing")
            sealed = sealing.result()
            if role == "campaign":  # sealed in input order: follow the rows to the candidates
                sealed = sealed.gather(candidates.get_column("_row").cast(pl.Int64) - 1)
            has_token = rows_with_token(candidates.height, linked)
            group = None
            if role == "campaign":  # the household group counts only the rows published
                group = _group_tokens(results[-1], has_token, engagement.tokens.frequency_ceiling)
            payloads = _payloads(role, candidates.get_column("ref"), sealed, group)
            kept = candidates.filter(has_token)
            payloads = payloads.filter(has_token)
            quarantined = pl.concat(
                [
                    canonical.filter(pl.col("_reason").is_not_null()),
                    candidates.filter(~has_token).with_columns(_reason=pl.lit("no_token")),
                ]
            )
            if kept.height + quarantined.height != rows_in:  # pragma: no cover - invariant
                raise InputError("row counts do not reconcile; nothing should have been lost")

            say("writing artifacts")
            if writes[names[0]].done():
                writes[names[0]].result()  # a failed token write stops the run here
            writes[names[1]] = workers.submit(publish, payloads, names[1], f"{role}_payloads")
            _write_private(workspace, kept, quarantined, mapping.id_column)
            for write in writes.values():
                write.result()
        except BaseException:
            # A failed run leaves no half publication behind: tokens without payloads (or
            # payloads without tokens) would only stall the matcher.
            wait(list(writes.values()))
            for name in writes:
                _withdraw(workspace, name)
            raise
    counts = quarantined.group_by("_reason").len()
    summary = PartySummary(
        role=role,
        rows_in=rows_in,
        rows_tokenized=kept.height,
        rows_quarantined=quarantined.height,
        quarantine_reasons={r: int(n) for r, n in counts.iter_rows()},
        tokens_per_recipe={r.name: t.rows.height for r, t in zip(recipes, linked, strict=True)},
        dropped_by_frequency_guard={
            r.name: t.dropped for r, t in zip(recipes, linked, strict=True)
        },
        artifacts=names,
        notes=notes,
    )
    return summary


def _shuffled_rows(canonical: pl.DataFrame, reasons: pl.Series, keep: list[str]) -> pl.DataFrame:
    """The rows of ``canonical`` (only ``_row``, the ``keep`` columns and the surname
    variants), with their quarantine reason and a fresh random reference, in a random order.

    Shuffled once, here: every frame derived from it (tokens, payloads) then follows a
    random order, so no output's row order reveals the input's (e.g. alphabetical).
    """
    # Only compound surnames keep their variants list (the others' single variant is the
    # surname itself), which makes the gather of it cheap.
    compound = pl.when(pl.col(VARIANTS).list.len() > 1).then(pl.col(VARIANTS))
    columns = list(dict.fromkeys(["_row", *keep, VARIANTS]))
    rows = canonical.select(columns).with_columns(
        compound.alias(VARIANTS), reasons.alias("_reason")
    )
    return shuffled(rows).with_columns(random_refs(canonical.height))


def _group_tokens(group: RecipeTokens, has_token: pl.Series, ceiling: int) -> pl.DataFrame:
    """``(ROW, group)``: the household-group token of the rows that are published,
    after the frequency guard among those rows only."""
    rows = group.rows.get_column(ROW).to_numpy()
    kept = guarded(group, ceiling, has_token.to_numpy()[rows])
    return kept.rows.rename({"token": "group"})


def _payloads(
    role: str, refs: pl.Series, sealed: pl.Series, group: pl.DataFrame | None
) -> pl.DataFrame:
    """Per candidate row: its reference, its sealed payload, and (campaign) its group token."""
    payloads = refs.to_frame("ref").with_columns(
        sealed.alias("sealed_segments" if role == "campaign" else "sealed_boxes")
    )
    if group is None:
        return payloads
    return (
        payloads.with_row_index(ROW)
        .join(group, on=ROW, how="left", maintain_order="left")
        .drop(ROW)
    )


def _write_private(
    workspace: Workspace, kept: pl.DataFrame, quarantined: pl.DataFrame, id_column: str
) -> None:
    """The party's own files: the crosswalk (reference → ID, row) and the quarantine."""
    workspace.private.mkdir(parents=True, exist_ok=True)
    the_id = pl.col(id_column).cast(pl.String).alias("id")
    crosswalk = kept.select("ref", the_id, "_row")
    crosswalk.write_parquet(workspace.private / "crosswalk.parquet", compression="uncompressed")
    rejected = quarantined.sort("_row").select(
        pl.col("_row").alias("row"), the_id, pl.col("_reason").alias("reason")
    )
    rejected.write_parquet(workspace.private / "quarantine.parquet")


def _withdraw(workspace: Workspace, name: str) -> None:
    """Remove an artifact (data and manifest) from the outbox, if it is there."""
    for path in artifact_paths(workspace.outbox / name):
        path.unlink(missing_ok=True)


def _quarantine_reasons(
    canonical: pl.DataFrame, mapping: Any, role: str, suspect_encoding: bool
) -> pl.Series:
    """Each row's quarantine reason code, or null for a usable row (first reason wins)."""
    ids = canonical.select(pl.col(mapping.id_column).cast(pl.String).str.strip_chars()).to_series()
    reasons: list[tuple[str, pl.Expr]] = [
        ("missing_id", pl.lit(ids.is_null() | (ids.str.len_bytes() == 0))),
        ("duplicate_id", pl.lit(shared_by_more_than(ids, 1))),
    ]
    if suspect_encoding:
        read = [c for c in mapping.columns_for() if c in canonical.columns]
        reasons.append(("bad_encoding", _bad_encoding(canonical, read)))
    reasons.append(("no_identifying_field", ~usable_mask()))
    if role == "operator":
        max_boxes = mapping.boxes.max_boxes if mapping.boxes else 1
        reasons += [
            ("too_many_boxes", pl.col("box_ids").list.len() > max_boxes),
            (
                "box_id_too_long",
                pl.col("box_ids")
                .list.eval(pl.element().str.len_bytes() > MAX_BOX_ID_BYTES)
                .list.any(),
            ),
        ]
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for code, condition in reversed(reasons):
        expr = pl.when(condition.fill_null(False)).then(pl.lit(code)).otherwise(expr)
    return canonical.select(expr.alias("_reason")).to_series()


def party_bundle(engagement: Engagement, role: str) -> PublicBundle:
    """The public bundle the engagement names for ``role`` (PolicyError if none)."""
    party = engagement.parties.declared().get(role)
    if party is None:
        raise PolicyError(f"the engagement declares no {role} party")
    return PublicBundle.load(engagement.resolve_path(party.public_keys))
