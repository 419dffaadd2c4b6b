"""EM over pattern counts: the same estimates and classification as recordlinkage's
ECMClassifier, with the non-candidate pairs counted analytically."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import recordlinkage as rl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from linkage.matching import EMSettings, FSModel, fit_em, gamma_from_masks, with_non_candidates

TIGHT = EMSettings(max_iter=20_000, tol=1e-12)


def _vectors(seed: int, n_match: int, n_non: int, m: list[float], u: list[float]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = len(m)
    matches = rng.random((n_match, f)) < np.asarray(m)
    non = rng.random((n_non, f)) < np.asarray(u)
    return np.vstack([matches, non]).astype(np.int64)


def _ecm(x: np.ndarray, iterations: int | None = None) -> tuple[rl.ECMClassifier, pd.DataFrame]:
    """ECMClassifier fitted to convergence, or for exactly ``iterations`` rounds."""
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    if iterations is None:
        ecm = rl.ECMClassifier(binarize=None, max_iter=20_000, atol=1e-12)
    else:
        ecm = rl.ECMClassifier(binarize=None, max_iter=iterations, atol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ecm.fit(frame)
    return ecm, frame


def _ours(x: np.ndarray, iterations: int | None = None) -> tuple[np.ndarray, FSModel]:
    f = x.shape[1]
    masks = (x << np.arange(f)).sum(axis=1)
    unique, counts = np.unique(masks, return_counts=True)
    names = tuple(f"f{i}" for i in range(f))
    em = TIGHT if iterations is None else EMSettings(max_iter=iterations, tol=1e-300)
    model = fit_em(names, gamma_from_masks(unique, f), counts.astype(float), em)
    return masks, model


def _assert_agree(x: np.ndarray, iterations: int | None = None, atol: float = 1e-4) -> None:
    ecm, frame = _ecm(x, iterations)
    masks, model = _ours(x, iterations)
    f = x.shape[1]
    m_ecm = np.array([ecm.m_probs[f"f{i}"][1] for i in range(f)])
    u_ecm = np.array([ecm.u_probs[f"f{i}"][1] for i in range(f)])
    np.testing.assert_allclose(model.m, m_ecm, atol=atol)
    np.testing.assert_allclose(model.u, u_ecm, atol=atol)
    assert model.p == pytest.approx(ecm.p, abs=atol)
    theirs = np.asarray(frame.index.isin(ecm.predict(frame)))
    posterior = model.posteriors(gamma_from_masks(masks, f))
    clear = np.abs(posterior - 0.5) > 1e-3  # a pattern right at 0.5 may go either way
    assert clear.any()
    assert ((posterior > 0.5) == theirs)[clear].all()
    np.testing.assert_allclose(posterior, ecm.prob(frame).to_numpy(), atol=10 * atol)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_ecm_classifier(seed: int) -> None:
    # both run to convergence: the same fixed point
    x = _vectors(seed, 300, 4000, [0.95, 0.8, 0.7, 0.9], [0.05, 0.1, 0.02, 0.2])
    _assert_agree(x)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_match=st.integers(100, 400),
    n_non=st.integers(500, 3000),
    m=st.lists(st.floats(0.6, 0.98), min_size=2, max_size=5),
    u_scale=st.floats(0.01, 0.25),
)
def test_agrees_with_ecm_classifier_on_random_patterns(
    seed: int, n_match: int, n_non: int, m: list[float], u_scale: float
) -> None:
    # the same number of rounds from the same start: the same trajectory, step for step
    x = _vectors(seed, n_match, n_non, m, [u_scale] * len(m))
    assume(bool((x.min(axis=0) == 0).all() and (x.max(axis=0) == 1).all()))
    _assert_agree(x, iterations=60, atol=1e-9)


def test_non_candidate_pairs_counted_analytically_match_the_full_comparison_space() -> None:
    # every pair of a 60 x 50 comparison space, materialized for ECMClassifier; our EM sees
    # only the pairs that agree somewhere, plus the count of the others.
    rng = np.random.default_rng(5)
    n_a, n_b, f = 60, 50, 3
    x = np.zeros((n_a * n_b, f), dtype=np.int64)
    true = np.arange(40) * n_b + np.arange(40)  # voter i <-> account i for i < 40
    x[true] = rng.random((40, f)) < 0.9
    x[~np.isin(np.arange(n_a * n_b), true)] = rng.random((n_a * n_b - 40, f)) < 0.01
    ecm, _ = _ecm(x)
    candidates = x[x.any(axis=1)]
    masks = (candidates << np.arange(f)).sum(axis=1)
    unique, counts = np.unique(masks, return_counts=True)
    all_masks, all_counts = with_non_candidates(unique, counts, n_a * n_b)
    assert all_counts.sum() == n_a * n_b
    model = fit_em(("f0", "f1", "f2"), gamma_from_masks(all_masks, f), all_counts, TIGHT)
    for i in range(f):
        assert model.m[i] == pytest.approx(ecm.m_probs[f"f{i}"][1], abs=1e-5)
        assert model.u[i] == pytest.approx(ecm.u_probs[f"f{i}"][1], abs=1e-6)
    assert model.p == pytest.approx(ecm.p, abs=1e-6)


def test_weights_are_log2_likelihood_ratios() -> None:
    x = _vectors(3, 300, 3000, [0.9, 0.8], [0.1, 0.05])
    _, model = _ours(x)
    m, u = model.m, model.u
    agree = model.weights(np.array([[True, False]]))[0]
    assert agree == pytest.approx(math.log2(m[0] / u[0]) + math.log2((1 - m[1]) / (1 - u[1])))
    # the posterior combines the weight with the prior odds
    p = model.p
    odds = 2 ** (agree + math.log2(p / (1 - p)))
    posterior = model.posteriors(np.array([[True, False]]))[0]
    assert posterior == pytest.approx(odds / (1 + odds))


def test_a_feature_that_never_agrees_carries_no_weight() -> None:
    gamma = gamma_from_masks([0, 1, 3], 3)  # feature 2 never agrees
    model = fit_em(("a", "b", "never"), gamma, np.array([1000.0, 30.0, 50.0]))
    assert math.isnan(model.m[2]) and math.isnan(model.u[2])
    assert model.agree_weights[2] == 0 and model.disagree_weights[2] == 0
    assert model.active.tolist() == [True, True, False]


def test_more_candidates_than_the_comparison_space_is_an_error() -> None:
    with pytest.raises(ValueError):
        with_non_candidates([1, 2], [10, 10], 15)


def test_all_disagree_pattern_already_present_gets_the_rest() -> None:
    masks, counts = with_non_candidates([0, 1], [5, 10], 100)
    assert masks.tolist() == [0, 1]
    assert counts.tolist() == [90.0, 10.0]


def test_the_u_floor_bounds_the_weight_of_a_feature_never_seen_among_non_matches() -> None:
    gamma = gamma_from_masks([0, 1, 3], 2)  # feature 1 agrees only with feature 0
    model = fit_em(("a", "b"), gamma, np.array([1e6, 20.0, 500.0]), TIGHT)
    floored = model.with_u_floor(1e-6)
    assert floored.u[1] == pytest.approx(max(model.u[1], 1e-6))
    assert floored.agree_weights[1] <= math.log2(1 / 1e-6)
    assert floored.m.tolist() == model.m.tolist() and floored.p == model.p
