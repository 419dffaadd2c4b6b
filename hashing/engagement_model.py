"""The engagement file's typed model: pydantic classes, frozen and closed to unknown keys.

Every class here validates one table of the engagement file; scalar checks carry messages
that say what is expected and never repeat the configured value. Cross-field checks
(recipes against input mappings, recipe lint, composites against direct fields...) live
in ``hashing.engagement_checks``; loading, versions and the public entry points in
``hashing.engagement``, which re-exports everything a caller needs.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationInfo,
    model_validator,
)

from hashing.engagement_recipes import (
    CANONICAL_FIELDS,
    COMPOSITE_PARTS,
    Component,
    Level,
    lint_components,
    parse_component,
)
from hashing.errors import InputError

#: The engagement file version this release writes and reads.
CURRENT_VERSION = 1
#: The token scheme version, first part of every recipe's HKDF info.
TOKEN_SCHEME = "v1"
#: Every party role, in pipeline order; the auditor is optional.
ROLES: tuple[str, ...] = ("campaign", "operator", "matcher", "measurement", "auditor")
#: Roles that have an input mapping.
INPUT_ROLES: tuple[str, ...] = ("campaign", "operator", "measurement")
MAX_SEGMENT_LABELS = 64
MAX_RECIPES = 32
MAX_RECIPE_COMPONENTS = 8
MIN_K = 10
#: Bounds of ``dob.max_age`` in years (``hashing.normalize.dates.MAX_AGE_RANGE``; kept
#: apart so that loading an engagement does not import the normalizers).
DOB_MAX_AGE_RANGE: tuple[int, int] = (1, 150)

Problem = tuple[str, str]
FileFormat = Literal["csv", "parquet"]

# Context flag: parse_engagement runs the cross-field checks itself, to report them with
# key paths, so the model validator must not raise them a second time.
CROSS_CHECKED = "blindlink_cross_checked"

# Only unambiguous extensions: a .tsv or .txt file needs its format and delimiter declared.
_EXTENSIONS: dict[str, FileFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


# ---------------------------------------------------------------------------------------
# Scalar validators: each message says what is expected, never what was given.


def _column_name(value: str) -> str:
    if not value.strip():
        raise ValueError("column name must not be blank")
    return value


def _relative_path(value: str) -> str:
    if not value.strip():
        raise ValueError("path must not be blank")
    return value


def _engagement_id(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]{4,64}", value):
        raise ValueError("engagement_id must be 4 to 64 characters of A-Z a-z 0-9 . _ -")
    return value


def _recipe_name(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", value):
        raise ValueError(
            "recipe name must start with a lowercase letter and use only a-z 0-9 _ "
            "(at most 32 characters)"
        )
    return value


def _segment_label(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", value):
        raise ValueError(
            "segment label must match [a-z][a-z0-9_]* (a lowercase letter first, at most "
            "32 characters)"
        )
    return value


def _component_text(value: str) -> str:
    # Store the canonical spelling ("nysiis(last_name)") so equal recipes compare equal.
    return str(parse_component(value))


def _distinct_components(value: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(value)) != len(value):
        raise ValueError("the same component appears twice; list each once")
    return value


def _distinct_includes(value: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(value)) != len(value):
        raise ValueError("a field appears twice; list each once")
    return value


def _date_format(value: str) -> str:
    directives = set(re.findall(r"%(.)", value))
    unknown = directives - set("YymdbBjaAHIMSpfzZ%")
    if unknown:
        raise ValueError("date format has a directive strptime does not know")
    has_year = bool(directives & {"Y", "y"})
    has_day = "j" in directives or (bool(directives & {"m", "b", "B"}) and "d" in directives)
    if not (has_year and has_day):
        raise ValueError("date format needs year, month and day directives, e.g. %m/%d/%Y")
    return value


def _encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError("unknown text encoding; e.g. utf-8, latin-1, cp1252") from None
    return value


def _delimiter(value: str) -> str:
    if len(value) != 1 or value in '"\r\n':
        raise ValueError("delimiter must be one character other than a quote or a newline")
    return value


def _separator(value: str) -> str:
    if not value or value.strip() != value or len(value) > 4:
        raise ValueError("separator must be 1 to 4 characters, without surrounding spaces")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ValueError, OSError, KeyError):
        raise ValueError("unknown IANA time zone; e.g. America/New_York or UTC") from None
    return value


def _as_column_table(value: Any) -> Any:
    """Let a field be written as a bare column name: ``x = "COL"`` means ``{column = "COL"}``."""
    return {"column": value} if isinstance(value, str) else value


def _within(low: float | None, high: float | None, why: str) -> AfterValidator:
    """A validator refusing numbers outside [low, high] (and NaN or infinity) with ``why``."""

    def check(value: Any) -> Any:
        outside = (low is not None and value < low) or (high is not None and value > high)
        if outside or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(why)
        return value

    return AfterValidator(check)


ColumnName = Annotated[str, AfterValidator(_column_name)]
RelativePath = Annotated[str, AfterValidator(_relative_path)]
SegmentLabel = Annotated[str, AfterValidator(_segment_label)]


# ---------------------------------------------------------------------------------------
# Models


class _Model(BaseModel):
    """Frozen, closed (unknown keys are errors) and strict about TOML types."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Party(_Model):
    """One party of the engagement: where its public key bundle is."""

    public_keys: RelativePath
    """Path of the party's public key bundle, relative to the engagement file."""


