"""A media plan from the campaign's viewership: where to buy 30-second spots so that a
budget reaches as many target households as it can.

A *slot* is one channel × quarter-hour of the day. Its *audience* is the target segment and
band's average quarter-hour audience from measurement's averaged rows (``day`` null): the
households of the target that watch that slot on an average day. Its *cost* is the rate
card's price of one 30-second spot in the slot's daypart. Buying a slot buys one spot there,
once; a slot is bought whole or not at all.

The plan maximizes the **sum of audiences** of the bought slots within the budget: target
*impressions*, not distinct households. Measurement publishes aggregate cells only, so a
household that watches two bought slots is counted twice and nobody can tell how many
distinct households a buy reaches: deduplicating reach across slots needs household-level
data, which never leaves measurement. That is the honest limit of aggregate data.

Choosing slots under a budget is a 0/1 knapsack (value = audience, weight = cost):

* ``greedy``: slots in order of cost per thousand target households (CPM = cost / audience ×
  1000), each taken if it still fits, then compared with the best single slot (which makes
  it a ½-approximation in the worst case). When every slot is small against the budget its
  shortfall is at most one slot's audience: it is the media buyer's classic and nearly
  optimal here.
* ``exact``: dynamic programming over the budget in units of the greatest common divisor
  of the prices (rate cards are in whole dollars, usually multiples of $5), O(slots ×
  budget / unit) time and bits. Beyond ``max_dp_cells`` the prices are rounded *up* to a
  coarser unit, so the buy stays within budget but is no longer proven optimal.
* the LP relaxation (fractional knapsack) bounds every 0/1 buy from above.

Every plan reports the greedy value, the DP value and the LP bound, and the gaps between
them (``OptimalityCheck``).

Suppressed cells are never bought: their audience is not published. The ``naive_plan``
baseline buys the most-watched slots of all households (segment and band ``all``), as a
buyer with ratings but no target data would; where its slot's target cell is suppressed its
target audience is unknown, so it is reported as a range: 0 at least, and at most the
smallest published audience of a larger group of households containing the target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from hashing.errors import InputError
from linkage.contracts import check_frame

RATE_CARD_PATH = Path(__file__).resolve().parent.parent / "samples" / "rate_card.csv"

DAYPARTS: tuple[tuple[str, int, int], ...] = (
    ("early_morning", 6, 9),
    ("daytime", 9, 16),
    ("early_fringe", 16, 19),
    ("prime_access", 19, 20),
    ("prime", 20, 23),
    ("late", 23, 2),
    ("overnight", 2, 6),
)
"""(name, first hour, end hour): each daypart runs from its first hour to its end hour,
local time, wrapping at midnight; together they cover the 24 hours once."""

RATE_CARD: dict[str, pl.DataType] = {
    "channel": pl.String(),
    "daypart": pl.String(),
    "cost": pl.Float64(),  # US dollars for one 30-second spot
}

PLAN_SLOTS: dict[str, pl.DataType] = {
    "rank": pl.UInt32(),  # order of purchase (greedy, naive) or of CPM (exact)
    "channel": pl.String(),
    "quarter_hour": pl.Int16(),
    "time": pl.String(),  # "20:15", start of the quarter-hour
    "daypart": pl.String(),
    "cost": pl.Float64(),
    "audience": pl.Float64(),  # target audience; null where the target cell is suppressed
    "cpm": pl.Float64(),  # cost per thousand target households; null where suppressed
    "audience_upper": pl.Float64(),  # audience, or a published upper bound where suppressed
}

Method = Literal["greedy", "exact"]
METHODS: tuple[str, ...] = ("greedy", "exact")
NaiveBy = Literal["audience", "cpm"]

DEFAULT_MAX_DP_CELLS = 64_000_000


def quarter_hour_label(qh: int) -> str:
    """``81`` → ``"20:15"``: the start of a quarter-hour of the day."""
    return f"{qh // 4:02d}:{(qh % 4) * 15:02d}"


def daypart_of(quarter_hour: int) -> str:
    """The daypart a quarter-hour (0..95) falls in: ``daypart_of(80) == "prime"``."""
    if not 0 <= quarter_hour < 96:
        raise ValueError(f"quarter_hour must be 0..95, got {quarter_hour}")
    hour = quarter_hour // 4
    for name, first, end in DAYPARTS:
        inside = first <= hour < end if first < end else (hour >= first or hour < end)
        if inside:
            return name
    raise AssertionError("DAYPARTS do not cover the day")  # pragma: no cover


def _daypart_table() -> pl.DataFrame:
    qhs = list(range(96))
    return pl.DataFrame(
        {
            "quarter_hour": pl.Series(qhs, dtype=pl.Int16),
            "daypart": [daypart_of(q) for q in qhs],
            "time": [quarter_hour_label(q) for q in qhs],
        }
    )


def check_rate_card(rate_card: pl.DataFrame, *, source: str = "rate card") -> pl.DataFrame:
    """The rate card as ``RATE_CARD`` (cost cast to Float64), or ``InputError`` naming every
    problem: missing columns, unknown dayparts, duplicate or missing (channel, daypart)
    rows, costs that are not positive numbers."""
    missing = [c for c in RATE_CARD if c not in rate_card.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(repr(c) for c in missing)}")
    try:
        card = rate_card.select(
            pl.col("channel").cast(pl.String),
            pl.col("daypart").cast(pl.String),
            pl.col("cost").cast(pl.Float64),
        )
    except pl.exceptions.PolarsError as e:
        raise InputError(f"{source}: column 'cost' must be numeric (US dollars)") from e
    problems: list[str] = []
    names = {name for name, _, _ in DAYPARTS}
    unknown = sorted(set(card["daypart"].drop_nulls()) - names)
    if unknown:
        problems.append(
            f"unknown daypart(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})"
        )
    if card["channel"].null_count() or card["daypart"].null_count():
        problems.append("blank channel or daypart")
    bad_cost = card.filter(pl.col("cost").is_null() | ~(pl.col("cost") > 0)).height
    if bad_cost:
        problems.append(f"{bad_cost} row(s) with a missing or non-positive cost")
    dup = card.group_by("channel", "daypart").len().filter(pl.col("len") > 1).height
    if dup:
        problems.append(f"{dup} (channel, daypart) pair(s) listed more than once")
    channels = card["channel"].drop_nulls().unique()
    gaps = (
        len(channels) * len(names)
        - card.filter(pl.col("daypart").is_in(names)).unique(["channel", "daypart"]).height
    )
    if gaps > 0:
        problems.append(f"{gaps} (channel, daypart) pair(s) without a price")
    if problems:
        raise InputError(f"{source}: " + "; ".join(problems))
    return card


def load_rate_card(path: Path | None = None) -> pl.DataFrame:
    """Read a rate card CSV (``channel,daypart,cost``; default ``samples/rate_card.csv``)."""
    path = Path(path) if path is not None else RATE_CARD_PATH
    try:
        frame = pl.read_csv(path, schema_overrides={"cost": pl.Float64})
    except (OSError, pl.exceptions.PolarsError) as e:
        raise InputError(f"{path}: cannot read the rate card as CSV ({type(e).__name__})") from e
    return check_rate_card(frame, source=str(path))


def slot_costs(rate_card: pl.DataFrame) -> pl.DataFrame:
    """The price of every channel × quarter-hour: channel, quarter_hour, time, daypart, cost."""
    card = check_rate_card(rate_card)
    return card.join(_daypart_table(), on="daypart").select(
        "channel", "quarter_hour", "time", "daypart", "cost"
    )


def _averaged(viewership: pl.DataFrame | pl.LazyFrame, segment: str, band: str) -> pl.LazyFrame:
    return (
        viewership.lazy()
        .filter((pl.col("segment") == segment) & (pl.col("band") == band) & pl.col("day").is_null())
        .select("channel", "quarter_hour", "audience", "suppressed")
    )


def _check_target(viewership: pl.DataFrame | pl.LazyFrame, segment: str, band: str) -> None:
    check_frame(viewership, "viewership")
    present = (
        viewership.lazy()
        .filter((pl.col("segment") == segment) & (pl.col("band") == band))
        .select(pl.len())
        .collect()
        .item()
    )
    if not present:
        raise InputError(
            f"viewership has no rows for segment '{segment}' and band '{band}':"
            " check the segment label and the band (all, light, medium, heavy)"
        )


def rank_slots(
    viewership: pl.DataFrame | pl.LazyFrame,
    rate_card: pl.DataFrame,
    *,
    segment: str,
    band: str,
) -> pl.DataFrame:
    """Every slot that can be bought for a target, cheapest per target household first.

    A slot qualifies when its averaged cell (day null) is published and has a positive
    audience, and the rate card prices it. Columns as ``PLAN_SLOTS``; ``rank`` is the CPM
    order (ties: larger audience, then channel, then quarter-hour).
    """
    _check_target(viewership, segment, band)
    costs = slot_costs(rate_card).lazy()
    ranked = (
        _averaged(viewership, segment, band)
        .filter(~pl.col("suppressed") & (pl.col("audience") > 0))
        .join(costs, on=["channel", "quarter_hour"], how="inner")
        .with_columns(
            (pl.col("cost") / pl.col("audience") * 1000.0).alias("cpm"),
            pl.col("audience").alias("audience_upper"),
        )
        .sort(
            ["cpm", "audience", "channel", "quarter_hour"], descending=[False, True, False, False]
        )
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("rank"))
        .select(list(PLAN_SLOTS))
        .collect()
    )
    return ranked


# --- the knapsack ---------------------------------------------------------------------


def fill_in_order(costs: Sequence[float], budget: float) -> list[int]:
    """Indices of the items taken in the given order, each if it still fits the budget."""
    taken: list[int] = []
    spent = 0.0
    for i, c in enumerate(costs):
        if spent + c <= budget + 1e-9:
            taken.append(i)
            spent += c
    return taken


def greedy_knapsack(costs: Sequence[float], values: Sequence[float], budget: float) -> list[int]:
    """Indices bought by greedy: items in the given order (best value per dollar first),
    each taken if it still fits; then the best single affordable item instead, if that
    alone is worth more (which bounds the loss at half the optimum)."""
    taken = fill_in_order(costs, budget)
    total = sum(values[i] for i in taken)
    affordable = [i for i, c in enumerate(costs) if c <= budget + 1e-9]
    if affordable:
        best = max(affordable, key=lambda i: (values[i], -i))
        if values[best] > total:
            return [best]
    return taken


def lp_bound(costs: Sequence[float], values: Sequence[float], budget: float) -> float:
    """The fractional-knapsack optimum: an upper bound on the value of any 0/1 buy."""
    order = sorted(
        (i for i in range(len(costs)) if values[i] > 0),
        key=lambda i: values[i] / costs[i],
        reverse=True,
    )
    left, total = float(budget), 0.0
    for i in order:
        if costs[i] <= left:
            left -= costs[i]
            total += values[i]
        else:
            total += values[i] * left / costs[i]
            break
    return total


@dataclass(frozen=True)
class KnapsackSolution:
    """A DP solution: ``indices`` bought, ``unit`` in dollars of one budget step, and
    ``optimal`` false when prices had to be rounded up to a coarser unit to fit
    ``max_cells``."""

    indices: list[int]
    unit: float
    optimal: bool


def exact_knapsack(
    costs: Sequence[float],
    values: Sequence[float],
    budget: float,
    *,
    max_cells: int = DEFAULT_MAX_DP_CELLS,
) -> KnapsackSolution:
    """0/1 knapsack by dynamic programming over the budget in whole cents.

    The step is the greatest common divisor of the prices in cents, so for a rate card in
    whole dollars the result is the proven optimum. When items × steps would pass
    ``max_cells`` (one byte each), prices are rounded up to a coarser step: the buy still
    fits the budget, but ``optimal`` is false.
    """
    n = len(costs)
    budget_cents = math.floor(budget * 100 + 1e-6)
    if n == 0 or budget_cents <= 0:
        return KnapsackSolution([], 0.01, True)
    cents = [max(1, round(c * 100)) for c in costs]
    unit = reduce(math.gcd, cents)
    optimal = True
    if n * (budget_cents // unit + 1) > max_cells:
        unit = max(unit, math.ceil(budget_cents * n / max_cells))
        optimal = False
    weights = np.array([-(-c // unit) for c in cents], dtype=np.int64)  # ceil
    cap = budget_cents // unit
    vals = np.asarray(values, dtype=np.float64)
    best = np.zeros(cap + 1, dtype=np.float64)  # best value within capacity c
    keep = np.zeros((n, cap + 1), dtype=np.bool_)
    for i in range(n):
        w = int(weights[i])
        if w > cap or vals[i] <= 0:
            continue
        candidate = best[: cap + 1 - w] + vals[i]
        better = candidate > best[w:]
        keep[i, w:] = better
        best[w:] = np.where(better, candidate, best[w:])
    chosen: list[int] = []
    c = cap
    for i in range(n - 1, -1, -1):
        if keep[i, c]:
            chosen.append(i)
            c -= int(weights[i])
    chosen.reverse()
    return KnapsackSolution(chosen, unit / 100.0, optimal)


@dataclass(frozen=True)
class OptimalityCheck:
    """How close the greedy buy is to the best possible one, in target impressions."""

    greedy: float
    exact: float  # the DP's buy (the optimum when ``exact_optimal``)
    exact_optimal: bool
    lp_bound: float  # no 0/1 buy within budget can do better
    dp_unit: float  # dollars per DP budget step

    @property
    def gap_to_exact(self) -> float:
        """(exact − greedy) / exact: the share of the optimum that greedy leaves."""
        return (self.exact - self.greedy) / self.exact if self.exact > 0 else 0.0

    @property
    def gap_to_bound(self) -> float:
        """(LP bound − greedy) / LP bound: greedy's shortfall at most."""
        return (self.lp_bound - self.greedy) / self.lp_bound if self.lp_bound > 0 else 0.0


