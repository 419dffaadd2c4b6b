"""Cross-field checks of an engagement, and pydantic errors turned into key-path problems.

The checks run on whichever parts of the engagement validated on their own, so a type
error in one table does not hide a weak recipe in another: a user fixes everything in
one pass. Each problem is ``(key_path, message)``; messages never repeat configured
values.
"""

from __future__ import annotations

import json
import os
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from hashing.engagement_model import (
    CURRENT_VERSION,
    INPUT_ROLES,
    ROLES,
    SEGMENTS,
    BoxSource,
    Engagement,
    FieldMap,
    MatchingSettings,
    Party,
    Problem,
    Recipe,
    lint_recipe,
)
from hashing.engagement_recipes import CANONICAL_FIELDS, COMPOSITE_PARTS

_M = TypeVar("_M", bound=BaseModel)


def engagement_problems(engagement: Engagement) -> list[Problem]:
    """The cross-field problems of an engagement whose tables all validated."""
    return _cross_problems(_Parts.of(engagement))


def data_problems(data: Mapping[str, Any]) -> list[Problem]:
    """The cross-field problems of raw data that failed validation somewhere."""
    return _cross_problems(_Parts.from_data(data))


# ---------------------------------------------------------------------------------------
# Cross-field checks: they run on whichever parts validated on their own, so that a
# type error in one section does not hide a weak recipe in another.


@dataclass(frozen=True)
class _Parts:
    """The pieces the cross-field checks read, each present if it validated on its own."""

    parties: dict[str, Party]
    fields: dict[str, FieldMap]
    # canonical fields given by an entry that failed validation: mapped, but unknown how
    unsure: dict[str, frozenset[str]]
    segments: dict[str, str] | None
    boxes: BoxSource | None
    recipes: tuple[tuple[int, Recipe], ...]
    recipe_count: int
    matching: MatchingSettings | None

    @classmethod
    def of(cls, engagement: Engagement) -> _Parts:
        inputs = engagement.inputs
        return cls(
            parties=engagement.parties.declared(),
            fields={"campaign": inputs.campaign.fields, "operator": inputs.operator.fields},
            unsure={},
            segments=inputs.campaign.segments,
            boxes=inputs.operator.boxes,
            recipes=tuple(enumerate(engagement.recipes)),
            recipe_count=len(engagement.recipes),
            matching=engagement.matching,
        )

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> _Parts:
        parties = _table(data, "parties")
        inputs = _table(data, "inputs")
        campaign, operator = _table(inputs, "campaign"), _table(inputs, "operator")
        raw_recipes = data.get("recipes")
        raw_recipes = raw_recipes if isinstance(raw_recipes, list | tuple) else []
        recipes = ((i, _validated(Recipe, raw)) for i, raw in enumerate(raw_recipes))
        fields: dict[str, FieldMap] = {}
        unsure: dict[str, frozenset[str]] = {}
        for role, raw in (("campaign", campaign), ("operator", operator)):
            if isinstance(raw.get("fields"), Mapping):
                fields[role], unsure[role] = _lenient_fields(raw["fields"])
        party_models = {role: _validated(Party, parties.get(role)) for role in ROLES}
        segments = _validated_segments(campaign.get("segments", {}))
        boxes = operator.get("boxes")
        return cls(
            parties={role: p for role, p in party_models.items() if p is not None},
            fields=fields,
            unsure=unsure,
            segments=segments,
            boxes=_validated(BoxSource, boxes) if boxes is not None else None,
            recipes=tuple((i, r) for i, r in recipes if r is not None),
            recipe_count=len(raw_recipes),
            matching=_validated(MatchingSettings, data.get("matching", {})),
        )


def _lenient_fields(raw: Mapping[str, Any]) -> tuple[FieldMap, frozenset[str]]:
    """The entries of a field table that validate, and the fields the others would give."""
    good: dict[str, Any] = {}
    unsure: set[str] = set()
    for key, value in raw.items():
        if key not in FieldMap.model_fields:
            continue
        if _validated(FieldMap, {key: value}) is not None:
            good[key] = value
        else:
            unsure.update(COMPOSITE_PARTS.get(key, (key,)))
            if key == "address_line":
                unsure.update(("city", "state", "zip"))
    return FieldMap.model_validate(good), frozenset(unsure)


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _validated_segments(value: Any) -> dict[str, str] | None:
    try:
        return SEGMENTS.validate_python(value)
    except ValidationError:
        return None


def _validated(model: type[_M], value: Any) -> _M | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _cross_problems(parts: _Parts) -> list[Problem]:
    problems = _party_problems(parts.parties)
    for role, fields in parts.fields.items():
        problems += _field_problems(role, fields)
    if parts.segments is not None:
        problems += _segment_problems(parts.segments)
    if parts.boxes is not None:
        problems += _box_problems(parts.boxes)
    problems += _recipe_problems(parts)
    return problems


