"""The media plan: rate card, slot ranking by CPM, greedy and exact knapsack within the
budget, suppressed cells never bought, the naive baseline and the comparison."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from hashing.errors import InputError
from linkage.contracts import MATCH_REPORT, SEGMENT_SUMMARY, VIEWERSHIP
from linkage.plan import (
    DAYPARTS,
    PLAN_SLOTS,
    RATE_CARD_PATH,
    compare_plans,
    daypart_of,
    exact_knapsack,
    greedy_knapsack,
    load_rate_card,
    lp_bound,
    naive_plan,
    plan_buy,
    rank_slots,
    slot_costs,
)

ROOT = Path(__file__).resolve().parents[2]

# --- small frames that respect the contracts (the report tests use them too) ------------

Cell = tuple[str, str, str, int]  # segment, band, channel, quarter_hour


def _row(
    segment: str, band: str, day: date | None, channel: str, qh: int, audience: float | None
) -> tuple[object, ...]:
    if audience is None:
        return (segment, band, day, channel, qh, None, None, None, None, True)
    return (segment, band, day, channel, qh, audience * 1.5, audience, audience / 1000, 0.1, False)


def viewership_frame(
    cells: Mapping[Cell, float | None], *, day_rows: Mapping[Cell, float] | None = None
) -> pl.DataFrame:
    """Averaged rows (day null) from ``{(segment, band, channel, qh): audience}``, ``None``
    for a suppressed cell; ``day_rows`` adds rows of one day, which plans must ignore."""
    rows = [_row(s, b, None, c, q, a) for (s, b, c, q), a in cells.items()]
    rows += [_row(s, b, date(2026, 3, 2), c, q, a) for (s, b, c, q), a in (day_rows or {}).items()]
    return pl.DataFrame(rows, schema=VIEWERSHIP, orient="row")


def segment_summary_frame(households: Mapping[tuple[str, str], float | None]) -> pl.DataFrame:
    rows = [(s, b, h, h is None) for (s, b), h in households.items()]
    return pl.DataFrame(rows, schema=SEGMENT_SUMMARY, orient="row")


def match_report_frame(values: Mapping[tuple[str, str], float]) -> pl.DataFrame:
    return pl.DataFrame(
        [(s, n, v) for (s, n), v in values.items()], schema=MATCH_REPORT, orient="row"
    )


def flat_rate_card(prices: Mapping[str, float]) -> pl.DataFrame:
    """Every daypart of each channel at the same price."""
    rows = [(ch, name, price) for ch, price in prices.items() for name, _, _ in DAYPARTS]
    return pl.DataFrame(
        rows, schema={"channel": pl.String, "daypart": pl.String, "cost": pl.Float64}, orient="row"
    )


def target(cells: Mapping[tuple[str, int], float | None]) -> dict[Cell, float | None]:
    """Cells of persuadable light viewers, plus all/all at ten times the audience."""
    out: dict[Cell, float | None] = {}
    for (ch, qh), a in cells.items():
        out[("persuadable", "light", ch, qh)] = a
        out[("all", "all", ch, qh)] = None if a is None else a * 10
    return out


# --- rate card ---------------------------------------------------------------------------


def test_dayparts_cover_every_quarter_hour_once_as_declared() -> None:
    assert daypart_of(0) == "late" and daypart_of(7) == "late"  # 23:00-02:00 wraps
    assert daypart_of(8) == "overnight" and daypart_of(23) == "overnight"
    assert daypart_of(24) == "early_morning" and daypart_of(35) == "early_morning"
    assert daypart_of(36) == "daytime" and daypart_of(63) == "daytime"
    assert daypart_of(64) == "early_fringe" and daypart_of(75) == "early_fringe"
    assert [daypart_of(q) for q in range(76, 80)] == ["prime_access"] * 4
    assert daypart_of(80) == "prime" and daypart_of(91) == "prime"
    assert daypart_of(92) == "late" and daypart_of(95) == "late"
    hours = sum((end - first) % 24 for _, first, end in DAYPARTS)
    assert hours == 24
    with pytest.raises(ValueError):
        daypart_of(96)


def test_the_sample_rate_card_prices_every_channel_and_daypart() -> None:
    card = load_rate_card()
    channels = pl.read_csv(ROOT / "samples" / "world" / "measurement" / "channels.csv")
    assert RATE_CARD_PATH.name == "rate_card.csv"
    assert card.height == 60 * len(DAYPARTS)
    assert set(card["channel"]) == set(channels["channel"])
    assert (card["cost"] > 0).all()
    wide = card.pivot(on="daypart", index="channel", values="cost").join(channels, on="channel")
    # prime is each channel's dearest daypart and overnight its cheapest
    others = [name for name, _, _ in DAYPARTS if name != "prime"]
    assert wide.filter(pl.any_horizontal(pl.col(c) > pl.col("prime") for c in others)).height == 0
    assert (
        wide.filter(pl.any_horizontal(pl.col(c) < pl.col("overnight") for c in others)).height == 0
    )
    # news and sports cost more in prime than the median entertainment channel
    by_genre = wide.group_by("genre").agg(pl.col("prime").median()).rows_by_key("genre")
    assert by_genre["news"][0] > by_genre["entertainment"][0]
    assert by_genre["sports"][0] > by_genre["entertainment"][0]
    assert by_genre["local"][0] > by_genre["sports"][0]


def test_a_rate_card_with_gaps_or_bad_prices_is_refused_naming_each_problem(
    tmp_path: Path,
) -> None:
    path = tmp_path / "card.csv"
    path.write_text(
        "channel,daypart,cost\nCH01,prime,100\nCH01,prime,120\nCH01,brunch,50\nCH02,prime,-5\n"
    )
    with pytest.raises(InputError) as err:
        load_rate_card(path)
    text = str(err.value)
    assert "brunch" in text
    assert "non-positive" in text
    assert "more than once" in text
    assert "without a price" in text
    with pytest.raises(InputError, match="cannot read"):
        load_rate_card(tmp_path / "missing.csv")


def test_slot_costs_price_each_quarter_hour_by_its_daypart() -> None:
    card = load_rate_card()
    costs = slot_costs(card).filter(pl.col("channel") == "CH01")
    assert costs.height == 96
    by_qh = dict(zip(costs["quarter_hour"], costs["cost"], strict=True))
    price = dict(card.filter(pl.col("channel") == "CH01").select("daypart", "cost").iter_rows())
    assert by_qh[81] == price["prime"]
    assert by_qh[10] == price["overnight"]


# --- ranking ----------------------------------------------------------------------------


def test_slots_are_ranked_by_cost_per_thousand_target_households() -> None:
    v = viewership_frame(target({("CH01", 80): 50.0, ("CH02", 80): 10.0, ("CH03", 80): 40.0}))
    card = flat_rate_card({"CH01": 200.0, "CH02": 20.0, "CH03": 100.0})
    ranked = rank_slots(v, card, segment="persuadable", band="light")
    assert ranked.schema == pl.Schema(PLAN_SLOTS)
    # CPMs: CH01 4000, CH02 2000, CH03 2500
    assert ranked["channel"].to_list() == ["CH02", "CH03", "CH01"]
    assert ranked["cpm"].to_list() == pytest.approx([2000.0, 2500.0, 4000.0])
    assert ranked["rank"].to_list() == [1, 2, 3]
    assert ranked["time"].to_list() == ["20:00"] * 3
    assert ranked["daypart"].to_list() == ["prime"] * 3


def test_suppressed_cells_and_day_rows_are_never_bought() -> None:
    cells = target({("CH01", 80): 20.0, ("CH02", 80): None, ("CH03", 80): 5.0})
    v = viewership_frame(cells, day_rows={("persuadable", "light", "CH02", 81): 900.0})
    card = flat_rate_card({"CH01": 100.0, "CH02": 1.0, "CH03": 100.0})
    ranked = rank_slots(v, card, segment="persuadable", band="light")
    assert "CH02" not in ranked["channel"].to_list()
    for method in ("greedy", "exact"):
        plan = plan_buy(v, card, segment="persuadable", band="light", budget=1e6, method=method)
        assert "CH02" not in plan.slots["channel"].to_list()
        assert plan.slots.height == 2
        assert plan.suppressed_cells == 1
        assert plan.target_impressions == pytest.approx(25.0)


def test_an_unknown_target_or_a_bad_budget_is_an_input_error() -> None:
    v = viewership_frame(target({("CH01", 80): 20.0}))
    card = flat_rate_card({"CH01": 100.0})
    with pytest.raises(InputError, match="no rows for segment 'nobody'"):
        plan_buy(v, card, segment="nobody", band="light", budget=100)
    with pytest.raises(InputError, match="budget"):
        plan_buy(v, card, segment="persuadable", band="light", budget=-1)
    with pytest.raises(InputError, match="method"):
        plan_buy(v, card, segment="persuadable", band="light", budget=1, method="magic")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="contract"):
        plan_buy(v.drop("audience"), card, segment="persuadable", band="light", budget=1)


# --- the knapsack -----------------------------------------------------------------------


def _brute_force(costs: list[float], values: list[float], budget: float) -> float:
    best = 0.0
    for mask in itertools.product((0, 1), repeat=len(costs)):
        c = sum(x for x, m in zip(costs, mask, strict=True) if m)
        if c <= budget:
            best = max(best, sum(x for x, m in zip(values, mask, strict=True) if m))
    return best


def test_exact_is_the_brute_force_optimum_and_greedy_never_beats_it() -> None:
    rng = random.Random(7)
    for _ in range(60):
        n = rng.randint(1, 10)
        costs = [float(rng.choice(range(5, 105, 5))) for _ in range(n)]
        values = [round(rng.uniform(1, 50), 2) for _ in range(n)]
        budget = float(rng.randint(0, int(sum(costs))))
        best = _brute_force(costs, values, budget)
        exact = exact_knapsack(costs, values, budget)
        greedy = greedy_knapsack(costs, values, budget)
        assert exact.optimal
        assert sum(costs[i] for i in exact.indices) <= budget
        assert sum(costs[i] for i in greedy) <= budget
        got = sum(values[i] for i in exact.indices)
        assert got == pytest.approx(best)
        assert sum(values[i] for i in greedy) <= got + 1e-9
        assert got <= lp_bound(costs, values, budget) + 1e-9


def test_greedy_equals_exact_where_it_must() -> None:
    # everything fits: both buy everything
    costs, values = [10.0, 20.0, 30.0], [1.0, 5.0, 2.0]
    assert sorted(greedy_knapsack(costs, values, 60)) == [0, 1, 2]
    assert sorted(exact_knapsack(costs, values, 60).indices) == [0, 1, 2]
    # equal prices: both buy the largest audiences
    costs, values = [10.0] * 5, [3.0, 9.0, 1.0, 7.0, 5.0]
    order = sorted(range(5), key=lambda i: -values[i])
    greedy = greedy_knapsack(costs, [values[i] for i in order], 30)
    assert sorted(order[i] for i in greedy) == [1, 3, 4]
    assert sorted(exact_knapsack(costs, values, 30).indices) == [1, 3, 4]


def test_greedy_can_fall_short_and_the_check_reports_the_gap() -> None:
    # by CPM the $60 slot comes first, then nothing else fits; two $50 slots are worth more
    v = viewership_frame(target({("CH01", 80): 7.2, ("CH02", 80): 5.0, ("CH03", 80): 5.0}))
    card = flat_rate_card({"CH01": 60.0, "CH02": 50.0, "CH03": 50.0})
    greedy = plan_buy(v, card, segment="persuadable", band="light", budget=100)
    exact = plan_buy(v, card, segment="persuadable", band="light", budget=100, method="exact")
    assert greedy.slots["channel"].to_list() == ["CH01"]
    assert sorted(exact.slots["channel"].to_list()) == ["CH02", "CH03"]
    assert greedy.check is not None and exact.check is not None
    assert greedy.check.greedy == pytest.approx(7.2)
    assert greedy.check.exact == pytest.approx(10.0)
    assert greedy.check.exact_optimal
    assert greedy.check.gap_to_exact == pytest.approx(0.28)
    assert greedy.check.lp_bound >= 10.0
    assert exact.target_impressions == pytest.approx(10.0)


def test_greedy_takes_the_best_single_slot_when_that_alone_is_worth_more() -> None:
    costs, values = [1.0, 100.0], [2.0, 150.0]  # CPM order: the $1 slot first
    assert greedy_knapsack(costs, values, 100) == [1]


def test_a_coarse_dp_stays_within_budget_but_claims_no_optimum() -> None:
    rng = random.Random(3)
    costs = [float(rng.randint(1, 500)) + 0.37 for _ in range(40)]
    values = [rng.uniform(1, 30) for _ in range(40)]
    fine = exact_knapsack(costs, values, 2000)
    coarse = exact_knapsack(costs, values, 2000, max_cells=4000)
    assert fine.optimal and not coarse.optimal
    assert coarse.unit > fine.unit
    assert sum(costs[i] for i in coarse.indices) <= 2000
    assert sum(values[i] for i in coarse.indices) <= sum(values[i] for i in fine.indices) + 1e-9


def test_plans_stay_within_budget_on_random_grids() -> None:
    rng = random.Random(11)
    channels = [f"CH{i:02d}" for i in range(1, 7)]
    cells = {
        (ch, qh): (None if rng.random() < 0.3 else round(rng.uniform(1, 40), 2))
        for ch in channels
        for qh in range(0, 96, 4)
    }
    v = viewership_frame(target(cells))
    card = load_rate_card().filter(pl.col("channel").is_in(channels))
    for budget in (0, 50, 999, 5_000, 1e7):
        for method in ("greedy", "exact"):
            plan = plan_buy(
                v, card, segment="persuadable", band="light", budget=budget, method=method
            )
            assert plan.spent <= budget + 1e-9
            assert plan.slots["audience"].null_count() == 0
        naive = naive_plan(v, card, segment="persuadable", band="light", budget=budget)
        assert naive.spent <= budget + 1e-9


# --- naive plan and comparison ----------------------------------------------------------


def test_naive_plan_buys_the_most_watched_slots_and_bounds_unknown_target_cells() -> None:
    cells: dict[Cell, float | None] = {
        ("all", "all", "CH01", 80): 500.0,
        ("all", "all", "CH02", 80): 300.0,
        ("all", "all", "CH03", 80): 100.0,
        ("persuadable", "light", "CH01", 80): None,  # suppressed
        ("persuadable", "light", "CH02", 80): 9.0,
        ("persuadable", "light", "CH03", 80): 30.0,
        ("persuadable", "all", "CH01", 80): 40.0,  # bounds the suppressed cell
        ("all", "light", "CH01", 80): 60.0,
    }
    v = viewership_frame(cells)
    card = flat_rate_card({"CH01": 100.0, "CH02": 100.0, "CH03": 100.0})
    naive = naive_plan(v, card, segment="persuadable", band="light", budget=200)
    assert naive.slots["channel"].to_list() == ["CH01", "CH02"]
    assert naive.unknown_slots == 1
    assert naive.target_impressions == pytest.approx(9.0)
    assert naive.target_impressions_upper == pytest.approx(49.0)  # min(40, 60, 500) + 9
    assert naive.cost_per_target == pytest.approx(200 / 9)
    assert naive.cost_per_target_best_case == pytest.approx(200 / 49)

    comparison = compare_plans(v, card, segment="persuadable", band="light", budget=200)
    assert sorted(comparison.plan.slots["channel"].to_list()) == ["CH02", "CH03"]
    assert comparison.plan.cost_per_target == pytest.approx(200 / 39)
    assert comparison.ratio == pytest.approx((200 / 9) / (200 / 39))
    table = comparison.table()
    assert table["plan"].to_list() == ["targeted", "naive"]
    assert table["cost_per_target"].to_list() == pytest.approx([200 / 39, 200 / 9])


def test_plan_summary_names_every_figure() -> None:
    v = viewership_frame(target({("CH01", 80): 20.0, ("CH02", 40): 10.0}))
    plan = plan_buy(
        v,
        flat_rate_card({"CH01": 100.0, "CH02": 30.0}),
        segment="persuadable",
        band="light",
        budget=130,
    )
    summary = dict(plan.summary().select("name", "value").iter_rows())
    assert summary["spent"] == pytest.approx(130.0)
    assert summary["target_impressions"] == pytest.approx(30.0)
    assert summary["cost_per_target"] == pytest.approx(130 / 30)
    assert summary["gap_greedy_to_exact"] == pytest.approx(0.0)


# --- on a demo world ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_viewership(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    from hashing.keys import ScryptParams
    from linkage.demo import run_demo

    out = tmp_path_factory.mktemp("plan-demo")
    result = run_demo(out, voters=20_000, seed=7, days=3, scrypt=ScryptParams.for_tests())
    return result.results["viewership"]


def test_the_targeted_plan_beats_the_naive_one_on_a_demo_world(
    demo_viewership: pl.DataFrame,
) -> None:
    # 20,000 voters publish few light-viewer cells; persuadable voters of every band have
    # hundreds. (bench/bench_plan.py measures persuadable light viewers on 60,000 voters.)
    comparison = compare_plans(
        demo_viewership, load_rate_card(), segment="persuadable", band="all", budget=20_000
    )
    plan, naive = comparison.plan, comparison.naive
    assert plan.spent <= 20_000 and naive.spent <= 20_000
    assert plan.cost_per_target is not None and naive.cost_per_target_best_case is not None
    assert plan.cost_per_target < naive.cost_per_target_best_case
    assert comparison.ratio_best_case is not None and comparison.ratio_best_case > 1.2
    assert plan.check is not None and plan.check.exact_optimal
    assert plan.check.gap_to_exact < 0.01