@dataclass(frozen=True)
class PlanResult:
    """A buy: the slots, what they cost, and the target impressions they deliver.

    ``target_impressions`` sums the published target audiences of the bought slots
    (impressions, not distinct households: see the module docstring). Where a naive buy
    took slots whose target cell is suppressed (``unknown_slots``), the truth lies between
    ``target_impressions`` and ``target_impressions_upper``.
    """

    method: str  # "greedy", "exact", "naive" or "naive-cpm"
    segment: str
    band: str
    budget: float
    slots: pl.DataFrame  # PLAN_SLOTS
    candidates: int  # slots that could be bought (published, priced)
    suppressed_cells: int  # target cells left out because they are suppressed
    check: OptimalityCheck | None = None

    @property
    def spent(self) -> float:
        return float(self.slots["cost"].sum()) if self.slots.height else 0.0

    @property
    def target_impressions(self) -> float:
        return float(self.slots["audience"].sum()) if self.slots.height else 0.0

    @property
    def target_impressions_upper(self) -> float:
        return float(self.slots["audience_upper"].sum()) if self.slots.height else 0.0

    @property
    def unknown_slots(self) -> int:
        return int(self.slots["audience"].null_count())

    @property
    def cost_per_target(self) -> float | None:
        """Dollars per target impression (spent / target impressions); None if none."""
        reached = self.target_impressions
        return self.spent / reached if reached > 0 else None

    @property
    def cost_per_target_best_case(self) -> float | None:
        """Dollars per target impression if every suppressed target cell bought were at its
        upper bound: the most favourable reading of a naive buy."""
        reached = self.target_impressions_upper
        return self.spent / reached if reached > 0 else None

    def summary(self) -> pl.DataFrame:
        """The plan's figures as (name, value) rows, for reports and CSV."""
        rows: list[tuple[str, float | None]] = [
            ("budget", self.budget),
            ("spent", self.spent),
            ("slots_bought", float(self.slots.height)),
            ("candidate_slots", float(self.candidates)),
            ("suppressed_cells_skipped", float(self.suppressed_cells)),
            ("target_impressions", self.target_impressions),
            ("target_impressions_upper", self.target_impressions_upper),
            ("slots_with_suppressed_target", float(self.unknown_slots)),
            ("cost_per_target", self.cost_per_target),
            ("cpm", None if self.cost_per_target is None else self.cost_per_target * 1000),
        ]
        if self.check is not None:
            rows += [
                ("greedy_impressions", self.check.greedy),
                ("exact_impressions", self.check.exact),
                ("exact_is_proven_optimal", float(self.check.exact_optimal)),
                ("lp_bound_impressions", self.check.lp_bound),
                ("gap_greedy_to_exact", self.check.gap_to_exact),
                ("gap_greedy_to_lp_bound", self.check.gap_to_bound),
                ("dp_unit_dollars", self.check.dp_unit),
            ]
        return pl.DataFrame(
            {
                "method": [self.method] * len(rows),
                "segment": [self.segment] * len(rows),
                "band": [self.band] * len(rows),
                "name": [r[0] for r in rows],
                "value": [r[1] for r in rows],
            },
            schema={
                "method": pl.String,
                "segment": pl.String,
                "band": pl.String,
                "name": pl.String,
                "value": pl.Float64,
            },
        )