def _party_problems(parties: Mapping[str, Party]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for role, party in parties.items():
        key = os.path.normpath(party.public_keys)
        if key in seen:
            problems.append(
                (
                    f"parties.{role}.public_keys",
                    f"same key bundle as parties.{seen[key]}; each party has its own keys",
                )
            )
        else:
            seen[key] = role
    return problems


def _field_problems(role: str, fields: FieldMap) -> list[Problem]:
    problems: list[Problem] = []
    composites: list[tuple[str, Sequence[str]]] = []
    if fields.full_name is not None:
        composites.append(("full_name", COMPOSITE_PARTS["full_name"]))
    if fields.address_line is not None:
        line_parts = (*COMPOSITE_PARTS["address_line"], *fields.address_line.includes)
        composites.append(("address_line", line_parts))
    direct = fields.direct()
    for composite, parts in composites:
        for part in parts:
            if part in direct:
                problems.append(
                    (
                        f"inputs.{role}.fields.{part}",
                        f"given both directly and through {composite}; map it one way",
                    )
                )
    return problems


def _segment_problems(segments: Mapping[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for label, column in segments.items():
        if column in seen:
            problems.append(
                (
                    f"inputs.campaign.segments.{label}",
                    f"uses the same column as segments.{seen[column]}; one column per label",
                )
            )
        else:
            seen[column] = label
    return problems


def _box_problems(boxes: BoxSource) -> list[Problem]:
    path = "inputs.operator.boxes"
    file_form = boxes.account_column is not None or boxes.box_column is not None
    if boxes.column is not None and file_form:
        return [
            (
                path,
                "give either account_column and box_column (a separate boxes file) or "
                "column (a list in the subscriber file), not both",
            )
        ]
    if boxes.column is None and not file_form:
        return [(path, "needs account_column and box_column, or column")]
    problems: list[Problem] = []
    if file_form:
        for key, other in (("account_column", "box_column"), ("box_column", "account_column")):
            if getattr(boxes, key) is None:
                problems.append((f"{path}.{key}", f"required together with {other}"))
        if boxes.separator is not None:
            problems.append(
                (f"{path}.separator", "separator applies only to a list column (column = ...)")
            )
    return problems


def _recipe_problems(parts: _Parts) -> list[Problem]:
    problems: list[Problem] = []
    names: dict[str, int] = {}
    contents: dict[tuple[str, ...], int] = {}
    owners = list(parts.fields.items())
    both_owners = len(owners) == 2
    for i, recipe in parts.recipes:
        if recipe.name in names:
            problems.append(
                (
                    f"recipes[{i}].name",
                    f"duplicate recipe name, also used by recipes[{names[recipe.name]}]",
                )
            )
        else:
            names[recipe.name] = i
        content = tuple(sorted(f"{t}?" if t in recipe.optional else t for t in recipe.fields))
        if content in contents:
            problems.append(
                (
                    f"recipes[{i}].fields",
                    f"same components as recipes[{contents[content]}]; drop one of them",
                )
            )
        else:
            contents[content] = i
        reason = lint_recipe(recipe)
        if reason is not None:
            problems.append((f"recipes[{i}]", reason))
        if both_owners:
            for j, component in enumerate(recipe.components):
                missing = [
                    role
                    for role, fields in owners
                    if fields.source_for(component.field) is None
                    and component.field not in parts.unsure.get(role, ())
                ]
                if missing:
                    by = " or ".join(f"inputs.{role}" for role in missing)
                    problems.append(
                        (
                            f"recipes[{i}].fields[{j}]",
                            f"{component.field} is not mapped by {by}; both list owners must "
                            "map every recipe field, or the recipe can never match",
                        )
                    )
    matching = parts.matching
    if matching is not None and matching.mode == "fellegi_sunter" and parts.recipe_count == 1:
        problems.append(
            (
                "matching.mode",
                "fellegi_sunter weighs agreement over several recipes; with one recipe use "
                'mode = "waterfall"',
            )
        )
    return problems


# ---------------------------------------------------------------------------------------
# Pydantic errors → (key_path, message)

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

_TYPE_MESSAGES: dict[str, str] = {
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "dict_type": "expected a table",
    "tuple_type": "expected an array",
    "list_type": "expected an array",
}


def _key_path(loc: Sequence[str | int]) -> str:
    """``('recipes', 3, 'fields', 1)`` → ``recipes[3].fields[1]``."""
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            out = f"{out}.{key}" if out else key
    return out


def _unwrap_model(annotation: Any) -> Any:
    """Strip Annotated and Optional around a field's type."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return None
            annotation = members[0]
        else:
            return annotation


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class found at ``loc`` inside an Engagement, if any."""
    current: Any = Engagement
    for part in loc:
        current = _unwrap_model(current)
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not isinstance(part, str) or part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        elif origin in (tuple, list):
            current = get_args(current)[0]
        elif origin is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap_model(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unknown_key_message(parent: Sequence[str | int]) -> str:
    if tuple(parent) == ("parties",):
        return f"unknown party; parties are: {', '.join(ROLES)}"
    if tuple(parent) == ("inputs",):
        return f"not a party with an input; inputs are: {', '.join(INPUT_ROLES)}"
    if len(parent) == 3 and parent[0] == "inputs" and parent[2] == "fields":
        return (
            "not a canonical field; expected one of: "
            f"{', '.join((*CANONICAL_FIELDS, *COMPOSITE_PARTS))}"
        )
    model = _model_at(parent)
    if model is None:
        return "unknown key"
    return f"unknown key; allowed here: {', '.join(model.model_fields)}"


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    loc = error["loc"]
    if kind == "missing":
        if tuple(loc) == ("version",):
            return f"required; this release writes version = {CURRENT_VERSION}"
        return "required key is missing"
    if kind == "extra_forbidden":
        return _unknown_key_message(loc[:-1])
    if kind == "literal_error":
        return f"expected one of: {ctx.get('expected', '')}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} entries"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} entries"
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    message = str(error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_problems(error: ValidationError) -> list[Problem]:
    """A pydantic ``ValidationError`` of an ``Engagement`` as key-path problems."""
    errors = error.errors(include_url=False, include_input=False)
    # An array whose items failed is also "too short" once they are dropped: say it once.
    failed_items = {
        tuple(e["loc"][:-1]) for e in errors if e["loc"] and isinstance(e["loc"][-1], int)
    }
    return [
        (_key_path(e["loc"]), _message(e))
        for e in errors
        if not (e["type"] == "too_short" and tuple(e["loc"]) in failed_items)
    ]