class Parties(_Model):
    """The parties; every role but the auditor is required."""

    campaign: Party
    operator: Party
    matcher: Party
    measurement: Party
    auditor: Party | None = None

    def declared(self) -> dict[str, Party]:
        """The declared parties by role, in pipeline order."""
        found = {role: getattr(self, role) for role in ROLES}
        return {role: party for role, party in found.items() if party is not None}


class ColumnSpec(_Model):
    """A canonical field read from one input column."""

    column: ColumnName


class DateSpec(_Model):
    """The date of birth column, optionally its strptime format (else auto-detected) and
    the oldest plausible age in years (older dates are null; default 120)."""

    column: ColumnName
    format: Annotated[str, AfterValidator(_date_format)] | None = None
    max_age: (
        Annotated[
            int,
            _within(*DOB_MAX_AGE_RANGE, "max_age must be a whole number of years from 1 to 150"),
        ]
        | None
    ) = None


class FullNameSpec(_Model):
    """A whole-name column, split into first, middle, last name and suffix."""

    column: ColumnName
    order: Literal["auto", "first_last", "last_first"] = "auto"


class AddressLineSpec(_Model):
    """A one-line address column, split into house number, street and unit.

    ``includes`` names the parts of a whole address (city, state, zip) the line also
    carries; those fields are then read from it too.
    """

    column: ColumnName
    includes: Annotated[
        tuple[Literal["city", "state", "zip"], ...],
        Field(strict=False),
        AfterValidator(_distinct_includes),
    ] = ()


FieldSpec = ColumnSpec | DateSpec | FullNameSpec | AddressLineSpec
_Column = Annotated[ColumnSpec | None, BeforeValidator(_as_column_table)]


class FieldMap(_Model):
    """Canonical field → input column. A field is a column name or a table."""

    first_name: _Column = None
    middle_name: _Column = None
    last_name: _Column = None
    name_suffix: _Column = None
    dob: Annotated[DateSpec | None, BeforeValidator(_as_column_table)] = None
    sex: _Column = None
    email: _Column = None
    phone: _Column = None
    house_number: _Column = None
    street: _Column = None
    unit: _Column = None
    city: _Column = None
    state: _Column = None
    zip: _Column = None
    national_id: _Column = None
    full_name: Annotated[FullNameSpec | None, BeforeValidator(_as_column_table)] = None
    address_line: Annotated[AddressLineSpec | None, BeforeValidator(_as_column_table)] = None

    def direct(self) -> dict[str, ColumnSpec | DateSpec]:
        """Canonical fields mapped directly to a column, in canonical order."""
        found = {name: getattr(self, name) for name in CANONICAL_FIELDS}
        return {name: spec for name, spec in found.items() if spec is not None}

    def source_for(self, field: str) -> FieldSpec | None:
        """The spec a canonical field is read from (its own column or a composite), or None.

        Raises ``ValueError`` for a name that is not a canonical field (a caller's bug).
        """
        if field not in CANONICAL_FIELDS:
            raise ValueError(f"not a canonical field: {field}")
        direct: FieldSpec | None = getattr(self, field)
        return direct if direct is not None else self.composite_of(field)

    def composite_of(self, field: str) -> FullNameSpec | AddressLineSpec | None:
        """The composite that carries ``field``, if any."""
        if self.full_name is not None and field in COMPOSITE_PARTS["full_name"]:
            return self.full_name
        line = self.address_line
        if line is not None and (
            field in COMPOSITE_PARTS["address_line"] or field in line.includes
        ):
            return line
        return None


