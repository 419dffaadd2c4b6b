"""Fellegi–Sunter scoring: m/u probabilities estimated without labels by EM.

The model (Fellegi and Sunter 1969; EM as in Winkler and Jaro): a pair is a match with
prior probability ``p``; given its class, each agreement feature agrees independently,
with probability ``m_i`` for a match and ``u_i`` for a non-match. EM alternates the
posterior match probability of every pattern (E) and the weighted frequencies (M).

Because the likelihood depends on a pair only through its agreement pattern, EM runs over
the *distinct patterns and their counts* (at most 2^F of them) instead of over pairs: the
cost does not grow with the data. The comparison space is every pair of records, |A| x |B|;
the pairs that share no token are never materialized, but they are in the model: they
are added as a count on the all-disagree pattern (``with_non_candidates``), which is what
lets ``u`` be estimated over the real comparison space.

recordlinkage's ``ECMClassifier`` runs the same iteration over unique rows and counts;
``fit_em`` starts from the same point by default and agrees with it (see the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from linkage.matching.config import EMSettings

# Probabilities are kept inside (EPS, 1 - EPS) so that no weight is infinite.
EPS = 1e-15

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class FSModel:
    """A fitted Fellegi–Sunter model over ``features``.

    ``m`` and ``u`` are per feature (NaN for a feature that never agrees: it carries no
    information and gets weight 0); ``p`` is the prior match probability of a pair of the
    comparison space.
    """

    features: tuple[str, ...]
    m: FloatArray
    u: FloatArray
    p: float
    iterations: int
    converged: bool

    @property
    def active(self) -> BoolArray:
        """Features that were estimated (they agree somewhere)."""
        return ~np.isnan(self.m)

    @property
    def agree_weights(self) -> FloatArray:
        """log2(m/u) per feature, in bits (0 for inactive features)."""
        m, u = self._clipped()
        return np.where(self.active, np.log2(m / u), 0.0)

    @property
    def disagree_weights(self) -> FloatArray:
        """log2((1-m)/(1-u)) per feature, in bits (0 for inactive features)."""
        m, u = self._clipped()
        return np.where(self.active, np.log2((1.0 - m) / (1.0 - u)), 0.0)

    @property
    def prior_log2_odds(self) -> float:
        """log2(p / (1 - p)): the weight a pair must overcome to be likelier a match."""
        p = min(max(self.p, EPS), 1.0 - EPS)
        return math.log2(p / (1.0 - p))

    def weights(self, gamma: BoolArray) -> FloatArray:
        """Match weight (bits) of each agreement row of ``gamma`` (shape K x F)."""
        g = np.asarray(gamma, dtype=bool)
        return np.where(g, self.agree_weights, self.disagree_weights).sum(axis=1)

    def posteriors(self, gamma: BoolArray) -> FloatArray:
        """P(match | pattern) of each row of ``gamma``."""
        total = self.weights(gamma) + self.prior_log2_odds
        return 1.0 / (1.0 + np.exp2(-np.clip(total, -1000.0, 1000.0)))

    def with_u_floor(self, floor: float) -> FSModel:
        """The same model with every u at least ``floor``.

        A feature that never agrees among the estimated non-matches gets u -> 0 and an
        unbounded weight; the pipeline floors u at one pair of the comparison space
        (``1 / (|A| x |B|)``): the data cannot show a rarer agreement than that.
        """
        return replace(self, u=np.where(self.active, np.maximum(self.u, floor), self.u))

    def _clipped(self) -> tuple[FloatArray, FloatArray]:
        m = np.clip(np.nan_to_num(self.m, nan=0.5), EPS, 1.0 - EPS)
        u = np.clip(np.nan_to_num(self.u, nan=0.5), EPS, 1.0 - EPS)
        return m, u


def gamma_from_masks(masks: npt.ArrayLike, n_features: int) -> BoolArray:
    """Agreement matrix (K x F) of integer bitmasks: column ``i`` is bit ``i``."""
    values = np.asarray(masks, dtype=np.int64).reshape(-1, 1)
    return ((values >> np.arange(n_features, dtype=np.int64)) & 1).astype(bool)


def with_non_candidates(
    masks: npt.ArrayLike, counts: npt.ArrayLike, comparison_space: int
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Add the pairs that share no token to the all-disagree pattern (mask 0).

    ``comparison_space`` is |A| x |B|; the candidate pairs are ``sum(counts)``.
    """
    m = np.asarray(masks, dtype=np.int64)
    c = np.asarray(counts, dtype=np.float64)
    rest = float(comparison_space) - float(c.sum())
    if rest < 0:
        raise ValueError("more candidate pairs than the comparison space holds")
    if (m == 0).any():
        c = c.copy()
        c[m == 0] += rest
        return m, c
    return np.concatenate([[0], m]), np.concatenate([[rest], c])