def _take(frame: pl.DataFrame, rows: Sequence[int]) -> pl.DataFrame:
    """The given rows of ``frame``, in the given order (an empty list gives no rows)."""
    return frame.select(pl.all().gather(pl.Series(rows, dtype=pl.UInt32)))


def _count_suppressed(viewership: pl.DataFrame | pl.LazyFrame, segment: str, band: str) -> int:
    return int(
        _averaged(viewership, segment, band)
        .filter(pl.col("suppressed"))
        .select(pl.len())
        .collect()
        .item()
    )


def _check_budget(budget: float) -> None:
    if not (isinstance(budget, int | float) and math.isfinite(budget) and budget >= 0):
        raise InputError(f"budget must be a non-negative number of dollars, got {budget!r}")


def plan_buy(
    viewership: pl.DataFrame | pl.LazyFrame,
    rate_card: pl.DataFrame,
    *,
    segment: str,
    band: str,
    budget: float,
    method: Method = "greedy",
    max_dp_cells: int = DEFAULT_MAX_DP_CELLS,
) -> PlanResult:
    """The buy that reaches the most target impressions of (segment, band) within budget.

    ``method`` picks the buy returned: ``"greedy"`` (by CPM) or ``"exact"`` (DP). Both are
    always computed, with the LP bound, and compared in ``PlanResult.check``.

    >>> plan = plan_buy(viewership, load_rate_card(), segment="persuadable", band="light",
    ...                 budget=50_000)                                     # doctest: +SKIP
    >>> plan.cost_per_target, plan.check.gap_to_exact                      # doctest: +SKIP
    """
    if method not in METHODS:
        raise InputError(f"unknown plan method '{method}' (known: {', '.join(METHODS)})")
    _check_budget(budget)
    ranked = rank_slots(viewership, rate_card, segment=segment, band=band)
    costs = ranked["cost"].to_list()
    values = ranked["audience"].to_list()
    greedy = greedy_knapsack(costs, values, budget)
    exact = exact_knapsack(costs, values, budget, max_cells=max_dp_cells)
    check = OptimalityCheck(
        greedy=float(sum(values[i] for i in greedy)),
        exact=float(sum(values[i] for i in exact.indices)),
        exact_optimal=exact.optimal,
        lp_bound=lp_bound(costs, values, budget),
        dp_unit=exact.unit,
    )
    chosen = greedy if method == "greedy" else sorted(exact.indices)
    slots = _take(ranked, chosen).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("rank")
    )
    return PlanResult(
        method=method,
        segment=segment,
        band=band,
        budget=float(budget),
        slots=slots,
        candidates=ranked.height,
        suppressed_cells=_count_suppressed(viewership, segment, band),
        check=check,
    )


