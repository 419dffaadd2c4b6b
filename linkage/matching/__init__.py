"""The matcher's library: blind multi-pass linkage of token files.

``match(campaign_tokens, operator_tokens, campaign_payloads, operator_payloads, config)``
finds candidate pairs by token equality, scores them with Fellegi–Sunter weights
estimated by EM (or a deterministic waterfall), reasons about households, assigns voters
to accounts and mints the outputs for measurement. See ``docs/matching.md``.

This package never sees key material or PII: it imports nothing from ``hashing`` but
``hashing.errors``.
"""

from linkage.matching.assign import REASONS, Assignment
from linkage.matching.config import GROUP_SUPPORT, EMSettings, MatchConfig, Recipe
from linkage.matching.em import FSModel, fit_em, gamma_from_masks, with_non_candidates
from linkage.matching.outputs import PAIRS
from linkage.matching.pipeline import MatchResult, match

__all__ = [
    "GROUP_SUPPORT",
    "PAIRS",
    "REASONS",
    "Assignment",
    "EMSettings",
    "FSModel",
    "MatchConfig",
    "MatchResult",
    "Recipe",
    "fit_em",
    "gamma_from_masks",
    "match",
    "with_non_candidates",
]