def fit_em(
    features: tuple[str, ...],
    gamma: BoolArray,
    counts: FloatArray,
    settings: EMSettings | None = None,
) -> FSModel:
    """Estimate m, u and p by EM over distinct agreement patterns and their counts.

    ``gamma`` (K x F, boolean) holds the distinct patterns, ``counts`` (K) how many pairs
    show each. A feature that never agrees is left out of the estimation (NaN m/u). The
    iteration is recordlinkage's ECM one (see ``FSModel.with_u_floor`` for what the
    pipeline does after it).
    """
    s = settings or EMSettings()
    g = np.asarray(gamma, dtype=bool)
    n = np.asarray(counts, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != n.shape[0] or g.shape[1] != len(features):
        raise ValueError("gamma must be K x F with one count per pattern and one name per column")
    total = float(n.sum())
    active = (g & (n > 0)[:, None]).any(axis=0)
    m_all = np.full(len(features), np.nan)
    u_all = np.full(len(features), np.nan)
    if total <= 0 or not active.any():
        return FSModel(features, m_all, u_all, 0.0, 0, True)

    x = g[:, active].astype(np.float64)
    m = np.full(x.shape[1], s.init_m)
    u = np.full(x.shape[1], s.init_u)
    p = s.init_p
    converged = False
    iterations = 0
    for iterations in range(1, s.max_iter + 1):  # noqa: B007 - the count is reported
        log_match = math.log(p) + x @ np.log(m) + (1.0 - x) @ np.log1p(-m)
        log_non = math.log1p(-p) + x @ np.log(u) + (1.0 - x) @ np.log1p(-u)
        diff = log_match - log_non
        post_match = n / (1.0 + np.exp(np.clip(-diff, -700.0, 700.0)))
        post_non = n / (1.0 + np.exp(np.clip(diff, -700.0, 700.0)))
        sum_match = float(post_match.sum())
        sum_non = float(post_non.sum())
        if sum_match <= 0.0 or sum_non <= 0.0:
            break
        new_m = np.clip(post_match @ x / sum_match, EPS, 1.0 - EPS)
        new_u = np.clip(post_non @ x / sum_non, EPS, 1.0 - EPS)
        new_p = min(max(sum_match / total, EPS), 1.0 - EPS)
        change = max(
            _log_change(new_m, m), _log_change(new_u, u), _log_change(np.array([new_p]), [p])
        )
        m, u, p = new_m, new_u, new_p
        if change < s.tol:
            converged = True
            break
    m_all[active] = m
    u_all[active] = u
    return FSModel(features, m_all, u_all, p, iterations, converged)


def _log_change(new: npt.ArrayLike, old: npt.ArrayLike) -> float:
    """Largest change of log(x) and log(1 - x) between two parameter vectors."""
    a = np.asarray(new, dtype=np.float64)
    b = np.asarray(old, dtype=np.float64)
    return float(
        max(
            np.abs(np.log(a) - np.log(b)).max(initial=0.0),
            np.abs(np.log1p(-a) - np.log1p(-b)).max(initial=0.0),
        )
    )
