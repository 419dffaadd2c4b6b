"""Token recipe components and the recipe lint: the vocabulary of an engagement's recipes.

A recipe is an ordered list of components; a component is a canonical field, optionally
under one transform (``nysiis(last_name)``). This module knows the canonical fields, the
transforms each field accepts, and how much each component narrows a population, which is
what the lint uses to refuse recipes too weak to single out a household.

It holds no key material and touches no PII, so the auditor (``linkage``) may import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, NamedTuple

#: The canonical fields a party's input maps to, in the order normalizers document them.
CANONICAL_FIELDS: tuple[str, ...] = (
    "first_name",
    "middle_name",
    "last_name",
    "name_suffix",
    "dob",
    "sex",
    "email",
    "phone",
    "house_number",
    "street",
    "unit",
    "city",
    "state",
    "zip",
    "national_id",
)

#: Composite input fields and the canonical fields each one is split into.
COMPOSITE_PARTS: dict[str, tuple[str, ...]] = {
    "full_name": ("first_name", "middle_name", "last_name", "name_suffix"),
    "address_line": ("house_number", "street", "unit"),
}

_NAMES = ("first_name", "middle_name", "last_name")
#: Each transform and the canonical fields it may be applied to.
TRANSFORM_FIELDS: dict[str, tuple[str, ...]] = {
    "nysiis": (*_NAMES, "street", "city"),
    "soundex": (*_NAMES, "street", "city"),
    "metaphone": (*_NAMES, "street", "city"),
    "initial": _NAMES,
    "year": ("dob",),
    "first3": (*_NAMES, "street", "city", "zip"),
    "core": ("street",),
}

#: Fields that locate a home rather than a person.
ADDRESS_FIELDS: frozenset[str] = frozenset(
    {"house_number", "street", "unit", "city", "state", "zip"}
)

Level = Literal["person", "household"]

# Identifying strength of each field, in rough bits: log2 of how many groups the field
# splits the US population into, rounded down for skewed distributions (a few surnames
# and first names are very common). Conservative on purpose.
FIELD_STRENGTH: dict[str, float] = {
    "email": 32,
    "phone": 32,
    "first_name": 6,
    "middle_name": 4,
    "last_name": 10,
    "name_suffix": 1,
    "sex": 1,
    "dob": 15,
    "house_number": 8,
    "street": 9,
    "unit": 3,
    "city": 8,
    "state": 5,
    "zip": 14,
    # A 9-digit SSN splits the population into ~2**30 groups, but engagements also map
    # shorter national numbers (the normalizer keeps 7 digits or more: ~23 bits), so the
    # field counts for less than a recipe needs alone: pair it with another component
    # (a postcode, a surname prefix, a birth year...). See docs/engagement.md.
    "national_id": 24,
}

# What a transform keeps of a field's strength: a factor, or a fixed strength.
_TRANSFORM_FACTOR: dict[str, float] = {
    "nysiis": 0.8,
    "metaphone": 0.8,
    "soundex": 0.7,
    "first3": 0.7,
    "core": 0.9,  # a street type rarely tells two streets of one ZIP apart
}
_TRANSFORM_FIXED: dict[str, float] = {"initial": 4, "year": 6}

#: city, state and zip describe the same place: together they count no more than this.
GEOGRAPHY_FIELDS: frozenset[str] = frozenset({"city", "state", "zip"})
GEOGRAPHY_CAP: float = 15

#: The strength a recipe needs to single out one household in a national population.
REQUIRED_STRENGTH: float = 30

_COMPONENT = re.compile(r"(?:(?P<transform>[A-Za-z0-9_]+)\((?P<inner>[^()]*)\)|(?P<bare>[^()]*))")


class Component(NamedTuple):
    """One parsed recipe component: an optional transform applied to a canonical field."""

    transform: str | None
    field: str

    def __str__(self) -> str:
        return self.field if self.transform is None else f"{self.transform}({self.field})"


def parse_component(text: str) -> Component:
    """Parse ``"last_name"`` or ``"nysiis(last_name)"``; raise ``ValueError`` saying why not.

    Exactly one level of transform is allowed, the field must be canonical (not a
    composite) and the transform must accept that field. Messages name the problem and
    the allowed choices, never the text itself.
    """
    match = _COMPONENT.fullmatch(re.sub(r"\s+", "", text))
    if match is None:
        raise ValueError(
            "only one transform per component, written transform(field), e.g. nysiis(last_name)"
        )
    transform = match.group("transform")
    field = match.group("inner") if transform is not None else match.group("bare")
    if transform is not None and transform not in TRANSFORM_FIELDS:
        raise ValueError(f"unknown transform; allowed: {', '.join(TRANSFORM_FIELDS)}")
    if field in COMPOSITE_PARTS:
        parts = ", ".join(COMPOSITE_PARTS[field])
        raise ValueError(f"a composite input field cannot be tokenized; use its parts: {parts}")
    if field not in CANONICAL_FIELDS:
        raise ValueError(f"not a canonical field; expected one of: {', '.join(CANONICAL_FIELDS)}")
    if transform is not None and field not in TRANSFORM_FIELDS[transform]:
        allowed = ", ".join(TRANSFORM_FIELDS[transform])
        raise ValueError(f"{transform}() does not apply to {field}; it takes: {allowed}")
    return Component(transform, field)


def component_strength(component: Component) -> float:
    """The identifying strength (rough bits) of one component; a transform weakens a field."""
    base = FIELD_STRENGTH[component.field]
    if component.transform is None:
        return base
    if component.transform in _TRANSFORM_FIXED:
        return min(base, _TRANSFORM_FIXED[component.transform])
    return base * _TRANSFORM_FACTOR[component.transform]


def recipe_strength(components: Iterable[Component]) -> float:
    """The identifying strength of a recipe.

    A field counts once, at its strongest component (``last_name`` with
    ``nysiis(last_name)`` is still one surname), and city, state and zip together count
    no more than ``GEOGRAPHY_CAP``.
    """
    best: dict[str, float] = {}
    for component in components:
        best[component.field] = max(best.get(component.field, 0.0), component_strength(component))
    geography = sum(s for f, s in best.items() if f in GEOGRAPHY_FIELDS)
    rest = sum(s for f, s in best.items() if f not in GEOGRAPHY_FIELDS)
    return rest + min(geography, GEOGRAPHY_CAP)


def lint_components(components: Iterable[Component], level: Level) -> str | None:
    """Return why a recipe of these components is refused, or None when it is strong enough.

    A recipe must single out a household (``REQUIRED_STRENGTH``): a weaker one merges
    unrelated households and its common token values are a frequency-attack handle. A
    recipe made only of address fields identifies a home, not a person, so it must be
    declared ``level = "household"``.
    """
    parts = list(components)
    strength = recipe_strength(parts)
    if strength < REQUIRED_STRENGTH:
        detail = ", ".join(f"{c}={component_strength(c):g}" for c in parts)
        return (
            f"too weak to single out a household: strength {strength:g} of the "
            f"{REQUIRED_STRENGTH:g} required ({detail}); add a name with an address or a "
            "date of birth, a full address, a phone or an email"
        )
    if level == "person" and all(c.field in ADDRESS_FIELDS for c in parts):
        return 'an address identifies a household, not a person: set level = "household"'
    return None
