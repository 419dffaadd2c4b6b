"""The per-kind policies stay in step with the frame contracts; the audit context."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hashing.engagement import load_engagement
from linkage.audit.policy import (
    NEVER_RECEIVES,
    POLICIES,
    RULES,
    AuditContext,
    Role,
    kind_for_columns,
)
from linkage.contracts import CONTRACTS, REF_BYTES, TOKEN_BYTES

ROOT = Path(__file__).resolve().parents[3]


def test_every_contract_kind_has_a_policy() -> None:
    assert set(POLICIES) == set(CONTRACTS)


def test_rules_name_exactly_the_contract_columns() -> None:
    # fails when a contract gains or loses a column: update RULES in policy.py
    for kind, contract in CONTRACTS.items():
        assert set(RULES[kind]) == set(contract), kind


def test_policies_follow_the_design_routes() -> None:
    assert POLICIES["tokens"].producers == {"campaign", "operator"}
    assert POLICIES["tokens"].recipients == {"matcher", "auditor"}
    assert POLICIES["households"].recipients == {"measurement", "auditor"}
    assert POLICIES["members"].recipients == {"measurement", "auditor"}
    assert POLICIES["match_report"].recipients == {"campaign", "operator", "auditor"}
    assert POLICIES["viewership"].recipients == {"campaign", "auditor"}
    for policy in POLICIES.values():
        for role in policy.recipients:
            assert policy.kind not in NEVER_RECEIVES.get(role, frozenset())


def test_binary_roles_have_the_contract_lengths() -> None:
    tokens = POLICIES["tokens"].columns
    assert tokens["token"].role is Role.TOKEN and tokens["token"].length == TOKEN_BYTES
    assert tokens["ref"].length == REF_BYTES and not tokens["ref"].unique
    assert POLICIES["campaign_payloads"].columns["ref"].unique
    assert POLICIES["households"].columns["household"].unique
    assert not POLICIES["members"].columns["household"].unique
    assert POLICIES["members"].columns["sealed_segments"].role is Role.SEALED


def test_aggregates_name_their_count_and_figures() -> None:
    agg = POLICIES["viewership"].aggregate
    assert agg is not None and agg.count == "reach"
    assert set(agg.figures) <= set(CONTRACTS["viewership"])
    assert POLICIES["tokens"].aggregate is None


def test_kind_is_inferred_from_columns() -> None:
    assert kind_for_columns(dict(CONTRACTS["members"])) == "members"
    assert kind_for_columns({"ref": pl.Binary(), "x": pl.String()}) is None


def test_context_from_the_sample_engagement() -> None:
    engagement = load_engagement(ROOT / "samples" / "engagement.toml")
    ctx = AuditContext.from_engagement(engagement)
    assert ctx.engagement_id == engagement.engagement_id
    assert ctx.k_min == engagement.privacy.k_min
    assert ctx.frequency_ceiling == engagement.tokens.frequency_ceiling
    assert ctx.recipe_names == engagement.recipe_names()
    assert ctx.segment_labels == engagement.segment_labels
    assert ctx.public_keys is not None and set(ctx.public_keys) >= {"campaign", "matcher"}


def test_effective_k_never_drops_under_ten() -> None:
    assert AuditContext("e", k_min=5).effective_k == 10
    assert AuditContext("e", k_min=80).effective_k == 80