def _supersets(segment: str, band: str) -> list[tuple[str, str]]:
    """Groups of households that contain (segment, band): their audiences bound its one."""
    groups = [(segment, "all"), ("all", band), ("all", "all")]
    return [g for g in dict.fromkeys(groups) if g != (segment, band)]


def naive_plan(
    viewership: pl.DataFrame | pl.LazyFrame,
    rate_card: pl.DataFrame,
    *,
    segment: str,
    band: str,
    budget: float,
    by: NaiveBy = "audience",
) -> PlanResult:
    """The buy of someone with ratings but no target data: the most-watched slots of all
    households (segment and band ``all``), biggest audience first (``by="cpm"``: cheapest
    per thousand households first), each taken while the budget lasts; then scored on the
    target (segment, band).

    A bought slot whose target cell is suppressed has a null ``audience``; its
    ``audience_upper`` is the smallest published audience among the groups that contain
    the target (the segment in band all, all households in the band, all households).
    """
    if by not in ("audience", "cpm"):
        raise InputError(f"unknown naive ranking '{by}' (known: audience, cpm)")
    _check_budget(budget)
    _check_target(viewership, segment, band)
    order = (
        ["audience", "channel", "quarter_hour"]
        if by == "audience"
        else ["all_cpm", "channel", "quarter_hour"]
    )
    overall = (
        _averaged(viewership, "all", "all")
        .filter(~pl.col("suppressed") & (pl.col("audience") > 0))
        .join(slot_costs(rate_card).lazy(), on=["channel", "quarter_hour"], how="inner")
        .with_columns((pl.col("cost") / pl.col("audience") * 1000.0).alias("all_cpm"))
        .sort(order, descending=[by == "audience", False, False])
        .collect()
    )
    taken = fill_in_order(overall["cost"].to_list(), budget)
    bought = _take(overall, taken).select(
        pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("rank"),
        "channel",
        "quarter_hour",
        "time",
        "daypart",
        "cost",
    )

    target = _averaged(viewership, segment, band).select(
        "channel",
        "quarter_hour",
        pl.when(~pl.col("suppressed")).then(pl.col("audience")).alias("audience"),
    )
    bounds = [
        _averaged(viewership, s, b)
        .filter(~pl.col("suppressed"))
        .select("channel", "quarter_hour", pl.col("audience").alias(f"_b{i}"))
        for i, (s, b) in enumerate(_supersets(segment, band))
    ]
    scored = bought.lazy().join(target, on=["channel", "quarter_hour"], how="left")
    for frame in bounds:
        scored = scored.join(frame, on=["channel", "quarter_hour"], how="left")
    bound_cols = [f"_b{i}" for i in range(len(bounds))]
    slots = (
        scored.with_columns(
            pl.coalesce(
                "audience", pl.min_horizontal(bound_cols) if bound_cols else pl.lit(None)
            ).alias("audience_upper"),
            (pl.col("cost") / pl.col("audience") * 1000.0).alias("cpm"),
        )
        .sort("rank")
        .select(list(PLAN_SLOTS))
        .collect()
    )
    return PlanResult(
        method="naive" if by == "audience" else "naive-cpm",
        segment=segment,
        band=band,
        budget=float(budget),
        slots=slots,
        candidates=overall.height,
        suppressed_cells=_count_suppressed(viewership, "all", "all"),
    )


