"""The audit policy of every artifact kind, and the settings an audit runs under.

Each kind's policy starts from its frame contract (``linkage.contracts``): exactly those
columns with exactly those dtypes. On top of the contract it says who may produce the
artifact and who may receive it, and what each column must look like — a token (32
random bytes, repeated no more than the frequency ceiling), a reference (16 random bytes,
unique where each row is one record), a sealed blob (one length, random, never repeated),
a label (short text free of PII), a number, a date or a flag.

The exchange graph of the design (DESIGN §2, §3) is written down here too: which kinds
each role may receive, and which it must never hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import polars as pl

from linkage.contracts import CONTRACTS, REF_BYTES, TOKEN_BYTES

MIN_K = 10
"""No aggregate cell may ever be published under this many households (DESIGN §8)."""

DEFAULT_K_MIN = 50
DEFAULT_FREQUENCY_CEILING = 25
DEFAULT_MAX_REPORT_ROWS = 5000
BANDS = frozenset({"all", "light", "medium", "heavy"})
QUARTER_HOURS = (0, 95)
ROLES = ("campaign", "operator", "matcher", "measurement", "auditor")


class Role(StrEnum):
    """What a column is for, which decides the shape checks it gets."""

    TOKEN = "token"  # keyed HMAC-SHA256: 32 random bytes, bounded repetition
    REF = "ref"  # fresh random 16-byte reference
    SEALED = "sealed"  # AEAD blob: one length, random bytes, never repeated
    LABEL = "label"  # short text from a small vocabulary (recipe, segment, section...)
    NUMBER = "number"
    DATE = "date"
    FLAG = "flag"
    OPAQUE = "opaque"  # binary the policy says nothing about (generic checks only)


@dataclass(frozen=True)
class ColumnRule:
    """The role of a contract column and its extra constraints."""

    role: Role
    length: int | None = None  # exact byte length for binary roles that have one
    unique: bool = False  # each value at most once (refs where a row is one record)
    nullable: bool = False


@dataclass(frozen=True)
class Aggregate:
    """How an aggregate kind hides small cells.

    ``count`` is the column counting distinct households (held to k when published);
    ``figures`` are the columns that must all be null on a suppressed row; ``flag`` is the
    suppression flag.
    """

    count: str
    figures: tuple[str, ...]
    flag: str = "suppressed"


@dataclass(frozen=True)
class KindPolicy:
    """What an artifact of one kind may contain, who makes it and who may receive it."""

    kind: str
    contract: Mapping[str, pl.DataType]
    producers: frozenset[str]
    recipients: frozenset[str]
    columns: Mapping[str, ColumnRule]
    aggregate: Aggregate | None = None


_TOKEN = ColumnRule(Role.TOKEN, length=TOKEN_BYTES)
_REF_REPEATED = ColumnRule(Role.REF, length=REF_BYTES)
_REF_UNIQUE = ColumnRule(Role.REF, length=REF_BYTES, unique=True)
_SEALED = ColumnRule(Role.SEALED)
_LABEL = ColumnRule(Role.LABEL)


def default_rule(dtype: pl.DataType) -> ColumnRule:
    """The rule of a contract column the policy does not name, by its dtype.

    Text is a label (PII detectors run on it), numbers and dates are figures, booleans are
    flags; binary gets no role (the generic binary checks still run).
    """
    if dtype == pl.String:
        return _LABEL
    if dtype == pl.Boolean:
        return ColumnRule(Role.FLAG, nullable=True)
    if dtype.is_temporal():
        return ColumnRule(Role.DATE, nullable=True)
    if dtype.is_numeric():
        return ColumnRule(Role.NUMBER, nullable=True)
    return ColumnRule(Role.OPAQUE, nullable=True)


def _policy(
    kind: str,
    producers: set[str],
    recipients: set[str],
    columns: dict[str, ColumnRule],
    aggregate: Aggregate | None = None,
) -> KindPolicy:
    """The policy of ``kind`` over its current contract.

    The contract decides the columns: a rule named here for a column the contract no
    longer has is dropped, and a contract column without a rule gets
    :func:`default_rule` (``tests/linkage/audit/test_policy.py`` reports both, so the
    policy is brought up to date when a contract changes).
    """
    contract = CONTRACTS[kind]
    recipients = recipients | {"auditor"}  # the auditor may hold every artifact (DESIGN §2)
    rules = {name: columns.get(name, default_rule(dtype)) for name, dtype in contract.items()}
    if aggregate is not None:
        figures = tuple(c for c in aggregate.figures if c in contract)
        aggregate = replace(aggregate, figures=figures)
    return KindPolicy(kind, contract, frozenset(producers), frozenset(recipients), rules, aggregate)


# The rules as written, before they are fitted to the contracts (kept for the drift test).
RULES: dict[str, dict[str, ColumnRule]] = {
    # a record has one row per recipe (and token): refs repeat, tokens may repeat up to
    # the frequency ceiling (voters of one household share the address token).
    "tokens": {"ref": _REF_REPEATED, "recipe": _LABEL, "token": _TOKEN},
    "campaign_payloads": {
        "ref": _REF_UNIQUE,
        "sealed_segments": _SEALED,
        "group": ColumnRule(Role.TOKEN, length=TOKEN_BYTES, nullable=True),
    },
    "operator_payloads": {"ref": _REF_UNIQUE, "sealed_boxes": _SEALED},
    "households": {"household": _REF_UNIQUE, "sealed_boxes": _SEALED},
    "members": {"household": _REF_REPEATED, "sealed_segments": _SEALED},
    "match_report": {
        "section": _LABEL,
        "name": _LABEL,
        "value": ColumnRule(Role.NUMBER, nullable=True),
    },
    "viewership": {
        "segment": _LABEL,
        "band": _LABEL,
        "day": ColumnRule(Role.DATE, nullable=True),
        "channel": _LABEL,
        "quarter_hour": ColumnRule(Role.NUMBER),
        "reach": ColumnRule(Role.NUMBER, nullable=True),
        "audience": ColumnRule(Role.NUMBER, nullable=True),
        "rating": ColumnRule(Role.NUMBER, nullable=True),
        "share": ColumnRule(Role.NUMBER, nullable=True),
        "suppressed": ColumnRule(Role.FLAG),
    },
    "segment_summary": {
        "segment": _LABEL,
        "band": _LABEL,
        "households": ColumnRule(Role.NUMBER, nullable=True),
        "suppressed": ColumnRule(Role.FLAG),
    },
}

_ROUTES: dict[str, tuple[set[str], set[str]]] = {
    "tokens": ({"campaign", "operator"}, {"matcher"}),
    "campaign_payloads": ({"campaign"}, {"matcher"}),
    "operator_payloads": ({"operator"}, {"matcher"}),
    "households": ({"matcher"}, {"measurement"}),
    "members": ({"matcher"}, {"measurement"}),
    "match_report": ({"matcher"}, {"campaign", "operator"}),
    "viewership": ({"measurement"}, {"campaign"}),
    "segment_summary": ({"measurement"}, {"campaign"}),
}

_AGGREGATES: dict[str, Aggregate] = {
    "viewership": Aggregate("reach", ("reach", "audience", "rating", "share")),
    "segment_summary": Aggregate("households", ("households",)),
}

POLICIES: dict[str, KindPolicy] = {
    kind: _policy(kind, *_ROUTES[kind], RULES.get(kind, {}), _AGGREGATES.get(kind))
    for kind in CONTRACTS
    if kind in _ROUTES
}


# Kinds each role must never receive, whatever a manifest says (DESIGN §2). Kinds the
# policies do not know (a viewing log, a key file, a crosswalk...) are refused to everyone.
NEVER_RECEIVES: dict[str, frozenset[str]] = {
    # names, PII, link keys, segment labels, box IDs and viewing never reach the matcher;
    # its own outputs never come back to it.
    "matcher": frozenset(
        {"households", "members", "viewership", "segment_summary", "match_report"}
    ),
    # no record ID of a list owner, no token, no list-owner report
    "measurement": frozenset({"tokens", "campaign_payloads", "operator_payloads", "match_report"}),
    # household-level outputs and the other side's tokens would single out people
    "campaign": frozenset(
        {"tokens", "campaign_payloads", "operator_payloads", "households", "members"}
    ),
    "operator": frozenset(
        {
            "tokens",
            "campaign_payloads",
            "operator_payloads",
            "households",
            "members",
            "viewership",
            "segment_summary",
        }
    ),
}


def kind_for_columns(schema: Mapping[str, pl.DataType]) -> str | None:
    """The kind whose contract has exactly these column names, if exactly one does."""
    names = set(schema)
    matches = [kind for kind, contract in CONTRACTS.items() if set(contract) == names]
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True)
class AuditContext:
    """The engagement facts an audit checks against.

    Build it from a loaded engagement with :meth:`from_engagement`, or by hand in tests.
    ``recipes`` holds the engagement's recipe objects (for ``lint_recipe``);
    ``recipe_names`` and ``segment_labels`` are the declared vocabularies (empty: not
    checked).
    """

    engagement_id: str
    k_min: int = DEFAULT_K_MIN
    frequency_ceiling: int = DEFAULT_FREQUENCY_CEILING
    recipe_names: tuple[str, ...] = ()
    segment_labels: tuple[str, ...] = ()
    recipes: tuple[Any, ...] = ()
    max_report_rows: int = DEFAULT_MAX_REPORT_ROWS
    dp_epsilon: float = 0.0  # > 0: aggregates are noisy, differencing checks do not apply
    public_keys: Mapping[str, Any] | None = None  # role -> bundle path (for signatures)

    @property
    def effective_k(self) -> int:
        """The k a cell is held to: the engagement's, never below the floor of 10."""
        return max(self.k_min, MIN_K)

    @classmethod
    def from_engagement(cls, engagement: Any) -> AuditContext:
        """The context of a ``hashing.engagement.Engagement``.

        Read through attributes only, so that this module does not import the party side:
        ``engagement_id``, ``privacy.k_min``, ``tokens.frequency_ceiling``, ``recipes``,
        ``segment_labels`` and ``parties.declared()`` with ``resolve_path``.
        """
        recipes = tuple(getattr(engagement, "recipes", ()))
        keys: dict[str, Any] = {}
        parties = getattr(engagement, "parties", None)
        if parties is not None and hasattr(parties, "declared"):
            for role, party in parties.declared().items():
                keys[role] = engagement.resolve_path(party.public_keys)
        return cls(
            engagement_id=str(engagement.engagement_id),
            k_min=int(engagement.privacy.k_min),
            frequency_ceiling=int(engagement.tokens.frequency_ceiling),
            recipe_names=tuple(str(r.name) for r in recipes),
            segment_labels=tuple(getattr(engagement, "segment_labels", ())),
            dp_epsilon=float(getattr(engagement.privacy, "dp_epsilon", 0.0)),
            recipes=recipes,
            public_keys=keys,
        )