def _format_of(path: Path, declared: FileFormat | None) -> FileFormat:
    if declared is not None:
        return declared
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise InputError(
            f"{path}: cannot tell the file format from its extension; set "
            'format = "csv" or "parquet" for this input in the engagement'
        )
    return found


class InputMapping(_Model):
    """How a list owner's file maps onto canonical fields (campaign and operator)."""

    id_column: ColumnName
    """The party's own record ID; it stays at home in the crosswalk."""
    format: FileFormat | None = None
    encoding: Annotated[str, AfterValidator(_encoding)] = "utf-8"
    delimiter: Annotated[str, AfterValidator(_delimiter)] = ","
    fields: FieldMap

    def source_for(self, field: str) -> FieldSpec | None:
        """The spec a canonical field is read from (its own column or a composite), or None.

        Raises ``ValueError`` for a name that is not a canonical field (a caller's bug).
        """
        return self.fields.source_for(field)

    def mapped_fields(self) -> tuple[str, ...]:
        """Canonical fields this input provides, directly or through a composite."""
        return tuple(f for f in CANONICAL_FIELDS if self.source_for(f) is not None)

    def columns_for(self, fields: Iterable[str] | None = None) -> tuple[str, ...]:
        """Input columns to read to produce ``fields`` (unmapped fields are skipped).

        With no argument: every column the party reads from this file (ID, fields and
        the input's own extras such as segment columns). Deduplicated, first-use order.
        """
        if fields is None:
            columns = [self.id_column]
            columns += [spec.column for spec in self.fields.direct().values()]
            if self.fields.full_name is not None:
                columns.append(self.fields.full_name.column)
            if self.fields.address_line is not None:
                columns.append(self.fields.address_line.column)
            columns += self._extra_columns()
        else:
            specs = [self.source_for(f) for f in fields]
            columns = [spec.column for spec in specs if spec is not None]
        return tuple(dict.fromkeys(columns))

    def file_format(self, path: Path) -> FileFormat:
        """The declared format, else the one the file's extension implies (``InputError``)."""
        return _format_of(path, self.format)

    def payload_columns(self) -> tuple[str, ...]:
        """The input's own columns beside the fields (segment flags, a box-list column)."""
        return tuple(self._extra_columns())

    def _extra_columns(self) -> list[str]:
        return []


