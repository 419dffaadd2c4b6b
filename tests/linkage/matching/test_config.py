"""MatchConfig: validated on construction, every problem at once, recipe bits."""

from __future__ import annotations

import pytest

from hashing.errors import ConfigError
from linkage.matching import GROUP_SUPPORT, EMSettings, MatchConfig, Recipe


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        MatchConfig(
            recipes=(Recipe("email"), Recipe("email"), Recipe("addr", "street")),  # type: ignore[arg-type]
            link_type="many_to_many",  # type: ignore[arg-type]
            mode="guess",  # type: ignore[arg-type]
            min_posterior=0.2,
            em=EMSettings(max_iter=0, init_m=0.05, init_u=0.1),
        )
    paths = {path for path, _ in info.value.problems}
    assert paths == {
        "recipes[1].name",
        "recipes[2].level",
        "link_type",
        "mode",
        "min_posterior",
        "em.max_iter",
        "em.init_m",
    }


def test_empty_and_reserved_recipe_names_are_refused() -> None:
    with pytest.raises(ConfigError):
        MatchConfig(recipes=())
    with pytest.raises(ConfigError):
        MatchConfig(recipes=(Recipe(GROUP_SUPPORT),))


def test_bits_follow_waterfall_order() -> None:
    config = MatchConfig.from_levels({"email": "person", "address": "household", "phone": "person"})
    assert config.names == ("email", "address", "phone")
    assert config.features == ("email", "address", "phone", GROUP_SUPPORT)
    assert config.person_bits == 0b101
    assert config.household_bits == 0b010
    assert config.support_bit == 0b1000
    assert config.bit("phone") == 0b100


def test_without_group_support_there_is_no_support_bit() -> None:
    config = MatchConfig.from_levels({"email": "person"}, group_support=False)
    assert config.features == ("email",)
    assert config.support_bit == 0
