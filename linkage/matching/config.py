"""The matcher's settings: recipes in waterfall order, link type, scoring mode, threshold.

``MatchConfig`` is small and frozen; it is validated on construction and reports every
problem at once (``ConfigError``), each with the key path that is wrong. The role command
builds it from the engagement file (``[[recipes]]`` and ``[matching]``).

Example::

    config = MatchConfig.from_levels(
        {"email": "person", "phone": "person", "address": "household"},
        link_type="many_to_one",
    )
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from hashing.errors import ConfigError

Level = Literal["person", "household"]
LinkType = Literal["many_to_one", "one_to_one"]
Mode = Literal["fellegi_sunter", "waterfall"]

LEVELS: tuple[str, ...] = ("person", "household")
LINK_TYPES: tuple[str, ...] = ("many_to_one", "one_to_one")
MODES: tuple[str, ...] = ("fellegi_sunter", "waterfall")

# The agreement pattern of a pair is a bitmask in a UInt32: one bit per recipe, plus one
# for the derived group-support feature. 16 recipes is far more than any engagement uses
# and keeps the pattern space (at most 2^17 patterns) trivial for EM.
MAX_RECIPES = 16

# The name of the derived household feature, as it appears in reports.
GROUP_SUPPORT = "group_support"


@dataclass(frozen=True)
class Recipe:
    """One token recipe as the matcher sees it: its name and the level it identifies.

    ``person`` recipes (email, phone, name + address...) single out one person;
    ``household`` recipes (the address) single out a dwelling, shared by everyone there.
    """

    name: str
    level: Level = "person"


@dataclass(frozen=True)
class EMSettings:
    """How the Fellegi–Sunter m/u probabilities are estimated without labels.

    The defaults start where recordlinkage's ``ECMClassifier`` starts (its "jaro"
    initialisation: m = 0.9, u = 0.1, match share 0.1). Convergence is tested on the log
    scale (``tol``) because the match share and the u-probabilities are tiny over a
    comparison space of |A| x |B| pairs: an absolute tolerance would stop at once.
    """

    max_iter: int = 1000
    tol: float = 1e-7
    init_m: float = 0.9
    init_u: float = 0.1
    init_p: float = 0.1


@dataclass(frozen=True)
class MatchConfig:
    """Settings of one matching run.

    ``recipes``: the configured recipes in waterfall order (strongest first); tokens of any
    other recipe are ignored and counted. ``link_type``: ``many_to_one`` (a voter joins at
    most one household, a household holds many voters) or ``one_to_one`` (each record on
    each side at most once). ``mode``: ``fellegi_sunter`` (EM-estimated weights, accept a
    voter's unique best pair when its posterior reaches ``min_posterior``) or
    ``waterfall`` (the first recipe, in order, that yields a unique partner).
    ``group_support``: derive the household-support feature from the campaign's group
    tokens (see ``docs/matching.md``). ``household_requires_support``: in waterfall mode,
    a household-level recipe only counts when a housemate confirms the account.
    ``accept_household_only``: whether a voter whose only agreement with any account is
    household-level (the address) may be matched at all. Off by default: on the synthetic
    world most such voters are movers still registered at a home where another registered
    household now holds the account, and housemate support cannot tell them from a spouse
    under another surname (precision 97.5 % with them, 99.9 % without; docs/matching.md).
    ``seed``: makes the minted household references and the shuffles reproducible (tests
    only); ``None`` draws them from the operating system's CSPRNG.
    ``weight_bin``: width, in bits, of the weight histogram bins of the match report.
    """

    recipes: tuple[Recipe, ...]
    link_type: LinkType = "many_to_one"
    mode: Mode = "fellegi_sunter"
    min_posterior: float = 0.9
    em: EMSettings = field(default_factory=EMSettings)
    group_support: bool = True
    household_requires_support: bool = True
    accept_household_only: bool = False
    seed: int | None = None
    weight_bin: float = 5.0

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ConfigError("matching settings", problems)

    @classmethod
    def from_levels(cls, levels: Mapping[str, str], **settings: object) -> MatchConfig:
        """Build a config from ``{recipe name: level}`` in waterfall order."""
        recipes = tuple(Recipe(name, level) for name, level in levels.items())  # type: ignore[arg-type]
        return cls(recipes=recipes, **settings)  # type: ignore[arg-type]

    @property
    def names(self) -> tuple[str, ...]:
        """Recipe names in waterfall order."""
        return tuple(r.name for r in self.recipes)

    @property
    def features(self) -> tuple[str, ...]:
        """The agreement features of a pair, bit ``i`` of the pattern is feature ``i``."""
        return (*self.names, GROUP_SUPPORT) if self.group_support else self.names

    def bit(self, name: str) -> int:
        """The pattern bit of a recipe (or of ``group_support``)."""
        return 1 << self.features.index(name)

    @property
    def person_bits(self) -> int:
        """Bitmask of the person-level recipes."""
        return sum(1 << i for i, r in enumerate(self.recipes) if r.level == "person")

    @property
    def household_bits(self) -> int:
        """Bitmask of the household-level recipes."""
        return sum(1 << i for i, r in enumerate(self.recipes) if r.level == "household")

    @property
    def support_bit(self) -> int:
        """The bit of the group-support feature (0 when the feature is off)."""
        return 1 << len(self.recipes) if self.group_support else 0


def _problems(config: MatchConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not config.recipes:
        problems.append(("recipes", "at least one recipe is needed"))
    if len(config.recipes) > MAX_RECIPES:
        problems.append(("recipes", f"at most {MAX_RECIPES} recipes, got {len(config.recipes)}"))
    seen: set[str] = set()
    for i, recipe in enumerate(config.recipes):
        if not isinstance(recipe, Recipe):
            problems.append((f"recipes[{i}]", "must be a Recipe(name, level)"))
            continue
        if not recipe.name or not isinstance(recipe.name, str):
            problems.append((f"recipes[{i}].name", "must be a non-empty string"))
        elif recipe.name in seen:
            problems.append((f"recipes[{i}].name", f"duplicate recipe name '{recipe.name}'"))
        elif recipe.name == GROUP_SUPPORT:
            problems.append((f"recipes[{i}].name", f"'{GROUP_SUPPORT}' is reserved"))
        seen.add(recipe.name)
        if recipe.level not in LEVELS:
            problems.append((f"recipes[{i}].level", f"must be one of {', '.join(LEVELS)}"))
    if config.link_type not in LINK_TYPES:
        problems.append(("link_type", f"must be one of {', '.join(LINK_TYPES)}"))
    if config.mode not in MODES:
        problems.append(("mode", f"must be one of {', '.join(MODES)}"))
    if not 0.5 <= config.min_posterior <= 1.0:
        problems.append(("min_posterior", "must be from 0.5 to 1 (a match must be likelier)"))
    em = config.em
    if em.max_iter < 1:
        problems.append(("em.max_iter", "must be at least 1"))
    if not em.tol > 0:
        problems.append(("em.tol", "must be positive"))
    for name in ("init_m", "init_u", "init_p"):
        value = getattr(em, name)
        if not 0.0 < value < 1.0:
            problems.append((f"em.{name}", "must be strictly between 0 and 1"))
    if not em.init_m > em.init_u:
        problems.append(("em.init_m", "must exceed em.init_u (matches agree more often)"))
    if not config.weight_bin > 0:
        problems.append(("weight_bin", "must be positive"))
    return problems
