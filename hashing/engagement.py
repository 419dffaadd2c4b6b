"""The engagement file: the one typed, versioned configuration every party shares.

An engagement names the parties and where their public key bundles are, tells each list
owner how its input file maps onto canonical fields, lists the token recipes of the
matching waterfall, and sets the matching, measurement and privacy parameters. It holds
no secrets: every party may read all of it, and this module imports no key material.

Load it with :func:`load_engagement` (a TOML file) or :func:`parse_engagement` (a dict).
Both report every problem at once in one ``ConfigError``, each as ``(key_path, message)``
with key paths such as ``inputs.campaign.fields.dob.format`` or ``recipes[3].fields[1]``.
Messages say what is wrong and how to fix it; they never repeat a configured value.

Example::

    engagement = load_engagement(Path("samples/engagement.toml"))
    for recipe in engagement.recipes:
        info = recipe.canonical_spec()  # "v1|email|email", the HKDF info of its key

The model classes are in ``hashing.engagement_model``, the cross-field checks in
``hashing.engagement_checks``, recipe components and the lint in
``hashing.engagement_recipes``; this module re-exports what callers need.
See ``docs/engagement.md`` for every key.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hashing.engagement_checks import data_problems, engagement_problems, validation_problems
from hashing.engagement_model import (
    CROSS_CHECKED,
    CURRENT_VERSION,
    ROLES,
    TOKEN_SCHEME,
    AddressLineSpec,
    BoxSource,
    CampaignInput,
    ColumnSpec,
    DateSpec,
    Engagement,
    FieldMap,
    FieldSpec,
    FullNameSpec,
    InputMapping,
    Inputs,
    MatchingSettings,
    MeasurementInput,
    MeasurementSettings,
    OperatorInput,
    Parties,
    Party,
    PrivacySettings,
    Problem,
    Recipe,
    TokenSettings,
    ViewingMapping,
    lint_recipe,
)
from hashing.engagement_recipes import Component
from hashing.errors import ConfigError

__all__ = [
    "CURRENT_VERSION",
    "ROLES",
    "TOKEN_SCHEME",
    "AddressLineSpec",
    "BoxSource",
    "CampaignInput",
    "ColumnSpec",
    "Component",
    "DateSpec",
    "Engagement",
    "FieldMap",
    "FieldSpec",
    "FullNameSpec",
    "InputMapping",
    "Inputs",
    "MatchingSettings",
    "MeasurementInput",
    "MeasurementSettings",
    "OperatorInput",
    "Parties",
    "Party",
    "PrivacySettings",
    "Problem",
    "Recipe",
    "TokenSettings",
    "ViewingMapping",
    "lint_recipe",
    "load_engagement",
    "migrate",
    "parse_engagement",
]

#: Upgrades by the version they start from: ``_MIGRATIONS[n]`` turns version n into n + 1.
#: There are none yet; when version 2 comes, add ``1: _v1_to_v2`` here. A step runs before
#: validation, so it must leave data it does not understand as it is.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migrate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Upgrade an engagement dict written for an older version to ``CURRENT_VERSION``.

    Returns a new dict (the input is not changed). Data whose version is missing, not an
    integer or not older than the current one is returned as a copy, unchanged: the
    validation reports it. Each step is a function in ``_MIGRATIONS``.
    """
    out = copy.deepcopy(dict(data))
    version = out.get("version")
    if type(version) is not int:
        return out
    while 1 <= version < CURRENT_VERSION:
        out = _MIGRATIONS[version](out)
        version += 1
        out["version"] = version
    return out


def parse_engagement(
    data: Mapping[str, Any], source: str, *, base_dir: Path | None = None
) -> Engagement:
    """Validate an engagement dict; raise ``ConfigError(source, problems)`` listing them all.

    ``base_dir`` is where relative paths resolve from (default: the working directory).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(source, [("(file)", "expected a table at the top level")])
    problems: list[Problem] = []
    version = data.get("version")
    if "version" in data and type(version) is int:
        if version > CURRENT_VERSION:
            raise ConfigError(
                source,
                [
                    (
                        "version",
                        f"written for a newer blindlink (version {version}); this release "
                        f"reads versions 1 to {CURRENT_VERSION}: upgrade blindlink",
                    )
                ],
            )
        if version < 1:
            raise ConfigError(source, [("version", "unknown version; versions start at 1")])
    else:
        # Report it, then check the rest as the current version so nothing else hides.
        message = "required" if "version" not in data else "expected an integer"
        problems.append(("version", f"{message}; this release writes version = {CURRENT_VERSION}"))
        data = {**data, "version": CURRENT_VERSION}
    data = migrate(data)
    engagement: Engagement | None = None
    try:
        engagement = Engagement.model_validate(data, context={CROSS_CHECKED: True})
    except ValidationError as e:
        problems += validation_problems(e)
    if engagement is not None:
        problems += engagement_problems(engagement)
    else:
        problems += data_problems(data)
    if problems or engagement is None:
        raise ConfigError(source, list(dict.fromkeys(problems)))
    return engagement.with_base_dir(base_dir)


def load_engagement(path: Path) -> Engagement:
    """Read and validate a TOML engagement file; every problem in one ``ConfigError``.

    Relative paths in it resolve against the file's directory. Key bundles need not
    exist yet (see ``Engagement.check_files``).
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(source, [("(file)", "engagement file not found")]) from e
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ConfigError(source, [("(file)", f"cannot read the file: {reason}")]) from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(source, [("(file)", "not UTF-8 text; save it as UTF-8")]) from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, [("(file)", f"TOML syntax error: {e}")]) from e
    return parse_engagement(data, source, base_dir=Path(path).absolute().parent)