@dataclass(frozen=True)
class PlanComparison:
    """The targeted plan against the naive one, on the same budget and target."""

    plan: PlanResult
    naive: PlanResult

    @property
    def ratio(self) -> float | None:
        """Naive cost per target impression over the plan's: how many times dearer naive
        is, counting its suppressed target cells as zero."""
        p, n = self.plan.cost_per_target, self.naive.cost_per_target
        return n / p if p and n else None

    @property
    def ratio_best_case(self) -> float | None:
        """The same with naive's suppressed target cells at their upper bounds: the
        smallest advantage the plan can have."""
        p, n = self.plan.cost_per_target, self.naive.cost_per_target_best_case
        return n / p if p and n else None

    def table(self) -> pl.DataFrame:
        """One row per plan: method, budget, spent, slots, impressions, cost per target."""
        rows = [self.plan, self.naive]
        return pl.DataFrame(
            {
                "plan": ["targeted", "naive"],
                "method": [r.method for r in rows],
                "segment": [r.segment for r in rows],
                "band": [r.band for r in rows],
                "budget": [r.budget for r in rows],
                "spent": [r.spent for r in rows],
                "slots": [r.slots.height for r in rows],
                "target_impressions": [r.target_impressions for r in rows],
                "target_impressions_upper": [r.target_impressions_upper for r in rows],
                "cost_per_target": [r.cost_per_target for r in rows],
                "cost_per_target_best_case": [r.cost_per_target_best_case for r in rows],
            },
            schema_overrides={
                "slots": pl.UInt32,
                "cost_per_target": pl.Float64,
                "cost_per_target_best_case": pl.Float64,
            },
        )


def compare_plans(
    viewership: pl.DataFrame | pl.LazyFrame,
    rate_card: pl.DataFrame,
    *,
    segment: str,
    band: str,
    budget: float,
    method: Method = "greedy",
    naive_by: NaiveBy = "audience",
) -> PlanComparison:
    """``plan_buy`` and ``naive_plan`` on the same target and budget."""
    frame = viewership.collect() if isinstance(viewership, pl.LazyFrame) else viewership
    return PlanComparison(
        plan=plan_buy(frame, rate_card, segment=segment, band=band, budget=budget, method=method),
        naive=naive_plan(frame, rate_card, segment=segment, band=band, budget=budget, by=naive_by),
    )
