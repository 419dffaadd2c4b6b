"""A small, clean exchange of every artifact kind, and the sources it was made from.

Everything is synthetic and seeded: people are drawn from the auditor's own name lists
with made-up phones (555 exchange), example.com emails and invented streets. Artifacts
are built to the contracts with random tokens, refs and sealed blobs of the real lengths,
and proper aggregates, then written and signed with ``hashing.artifacts.write_artifact``
by real party identities — so that a clean world must audit clean, and each red-team
case changes exactly one thing.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hashing.artifacts import write_artifact
from hashing.keys import PartyIdentity
from linkage.audit import detectors
from linkage.audit.policy import AuditContext
from linkage.contracts import CONTRACTS

ENGAGEMENT = "audit-test-2026"
RECIPES = ("email", "phone", "name_address", "last_address", "phonetic", "address")
SEGMENTS = ("persuadable", "gotv", "base", "senior")
CHANNELS = tuple(f"CH{i:02d}" for i in range(1, 13))
SEALED_LABELS_LEN = 36  # 8-byte bitset + 12-byte nonce + 16-byte tag
SEALED_BOXES_LEN = 8 * 33 + 28
STREETS = ("MAPLE", "CEDAR", "ELM", "WILLOW", "SYCAMORE", "HICKORY", "BIRCH", "ASPEN")
SUFFIXES = ("ST", "AVE", "RD", "DR", "LN", "CT")
N_VOTERS = 400
N_ACCOUNTS = 300


@functools.cache
def identities() -> dict[str, PartyIdentity]:
    """One identity per role (generated once per test process)."""
    roles = ("campaign", "operator", "matcher", "measurement", "auditor")
    return {role: PartyIdentity.generate(role) for role in roles}


def public_keys() -> dict[str, Any]:
    """Role -> PublicBundle, for the real signature verifier."""
    return {role: ident.public for role, ident in identities().items()}


def context(**changes: Any) -> AuditContext:
    """The audit context of the test engagement."""
    base = AuditContext(
        engagement_id=ENGAGEMENT,
        k_min=50,
        frequency_ceiling=25,
        recipe_names=RECIPES,
        segment_labels=SEGMENTS,
        public_keys=public_keys(),
    )
    return replace(base, **changes)


@dataclass
class Artifact:
    """One artifact to write: its frame, who makes it, who gets it, manifest tweaks."""

    name: str
    kind: str
    producer: str
    recipients: list[str]
    frame: pl.DataFrame
    engagement_id: str = ENGAGEMENT
    extra: dict[str, Any] = field(default_factory=dict)
    after_write: Callable[[Path], None] | None = None  # tampering once signed


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def random_binary(rng: np.random.Generator, n: int, size: int) -> pl.Series:
    """``n`` random values of ``size`` bytes."""
    blob = rng.bytes(n * size)
    return pl.Series([blob[i * size : (i + 1) * size] for i in range(n)], dtype=pl.Binary)


@dataclass
class People:
    """The synthetic voters (the campaign's source) and subscribers (the operator's)."""

    voters: pl.DataFrame
    subscribers: pl.DataFrame


def people(seed: int = 11) -> People:
    """Seeded synthetic people with names, DOB, phone, email and address."""
    rng = _rng(seed)
    firsts = sorted(detectors.first_names() - detectors.common_words())
    lasts = sorted(detectors.last_names() - detectors.common_words())
    n = N_VOTERS
    first = [firsts[i] for i in rng.integers(0, len(firsts), n)]
    last = [lasts[i] for i in rng.integers(0, len(lasts), n)]
    years = rng.integers(1940, 2006, n)
    months = rng.integers(1, 13, n)
    days = rng.integers(1, 29, n)
    dob = [f"{m:02d}/{d:02d}/{y}" for y, m, d in zip(years, months, days, strict=True)]
    phone = [f"(614) 555-{i:04d}" for i in rng.permutation(10_000)[:n]]
    email = [
        f"{f.lower()}.{la.lower()}{i}@example.com"
        for i, (f, la) in enumerate(zip(first, last, strict=True))
    ]
    house = [str(h) for h in rng.integers(1, 9999, n)]
    street = [
        f"{STREETS[i % len(STREETS)]} {SUFFIXES[i % len(SUFFIXES)]}" for i in rng.integers(0, 48, n)
    ]
    voters = pl.DataFrame(
        {
            "VOTER_ID": [f"OH{100000 + i}" for i in range(n)],
            "FIRST_NAME": first,
            "LAST_NAME": last,
            "BIRTH_DATE": dob,
            "PHONE": phone,
            "EMAIL": email,
            "RES_HOUSE_NUM": house,
            "RES_STREET": street,
            "RES_ZIP": [str(z) for z in rng.integers(43001, 43299, n)],
            "GENDER": [("M", "F")[i] for i in rng.integers(0, 2, n)],
            "SEG_PERSUADABLE": [str(i) for i in rng.integers(0, 2, n)],
        }
    )
    m = N_ACCOUNTS
    subscribers = pl.DataFrame(
        {
            "account_id": [f"A{900000 + i}" for i in range(m)],
            "holder_name": [f"{f} {la}" for f, la in zip(first[:m], last[:m], strict=True)],
            "service_address": [f"{h} {s}" for h, s in zip(house[:m], street[:m], strict=True)],
            "phone": phone[:m],
            "email": email[:m],
            "box_id": [f"STB{rng.integers(10**9, 10**10)}" for _ in range(m)],
        }
    )
    return People(voters, subscribers)


def tokens_frame(rng: np.random.Generator, n_records: int) -> pl.DataFrame:
    """A tokens artifact: each record gets most recipes; households share the address token."""
    refs = random_binary(rng, n_records, 16)
    rows: list[pl.DataFrame] = []
    # households of 1-4 records share the household-level address token
    household_of = np.repeat(np.arange(n_records), rng.integers(1, 5, n_records))[:n_records]
    address_tokens = random_binary(rng, n_records, 32)
    for recipe in RECIPES:
        keep = rng.random(n_records) < 0.85
        idx = np.flatnonzero(keep)
        if recipe == "address":
            tokens = address_tokens.gather(household_of[idx])
        else:
            tokens = random_binary(rng, len(idx), 32)
        rows.append(
            pl.DataFrame({"ref": refs.gather(idx), "recipe": [recipe] * len(idx), "token": tokens})
        )
    return pl.concat(rows).sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 30)))


def match_report_frame() -> pl.DataFrame:
    """An aggregate match report: summary, per-recipe, pattern, unmatched and weight rows."""
    rows: list[tuple[str, str, float]] = [
        ("summary", "campaign_records", 400.0),
        ("summary", "operator_accounts", 300.0),
        ("summary", "matched_voters", 262.0),
        ("summary", "matched_households", 188.0),
        ("summary", "match_rate", 0.655),
        ("summary", "ambiguous", 7.0),
    ]
    for recipe in RECIPES:
        rows += [("recipe", f"{recipe}.candidates", 120.0), ("recipe", f"{recipe}.matched", 80.0)]
        rows += [("weights", f"{recipe}.m", 0.93), ("weights", f"{recipe}.u", 0.0004)]
    for pattern in ("111111", "011111", "001111", "000011", "000001", "100000"):
        rows.append(("pattern", pattern, 31.0))
    rows += [("unmatched", "no_candidate", 111.0), ("unmatched", "below_threshold", 20.0)]
    section, name, value = zip(*rows, strict=True)
    return pl.DataFrame({"section": section, "name": name, "value": value})


def viewership_frame(rng: np.random.Generator, k: int = 50) -> pl.DataFrame:
    """Aggregate cells by segment, band, channel and quarter-hour, for two days.

    The light, medium and heavy bands split the households of band "all" (its reach is
    their sum). Cells under ``k`` are suppressed with every figure nulled; a total whose
    part is hidden is hidden too, so no hidden cell can be worked out by difference.
    """
    records = []
    for day in (None, dt.date(2026, 10, 6)):
        for segment in (*SEGMENTS, "all"):
            for channel in CHANNELS:
                for qh in (28, 29, 76, 77, 80):
                    parts = {b: float(rng.integers(0, 200)) for b in ("light", "medium", "heavy")}
                    cells = {"all": sum(parts.values()), **parts}
                    hidden = {b: reach < k for b, reach in cells.items()}
                    hidden["all"] = hidden["all"] or any(hidden[b] for b in parts)
                    for band, reach in cells.items():
                        off = hidden[band]
                        records.append(
                            {
                                "segment": segment,
                                "band": band,
                                "day": day,
                                "channel": channel,
                                "quarter_hour": qh,
                                "reach": None if off else reach,
                                "audience": None if off else reach * 0.8,
                                "rating": None if off else reach / 1000,
                                "share": None if off else reach / 2000,
                                "suppressed": off,
                            }
                        )
    return pl.DataFrame(records, schema=dict(CONTRACTS["viewership"]))


def segment_summary_frame(k: int = 50) -> pl.DataFrame:
    """Matched households per segment and band; the small ones suppressed."""
    rows = []
    for i, segment in enumerate((*SEGMENTS, "all")):
        for j, band in enumerate(("all", "light", "medium", "heavy")):
            households = float(60 + 37 * i + 11 * j) if (i + j) % 7 else 12.0
            off = households < k
            rows.append((segment, band, None if off else households, off))
    return pl.DataFrame(rows, schema=dict(CONTRACTS["segment_summary"]), orient="row")


@dataclass
class World:
    """The clean exchange: one artifact of every kind (tokens from both list owners)."""

    artifacts: dict[str, Artifact]
    people: People

    def write(self, root: Path) -> list[Path]:
        """Write and sign every artifact under ``root``; return the Parquet paths."""
        root.mkdir(parents=True, exist_ok=True)
        ids = identities()
        paths = []
        for art in self.artifacts.values():
            write_artifact(
                art.frame,
                root,
                art.name,
                kind=art.kind,
                engagement_id=art.engagement_id,
                producer=ids[art.producer],
                recipients=art.recipients,
                extra=art.extra,
            )
            path = root / f"{art.name}.parquet"
            if art.after_write is not None:
                art.after_write(path)
            paths.append(path)
        return paths

    def write_sources(self, root: Path) -> tuple[Path, Path]:
        """The campaign's voter file and the operator's subscriber file, as CSV."""
        root.mkdir(parents=True, exist_ok=True)
        voters, subscribers = root / "voters.csv", root / "subscribers.csv"
        self.people.voters.write_csv(voters)
        self.people.subscribers.write_csv(subscribers)
        return voters, subscribers


def clean_world(seed: int = 5) -> World:
    """Every kind, built to its contract, that must produce zero findings."""
    rng = _rng(seed)
    campaign_tokens = tokens_frame(rng, N_VOTERS)
    operator_tokens = tokens_frame(rng, N_ACCOUNTS)
    campaign_refs = campaign_tokens["ref"].unique(maintain_order=True)
    operator_refs = operator_tokens["ref"].unique(maintain_order=True)
    groups = random_binary(rng, len(campaign_refs), 32)
    group_idx = np.repeat(np.arange(len(campaign_refs)), 3)[: len(campaign_refs)]
    group = groups.gather(group_idx).scatter(
        rng.choice(len(campaign_refs), 20, replace=False), None
    )
    n_households = 180
    households = random_binary(rng, n_households, 16)
    member_households = households.gather(rng.integers(0, n_households, 260))
    campaign_sealed = random_binary(rng, len(campaign_refs), SEALED_LABELS_LEN)
    operator_sealed = random_binary(rng, len(operator_refs), SEALED_BOXES_LEN)
    extra = {"tool": "blindlink", "rows_in": 400, "quarantined": 3}
    arts = [
        Artifact(
            "campaign.tokens", "tokens", "campaign", ["matcher"], campaign_tokens, extra=extra
        ),
        Artifact("operator.tokens", "tokens", "operator", ["matcher"], operator_tokens),
        Artifact(
            "campaign.payloads",
            "campaign_payloads",
            "campaign",
            ["matcher"],
            pl.DataFrame(
                {
                    "ref": campaign_refs,
                    "sealed_segments": campaign_sealed,
                    "group": group,
                }
            ),
        ),
        Artifact(
            "operator.payloads",
            "operator_payloads",
            "operator",
            ["matcher"],
            pl.DataFrame(
                {
                    "ref": operator_refs,
                    "sealed_boxes": operator_sealed,
                }
            ),
        ),
        Artifact(
            "matcher.households",
            "households",
            "matcher",
            ["measurement"],
            pl.DataFrame(
                {
                    "household": households,
                    # the matcher forwards the operator's sealed box lists unchanged
                    "sealed_boxes": operator_sealed[:n_households],
                }
            ),
        ),
        Artifact(
            "matcher.members",
            "members",
            "matcher",
            ["measurement"],
            pl.DataFrame(
                {
                    "household": member_households,
                    # ...and the campaign's sealed labels
                    "sealed_segments": campaign_sealed[:260],
                }
            ),
        ),
        Artifact(
            "matcher.report",
            "match_report",
            "matcher",
            ["campaign", "operator"],
            match_report_frame(),
            extra={"mode": "fellegi_sunter", "min_posterior": 0.9},
        ),
        Artifact(
            "measurement.viewership",
            "viewership",
            "measurement",
            ["campaign"],
            viewership_frame(rng),
            extra={"k_min": 50, "dp_epsilon": 0.0},
        ),
        Artifact(
            "measurement.segments",
            "segment_summary",
            "measurement",
            ["campaign"],
            segment_summary_frame(),
        ),
    ]
    return World({a.name: a for a in arts}, people())