def _label_count(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_SEGMENT_LABELS:
        raise ValueError(
            f"at most {MAX_SEGMENT_LABELS} segment labels (they are sealed as a 64-bit set)"
        )
    return value


Segments = Annotated[dict[SegmentLabel, ColumnName], AfterValidator(_label_count)]
SEGMENTS: TypeAdapter[dict[str, str]] = TypeAdapter(Segments, config=ConfigDict(strict=True))


class CampaignInput(InputMapping):
    """The campaign's voter file: fields plus segment labels (label → 0/1 column)."""

    segments: Segments = Field(default_factory=dict)

    def _extra_columns(self) -> list[str]:
        return list(self.segments.values())


class BoxSource(_Model):
    """Where the operator's box IDs are.

    Either a separate boxes file (``account_column`` and ``box_column``, one row per box)
    or a ``column`` of the subscriber file holding a list split by ``separator``.
    """

    account_column: ColumnName | None = None
    box_column: ColumnName | None = None
    column: ColumnName | None = None
    separator: Annotated[str, AfterValidator(_separator)] | None = None
    max_boxes: Annotated[int, _within(1, 64, "max_boxes must be from 1 to 64")] = 8
    """Fixed length of every sealed box list (longer lists are cut, shorter padded)."""

    @property
    def in_subscriber_file(self) -> bool:
        """True when the boxes are a list column of the subscriber file."""
        return self.column is not None

    @property
    def list_separator(self) -> str:
        """The separator of a list column (default ``;``)."""
        return self.separator if self.separator is not None else ";"


class OperatorInput(InputMapping):
    """The operator's subscriber file: fields plus where each account's boxes are."""

    boxes: BoxSource | None = None

    def _extra_columns(self) -> list[str]:
        if self.boxes is not None and self.boxes.column is not None:
            return [self.boxes.column]
        return []


class ViewingMapping(_Model):
    """Columns of the measurement company's tune events (box, channel, start, end)."""

    box_column: ColumnName = "box_id"
    channel_column: ColumnName = "channel"
    start_column: ColumnName = "start"
    end_column: ColumnName = "end"
    format: FileFormat | None = None
    timezone: Annotated[str, AfterValidator(_timezone)] | None = None
    """IANA zone of naive timestamps and of the quarter-hours reported; None: UTC."""

    def columns(self) -> tuple[str, ...]:
        """The four columns read, in order box, channel, start, end."""
        return (self.box_column, self.channel_column, self.start_column, self.end_column)

    def file_format(self, path: Path) -> FileFormat:
        """The declared format, else the one the file's extension implies (``InputError``)."""
        return _format_of(path, self.format)


class MeasurementInput(_Model):
    """The measurement company's inputs."""

    viewing: ViewingMapping = ViewingMapping()


class Inputs(_Model):
    """Input mappings of the parties that hold data."""

    campaign: CampaignInput
    operator: OperatorInput
    measurement: MeasurementInput = MeasurementInput()


_ComponentText = Annotated[str, AfterValidator(_component_text)]


class Recipe(_Model):
    """One pass of the matching waterfall: the components hashed into one token.

    A record missing a required component gets no token from the recipe. Components
    listed in ``optional`` (e.g. ``unit``: most homes have none) may be missing; they
    count for nothing in the lint.
    """

    name: Annotated[str, AfterValidator(_recipe_name)]
    fields: Annotated[
        tuple[_ComponentText, ...],
        Field(strict=False, min_length=1, max_length=MAX_RECIPE_COMPONENTS),
        AfterValidator(_distinct_components),
    ]
    level: Level = "person"
    optional: Annotated[tuple[_ComponentText, ...], Field(strict=False)] = ()
    _components: tuple[Component, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _optional_within_fields(self) -> Recipe:
        if not set(self.optional) <= set(self.fields):
            raise ValueError("optional lists a component that is not in fields")
        if set(self.optional) >= set(self.fields):
            raise ValueError("every component is optional; at least one must be required")
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._components = tuple(parse_component(text) for text in self.fields)

    @property
    def components(self) -> tuple[Component, ...]:
        """The parsed components: ``(transform or None, canonical field)`` each, in order."""
        return self._components

    @property
    def required_components(self) -> tuple[Component, ...]:
        """The components a record must have to get a token from this recipe."""
        optional = set(self.optional)
        return tuple(c for c in self._components if str(c) not in optional)

    def is_optional(self, component: Component) -> bool:
        """Whether a record may lack ``component`` and still get a token."""
        return str(component) in self.optional

    @property
    def field_names(self) -> tuple[str, ...]:
        """The canonical fields the recipe reads, deduplicated, in order."""
        return tuple(dict.fromkeys(c.field for c in self._components))

    def canonical_spec(self) -> str:
        """A stable description of the recipe, used as its HKDF info.

        ``v1|name_address|first_name,last_name,house_number,street,zip``; an optional
        component carries a ``?`` (``unit?``). Changing the scheme, the name, a component,
        its optionality or the order changes the recipe's key.
        """
        optional = set(self.optional)
        parts = (f"{text}?" if text in optional else text for text in self.fields)
        return f"{TOKEN_SCHEME}|{self.name}|{','.join(parts)}"


def lint_recipe(recipe: Recipe) -> str | None:
    """Why ``recipe`` is too weak to use, or None when it may be used.

    Only required components count. The rule is ``lint_components`` in
    ``hashing.engagement_recipes``, explained in ``docs/engagement.md``; the auditor
    calls this on the recipes of an engagement it checks.
    """
    return lint_components(recipe.required_components, recipe.level)


class TokenSettings(_Model):
    """Token generation settings."""

    frequency_ceiling: Annotated[
        int, _within(2, None, "frequency_ceiling must be at least 2 (default 25)")
    ] = 25
    """A token value shared by more records of one file than this is dropped and counted."""


class MatchingSettings(_Model):
    """How the matcher scores and assigns candidate pairs."""

    link_type: Literal["many_to_one", "one_to_one"] = "many_to_one"
    mode: Literal["fellegi_sunter", "waterfall"] = "fellegi_sunter"
    min_posterior: Annotated[
        float, _within(0.5, 1, "min_posterior must be from 0.5 to 1 (a match must be likelier)")
    ] = 0.9


class MeasurementSettings(_Model):
    """Quarter-hour crediting."""

    credit_minutes: Annotated[
        int, _within(1, 15, "credit_minutes must be from 1 to 15 (minutes of a quarter-hour)")
    ] = 5


_K_MIN_WHY = f"k_min must be at least {MIN_K}: smaller cells single out households (default 50)"


class PrivacySettings(_Model):
    """Output privacy of every aggregate."""

    k_min: Annotated[int, _within(MIN_K, None, _K_MIN_WHY)] = 50
    dp_epsilon: Annotated[
        float, _within(0, None, "dp_epsilon must be 0 (no noise) or a positive number")
    ] = 0.0


class Engagement(_Model):
    """A validated engagement. Build it with ``load_engagement`` or ``parse_engagement``."""

    version: Literal[1]
    engagement_id: Annotated[str, AfterValidator(_engagement_id)]
    description: str = ""
    parties: Parties
    inputs: Inputs
    recipes: Annotated[
        tuple[Recipe, ...], Field(strict=False, min_length=1, max_length=MAX_RECIPES)
    ]
    tokens: TokenSettings = TokenSettings()
    matching: MatchingSettings = MatchingSettings()
    measurement: MeasurementSettings = MeasurementSettings()
    privacy: PrivacySettings = PrivacySettings()
    _base_dir: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cross_checked(self, info: ValidationInfo) -> Engagement:
        # Direct model_validate calls get the same cross-field checks, in one message.
        if info.context and info.context.get(CROSS_CHECKED):
            return self
        # Imported here: the checks module imports this one.
        from hashing.engagement_checks import engagement_problems

        problems = engagement_problems(self)
        if problems:
            raise ValueError("; ".join(f"{path}: {message}" for path, message in problems))
        return self

    def with_base_dir(self, base_dir: Path | None) -> Engagement:
        """A copy whose relative paths resolve against ``base_dir`` (None: working dir)."""
        located = self.model_copy()
        located._base_dir = base_dir
        return located

    @property
    def base_dir(self) -> Path:
        """The directory relative paths are resolved against (the engagement file's)."""
        return self._base_dir if self._base_dir is not None else Path.cwd()

    @property
    def segment_labels(self) -> tuple[str, ...]:
        """The campaign's segment labels in declared order: bit i of the sealed set is label i."""
        return tuple(self.inputs.campaign.segments)

    def recipe_names(self) -> tuple[str, ...]:
        """Recipe names in waterfall order."""
        return tuple(recipe.name for recipe in self.recipes)

    def recipe(self, name: str) -> Recipe:
        """The recipe called ``name`` (``KeyError`` if none is)."""
        for recipe in self.recipes:
            if recipe.name == name:
                return recipe
        raise KeyError(name)

    def input_for(self, role: str) -> InputMapping:
        """The input mapping of a list owner (``campaign`` or ``operator``)."""
        if role == "campaign":
            return self.inputs.campaign
        if role == "operator":
            return self.inputs.operator
        raise ValueError(f"no input mapping for role {role}")

    def resolve_path(self, rel: str | Path) -> Path:
        """A path from the engagement, resolved against the engagement file's directory."""
        path = Path(rel)
        return path if path.is_absolute() else self.base_dir / path

    def check_files(self) -> list[Problem]:
        """Problems with files the engagement names (key bundles that are not there).

        Kept apart from loading: bundles are created after the engagement is written.
        """
        problems: list[Problem] = []
        for role, party in self.parties.declared().items():
            path = self.resolve_path(party.public_keys)
            if not path.is_file():
                problems.append(
                    (
                        f"parties.{role}.public_keys",
                        f"key bundle not found at {path}; run 'link keys' for the {role}",
                    )
                )
        return problems
