"""The engagement file: loading, every-problem-at-once validation, helpers and recipe lint."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hashing import engagement as engagement_module
from hashing.engagement import (
    CURRENT_VERSION,
    Engagement,
    Recipe,
    lint_recipe,
    load_engagement,
    migrate,
    parse_engagement,
)
from hashing.engagement_recipes import (
    REQUIRED_STRENGTH,
    Component,
    component_strength,
    parse_component,
    recipe_strength,
)
from hashing.errors import ConfigError, InputError

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "engagement.toml"
BASE: dict[str, Any] = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))


def sample_data() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def problems_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_engagement(data, "test.toml")
    assert info.value.source == "test.toml"
    return info.value.problems


def paths_of(data: dict[str, Any]) -> list[str]:
    return [path for path, _ in problems_of(data)]


def to_toml(data: dict[str, Any]) -> str:
    """A minimal TOML writer for valid engagement dicts: nested tables go inline."""

    def key(k: str) -> str:
        return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }"
        raise TypeError(type(v))

    return "".join(f"{key(k)} = {value(v)}\n" for k, v in data.items())


# --------------------------------------------------------------------------------------
# The sample engagement and the helpers roles use


def test_sample_engagement_loads_with_every_party_and_label() -> None:
    eng = load_engagement(SAMPLE)
    assert eng.version == CURRENT_VERSION
    assert set(eng.parties.declared()) == {
        "campaign",
        "operator",
        "matcher",
        "measurement",
        "auditor",
    }
    assert eng.segment_labels == (
        "persuadable",
        "gotv",
        "base",
        "hispanic",
        "black",
        "aapi",
        "senior",
    )
    assert eng.recipe_names()[:2] == ("email", "phone")
    assert all(lint_recipe(r) is None for r in eng.recipes)
    assert eng.inputs.campaign.id_column == "VOTER_ID"
    assert eng.inputs.operator.boxes is not None
    assert eng.inputs.operator.boxes.max_boxes == 8


def test_sample_engagement_maps_every_recipe_field_on_both_sides() -> None:
    eng = load_engagement(SAMPLE)
    for recipe in eng.recipes:
        for role in ("campaign", "operator"):
            assert set(recipe.field_names) <= set(eng.input_for(role).mapped_fields())


def test_operator_composites_supply_name_and_address_parts() -> None:
    operator = load_engagement(SAMPLE).inputs.operator
    first = operator.source_for("first_name")
    assert first is not None and first.column == "holder_name"
    street = operator.source_for("street")
    assert street is not None and street.column == "service_address"
    assert operator.source_for("dob") is None
    assert operator.columns_for(["first_name", "last_name", "zip", "dob"]) == (
        "holder_name",
        "zip",
    )
    with pytest.raises(ValueError):
        operator.source_for("full_name")


def test_columns_for_all_lists_id_fields_and_segments_once() -> None:
    campaign = load_engagement(SAMPLE).inputs.campaign
    columns = campaign.columns_for()
    assert columns[0] == "VOTER_ID"
    assert "BIRTH_DATE" in columns and "SEG_GOTV" in columns and "COMM_SENIOR" in columns
    assert len(columns) == len(set(columns))
    dob = campaign.source_for("dob")
    assert dob is not None and getattr(dob, "format", None) == "%m/%d/%Y"


def test_recipe_components_and_canonical_spec() -> None:
    eng = load_engagement(SAMPLE)
    name_address = eng.recipe("name_address")
    assert name_address.canonical_spec() == (
        "v1|name_address|first_name,last_name,house_number,street,unit?,zip"
    )
    phonetic = eng.recipe("phonetic")
    assert phonetic.components[:2] == (
        Component("nysiis", "last_name"),
        Component("initial", "first_name"),
    )
    assert phonetic.components[0] == ("nysiis", "last_name")
    address = eng.recipe("address")
    assert address.canonical_spec() == "v1|address|house_number,core(street),unit?,zip"
    assert [str(c) for c in address.required_components] == ["house_number", "core(street)", "zip"]
    assert address.is_optional(Component(None, "unit"))
    with pytest.raises(KeyError):
        eng.recipe("nope")


def test_canonical_spec_changes_with_any_part_of_a_recipe() -> None:
    base = Recipe(name="r", fields=("first_name", "last_name", "dob"))
    variants = [
        Recipe(name="r2", fields=("first_name", "last_name", "dob")),
        Recipe(name="r", fields=("last_name", "first_name", "dob")),
        Recipe(name="r", fields=("first_name", "nysiis(last_name)", "dob")),
        Recipe(name="r", fields=("first_name", "last_name", "dob", "sex"), optional=("sex",)),
    ]
    specs = {base.canonical_spec(), *(v.canonical_spec() for v in variants)}
    assert len(specs) == 1 + len(variants)
    # Spelling differences inside a component do not change it.
    assert Recipe(name="r", fields=(" first_name", "last_name ", "dob")) == base


def test_paths_resolve_against_the_engagement_file(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    path = tmp_path / "engagement.toml"
    path.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    eng = load_engagement(path)
    assert eng.resolve_path("keys/campaign.pub.json") == tmp_path / "keys/campaign.pub.json"
    assert eng.resolve_path(tmp_path / "x") == tmp_path / "x"
    missing = eng.check_files()
    assert [p for p, _ in missing] == [f"parties.{r}.public_keys" for r in eng.parties.declared()]
    for role in eng.parties.declared():
        (tmp_path / "keys" / f"{role}.pub.json").write_text("{}")
    assert eng.check_files() == []


def test_file_format_comes_from_the_extension_unless_declared() -> None:
    eng = parse_engagement(sample_data(), "t")
    assert eng.inputs.campaign.file_format(Path("x.parquet")) == "csv"  # declared
    viewing = eng.inputs.measurement.viewing
    assert viewing.file_format(Path("v.parquet")) == "parquet"
    assert viewing.file_format(Path("v.CSV")) == "csv"
    with pytest.raises(InputError, match="extension"):
        viewing.file_format(Path("v.xlsx"))


def test_measurement_input_and_settings_have_defaults() -> None:
    data = sample_data()
    for key in ("tokens", "matching", "measurement", "privacy", "description"):
        del data[key]
    del data["inputs"]["measurement"]
    eng = parse_engagement(data, "t")
    assert eng.inputs.measurement.viewing.columns() == ("box_id", "channel", "start", "end")
    assert eng.privacy.k_min == 50 and eng.privacy.dp_epsilon == 0.0
    assert eng.tokens.frequency_ceiling == 25
    assert eng.measurement.credit_minutes == 5
    assert eng.matching.mode == "fellegi_sunter" and eng.matching.link_type == "many_to_one"


# --------------------------------------------------------------------------------------
# Loading: files, TOML syntax, versions


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_engagement(tmp_path / "nope.toml")
    assert info.value.problems == [("(file)", "engagement file not found")]


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('version = 1\nengagement_id = "abcd\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_engagement(path)
    ((where, message),) = info.value.problems
    assert where == "(file)"
    assert "line 2" in message and "column" in message


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes('description = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_engagement(path)


def test_newer_version_is_refused_alone() -> None:
    data = sample_data()
    data["version"] = CURRENT_VERSION + 1
    data["privacy"]["k_min"] = 3
    problems = problems_of(data)
    assert len(problems) == 1
    assert problems[0][0] == "version" and "newer" in problems[0][1]


@pytest.mark.parametrize("version", [0, -1])
def test_unknown_old_version_is_refused(version: int) -> None:
    data = sample_data()
    data["version"] = version
    assert paths_of(data) == ["version"]


def test_missing_version_is_reported_with_the_other_problems() -> None:
    data = sample_data()
    del data["version"]
    data["privacy"]["k_min"] = 3
    assert paths_of(data) == ["version", "privacy.k_min"]


def test_migrate_copies_current_data_and_runs_registered_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = sample_data()
    upgraded = migrate(data)
    assert upgraded == data and upgraded is not data
    upgraded["privacy"]["k_min"] = 99
    assert data["privacy"]["k_min"] == 50  # a deep copy: the input is never changed

    def one_to_two(d: dict[str, Any]) -> dict[str, Any]:
        d["renamed"] = d.pop("description")
        return d

    monkeypatch.setattr(engagement_module, "CURRENT_VERSION", 2)
    monkeypatch.setitem(engagement_module._MIGRATIONS, 1, one_to_two)
    upgraded = migrate(data)
    assert upgraded["version"] == 2 and "renamed" in upgraded and "description" not in upgraded
    assert data["version"] == 1 and "description" in data


def test_top_level_must_be_a_table() -> None:
    with pytest.raises(ConfigError):
        parse_engagement([], "t")  # type: ignore[arg-type]


def test_model_validate_alone_still_runs_cross_checks() -> None:
    data = sample_data()
    data["recipes"].append({"name": "zip_only", "fields": ["zip"]})
    with pytest.raises(ValidationError, match="too weak"):
        Engagement.model_validate(data)


# --------------------------------------------------------------------------------------
# Specific checks


def test_too_many_segment_labels() -> None:
    data = sample_data()
    data["inputs"]["campaign"]["segments"] = {f"s{i}": f"C{i}" for i in range(65)}
    assert paths_of(data) == ["inputs.campaign.segments"]
    data["inputs"]["campaign"]["segments"] = {f"s{i}": f"C{i}" for i in range(64)}
    assert len(parse_engagement(data, "t").segment_labels) == 64


def test_two_labels_on_one_column() -> None:
    data = sample_data()
    data["inputs"]["campaign"]["segments"]["again"] = "SEG_GOTV"
    assert paths_of(data) == ["inputs.campaign.segments.again"]


@pytest.mark.parametrize(
    ("boxes", "path"),
    [
        ({"account_column": "a"}, "inputs.operator.boxes.box_column"),
        ({}, "inputs.operator.boxes"),
        ({"account_column": "a", "box_column": "b", "column": "c"}, "inputs.operator.boxes"),
        ({"account_column": "a", "box_column": "b", "separator": ";"}, "separator"),
        ({"column": "c", "max_boxes": 0}, "inputs.operator.boxes.max_boxes"),
    ],
)
def test_box_source_forms(boxes: dict[str, Any], path: str) -> None:
    data = sample_data()
    data["inputs"]["operator"]["boxes"] = boxes
    assert any(p.endswith(path) for p in paths_of(data))


def test_box_list_column_form_is_valid() -> None:
    data = sample_data()
    data["inputs"]["operator"]["boxes"] = {"column": "box_ids", "separator": "|"}
    operator = parse_engagement(data, "t").inputs.operator
    assert operator.boxes is not None and operator.boxes.in_subscriber_file
    assert operator.boxes.list_separator == "|"
    assert "box_ids" in operator.columns_for()


def test_address_line_includes_city_state_zip() -> None:
    data = sample_data()
    fields = data["inputs"]["operator"]["fields"]
    for key in ("city", "state", "zip"):
        del fields[key]
    fields["address_line"]["includes"] = ["city", "state", "zip"]
    operator = parse_engagement(data, "t").inputs.operator
    zip_source = operator.source_for("zip")
    assert zip_source is not None and zip_source.column == "service_address"
    fields["city"] = "city"
    assert paths_of(data) == ["inputs.operator.fields.city"]


def test_one_recipe_needs_waterfall_mode() -> None:
    data = sample_data()
    data["recipes"] = data["recipes"][:1]
    data["matching"]["mode"] = "fellegi_sunter"
    assert paths_of(data) == ["matching.mode"]
    data["matching"]["mode"] = "waterfall"
    assert parse_engagement(data, "t").recipe_names() == ("email",)


def test_recipe_optional_must_be_some_of_its_fields() -> None:
    data = sample_data()
    data["recipes"][0]["optional"] = ["phone"]
    data["recipes"][1]["optional"] = ["phone"]
    assert paths_of(data) == ["recipes[0]", "recipes[1]"]


def test_problem_messages_are_plain_words() -> None:
    data = sample_data()
    data["privacy"]["k_min"] = "50"
    data["inputs"]["campaign"]["fields"]["shoe_size"] = "SHOE"
    data["parties"]["matcher"] = {}
    problems = dict(problems_of(data))
    assert problems["privacy.k_min"] == "expected an integer"
    assert problems["inputs.campaign.fields.shoe_size"].startswith("not a canonical field")
    assert problems["parties.matcher.public_keys"] == "required key is missing"


# --------------------------------------------------------------------------------------
# Recipe lint


@pytest.mark.parametrize(
    ("fields", "level"),
    [
        (["email"], "person"),
        (["phone"], "person"),
        (["house_number", "street", "zip"], "household"),
        (["first_name", "last_name", "house_number", "street", "zip"], "person"),
        (["last_name", "house_number", "street", "zip"], "person"),
        (["first_name", "last_name", "dob"], "person"),
        (["nysiis(last_name)", "initial(first_name)", "house_number", "zip"], "person"),
        (["house_number", "street", "city", "state"], "household"),
        (["national_id", "zip"], "person"),
        (["national_id", "first3(last_name)"], "person"),
        (["national_id", "initial(first_name)", "initial(last_name)"], "person"),
    ],
)
def test_lint_accepts_identifying_recipes(fields: list[str], level: str) -> None:
    assert (
        lint_recipe(Recipe.model_validate({"name": "r", "fields": fields, "level": level})) is None
    )


@pytest.mark.parametrize(
    "fields",
    [
        ["zip"],
        ["sex", "year(dob)"],
        ["last_name"],
        ["state", "city"],
        ["dob"],
        ["first_name", "sex"],
        ["first_name", "last_name"],
        ["last_name", "dob"],
        ["dob", "zip"],
        ["house_number", "zip"],
        ["house_number", "street"],
        ["city", "state", "zip", "first3(zip)"],
        ["soundex(last_name)", "initial(first_name)", "zip"],
        ["national_id"],
        ["national_id", "initial(first_name)"],
        ["national_id", "state"],
    ],
)
def test_lint_refuses_weak_recipes(fields: list[str]) -> None:
    for level in ("person", "household"):
        recipe = Recipe.model_validate({"name": "r", "fields": fields, "level": level})
        reason = lint_recipe(recipe)
        assert reason is not None and "too weak" in reason


def test_lint_wants_household_level_for_address_only_recipes() -> None:
    recipe = Recipe(name="r", fields=("house_number", "street", "unit", "zip"))
    reason = lint_recipe(recipe)
    assert reason is not None and "household" in reason


def test_optional_components_do_not_count() -> None:
    strong = Recipe(name="r", fields=("last_name", "dob", "zip"))
    weak = Recipe(name="r", fields=("last_name", "dob", "zip"), optional=("zip",))
    assert lint_recipe(strong) is None
    assert lint_recipe(weak) is not None


@pytest.mark.parametrize(
    ("transformed", "plain"),
    [
        ("nysiis(last_name)", "last_name"),
        ("soundex(last_name)", "last_name"),
        ("metaphone(first_name)", "first_name"),
        ("initial(first_name)", "first_name"),
        ("year(dob)", "dob"),
        ("first3(zip)", "zip"),
    ],
)
def test_a_transform_weakens_its_field(transformed: str, plain: str) -> None:
    assert component_strength(parse_component(transformed)) < component_strength(
        parse_component(plain)
    )


def test_a_field_counts_once_and_geography_is_capped() -> None:
    once = recipe_strength([parse_component("last_name"), parse_component("nysiis(last_name)")])
    assert once == component_strength(parse_component("last_name"))
    place = [parse_component(f) for f in ("city", "state", "zip")]
    assert recipe_strength(place) < REQUIRED_STRENGTH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nysiis(initial(first_name))", "one transform"),
        ("shout(last_name)", "unknown transform"),
        ("full_name", "composite"),
        ("shoe_size", "not a canonical field"),
        ("year(last_name)", "does not apply"),
        ("initial(zip)", "does not apply"),
        ("", "not a canonical field"),
    ],
)
def test_parse_component_explains_refusals(text: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parse_component(text)


# --------------------------------------------------------------------------------------
# Property tests: N independent faults → at least N problems with the right key paths

Fault = Callable[[dict[str, Any]], str]


def _add_recipe(data: dict[str, Any], recipe: dict[str, Any]) -> int:
    data["recipes"].append(recipe)
    return len(data["recipes"]) - 1


def _set(path: tuple[str, ...], value: Any, expect: str | None = None) -> Fault:
    def inject(data: dict[str, Any]) -> str:
        table = data
        for key in path[:-1]:
            table = table.setdefault(key, {})
        table[path[-1]] = value
        return expect if expect is not None else ".".join(path)

    return inject


def _delete(path: tuple[str, ...]) -> Fault:
    def inject(data: dict[str, Any]) -> str:
        table = data
        for key in path[:-1]:
            table = table[key]
        del table[path[-1]]
        return ".".join(path)

    return inject


def _recipe_fault(recipe: dict[str, Any], suffix: str) -> Fault:
    def inject(data: dict[str, Any]) -> str:
        return f"recipes[{_add_recipe(data, copy.deepcopy(recipe))}]{suffix}"

    return inject


FAULTS: dict[str, Fault] = {
    "bad_id": _set(("engagement_id",), "no spaces allowed"),
    "unknown_transform": _recipe_fault(
        {"name": "f_transform", "fields": ["shout(last_name)", "email"]}, ".fields[0]"
    ),
    "nested_transform": _recipe_fault(
        {"name": "f_nested", "fields": ["phone", "nysiis(initial(first_name))"]}, ".fields[1]"
    ),
    "weak_recipe": _recipe_fault({"name": "f_weak", "fields": ["zip"]}, ""),
    "person_address": _recipe_fault(
        {"name": "f_address", "fields": ["house_number", "street", "city", "state"]}, ""
    ),
    "unmapped_field": _recipe_fault(
        {"name": "f_dob", "fields": ["first_name", "last_name", "dob"]}, ".fields[2]"
    ),
    "duplicate_name": _recipe_fault({"name": "email", "fields": ["email", "phone"]}, ".name"),
    "bad_level": _recipe_fault(
        {"name": "f_level", "fields": ["email", "dob"], "level": "family"}, ".level"
    ),
    "k_min_3": _set(("privacy", "k_min"), 3),
    "negative_epsilon": _set(("privacy", "dp_epsilon"), -1.0),
    "credit_minutes": _set(("measurement", "credit_minutes"), 16),
    "frequency_ceiling": _set(("tokens", "frequency_ceiling"), 1),
    "wrong_type": _set(("matching", "min_posterior"), "high"),
    "bad_link_type": _set(("matching", "link_type"), "many_to_many"),
    "unknown_field": _set(("inputs", "campaign", "fields", "shoe_size"), "SHOE"),
    "bad_date_format": _set(("inputs", "campaign", "fields", "dob", "format"), "%Q"),
    "dob_max_age": _set(("inputs", "campaign", "fields", "dob", "max_age"), 151),
    "bad_label": _set(("inputs", "campaign", "segments", "Swing-Voters"), "SEG_SWING"),
    "composite_conflict": _set(("inputs", "operator", "fields", "last_name"), "surname"),
    "bad_encoding": _set(("inputs", "operator", "encoding"), "utf-99"),
    "box_form": _set(
        ("inputs", "operator", "boxes", "column"), "box_ids", expect="inputs.operator.boxes"
    ),
    "bad_timezone": _set(("inputs", "measurement", "viewing", "timezone"), "Mars/Olympus"),
    "unknown_input": _set(("inputs", "matcher"), {"id_column": "x"}),
    "unknown_party": _set(("parties", "bystander"), {"public_keys": "keys/b.pub.json"}),
    "missing_party": _delete(("parties", "matcher")),
    "shared_bundle": _set(("parties", "auditor", "public_keys"), "keys/campaign.pub.json"),
    "unknown_top_key": _set(("colour",), "blue"),
    "blank_column": _set(("inputs", "campaign", "id_column"), "  "),
}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(sorted(FAULTS)), min_size=1, max_size=8, unique=True))
def test_n_faults_give_n_problems_at_their_key_paths(names: list[str]) -> None:
    data = sample_data()
    expected = [FAULTS[name](data) for name in names]
    with pytest.raises(ConfigError) as info:
        parse_engagement(data, "faulty.toml")
    problems = info.value.problems
    found = [path for path, _ in problems]
    assert len(problems) >= len(names)
    for path in expected:
        assert path in found, (names, path, found)
    # one error, every message one line
    assert all("\n" not in message for _, message in problems)


def test_every_fault_alone_gives_its_key_path() -> None:
    for name, fault in FAULTS.items():
        data = sample_data()
        path = fault(data)
        assert path in paths_of(data), name


# PII-looking values put where the schema refuses them must never come back in a message.
_names = st.from_regex(r"[A-Z][a-z]{3,8} [A-Z][a-z]{4,10}", fullmatch=True)
_phones = st.from_regex(r"\(?[2-9][0-9]{2}\)? ?[2-9][0-9]{2}-[0-9]{4}", fullmatch=True)
_emails = st.from_regex(r"[a-z]{3,8}\.[a-z]{3,8}@[a-z]{4,8}\.(com|org|net)", fullmatch=True)
_dates = st.from_regex(r"(0[1-9]|1[0-2])/(0[1-9]|1[0-9]|2[0-8])/19[4-9][0-9]", fullmatch=True)
_pii = st.one_of(_names, _phones, _emails, _dates)


@settings(max_examples=40, deadline=None)
@given(st.lists(_pii, min_size=9, max_size=9))
def test_messages_never_echo_values(values: list[str]) -> None:
    data = sample_data()
    data["engagement_id"] = values[0] + " "
    data["recipes"].append({"name": "f_pii", "fields": [values[1], "email"]})
    data["recipes"].append({"name": "f_pii2", "fields": [f"nysiis({values[2]})", "phone"]})
    data["recipes"].append({"name": "f_pii3", "fields": ["email", "dob"], "level": values[3]})
    data["inputs"]["campaign"]["fields"]["dob"]["format"] = values[4]
    data["inputs"]["measurement"]["viewing"]["timezone"] = values[5]
    data["matching"]["mode"] = values[6]
    data["privacy"]["k_min"] = values[7]
    data["inputs"]["operator"]["encoding"] = values[8]
    with pytest.raises(ConfigError) as info:
        parse_engagement(data, "pii.toml")
    text = str(info.value)
    assert len(info.value.problems) >= 9
    for value in values:
        assert value not in text


# --------------------------------------------------------------------------------------
# Round trip of generated valid engagements

_STRONG_RECIPES: list[dict[str, Any]] = [
    {"fields": ["email"]},
    {"fields": ["phone"]},
    {"fields": ["first_name", "last_name", "house_number", "street", "zip"]},
    {"fields": ["last_name", "house_number", "street", "zip"]},
    {"fields": ["nysiis(last_name)", "initial(first_name)", "house_number", "zip"]},
    {
        "fields": ["house_number", "street", "unit", "zip"],
        "optional": ["unit"],
        "level": "household",
    },
    {"fields": ["metaphone(first_name)", "last_name", "zip", "soundex(street)"]},
    {"fields": ["first3(last_name)", "first_name", "house_number", "street", "city", "state"]},
]

_label = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def valid_engagements(draw: st.DrawFn) -> dict[str, Any]:
    data = sample_data()
    data["engagement_id"] = draw(st.from_regex(r"[A-Za-z0-9._-]{4,64}", fullmatch=True))
    data["description"] = draw(st.text(max_size=40))
    picks = draw(
        st.lists(st.sampled_from(range(len(_STRONG_RECIPES))), min_size=2, max_size=8, unique=True)
    )
    data["recipes"] = [{"name": f"r{i}", **copy.deepcopy(_STRONG_RECIPES[i])} for i in picks]
    labels = draw(st.lists(_label, max_size=64, unique=True))
    data["inputs"]["campaign"]["segments"] = {lab: f"SEG_{n}" for n, lab in enumerate(labels)}
    data["inputs"]["operator"]["delimiter"] = draw(st.sampled_from([",", "\t", "|", ";"]))
    data["tokens"]["frequency_ceiling"] = draw(st.integers(2, 10_000))
    data["matching"] = {
        "link_type": draw(st.sampled_from(["many_to_one", "one_to_one"])),
        "mode": draw(st.sampled_from(["fellegi_sunter", "waterfall"])),
        "min_posterior": draw(st.floats(0.5, 1.0)),
    }
    data["measurement"]["credit_minutes"] = draw(st.integers(1, 15))
    data["privacy"] = {
        "k_min": draw(st.integers(10, 10_000)),
        "dp_epsilon": draw(st.one_of(st.just(0.0), st.floats(1e-3, 20.0))),
    }
    return data


@settings(max_examples=40, deadline=None)
@given(valid_engagements())
def test_valid_engagements_round_trip_through_toml(data: dict[str, Any]) -> None:
    first = parse_engagement(data, "generated")
    dumped = first.model_dump(exclude_none=True)
    again = parse_engagement(tomllib.loads(to_toml(dumped)), "round-trip")
    assert again == first
    assert again.model_dump(exclude_none=True) == dumped
    assert [r.canonical_spec() for r in again.recipes] == [
        r.canonical_spec() for r in first.recipes
    ]
    assert again.segment_labels == tuple(data["inputs"]["campaign"]["segments"])


# --------------------------------------------------------------------------------------
# The reference page stays true

DOCS = Path(__file__).resolve().parents[2] / "docs" / "engagement.md"


def test_the_documented_example_is_a_valid_engagement() -> None:
    text = DOCS.read_text(encoding="utf-8")
    example = text.split("## Example", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    eng = parse_engagement(tomllib.loads(example), "docs example")
    assert eng.engagement_id == "oh-2026-general"
    assert eng.inputs.operator.boxes is not None and eng.inputs.operator.boxes.in_subscriber_file


def test_the_documented_lint_table_matches_the_lint() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `([^|]+)`( \(household\)| at person level)? \| ([\d /]+) \| (accepted|refused)",
        text,
        re.M,
    )
    assert len(rows) >= 10
    for components, qualifier, strengths, verdict in rows:
        level = "household" if qualifier == " (household)" else "person"
        alternatives = components.split("` / `")
        values = strengths.split(" / ")
        values = values * len(alternatives) if len(values) == 1 else values
        for alternative, strength in zip(alternatives, values, strict=True):
            fields = [f.strip() for f in alternative.split(",")]
            parsed = [parse_component(f) for f in fields]
            assert recipe_strength(parsed) == float(strength), alternative
            recipe = Recipe.model_validate({"name": "r", "fields": fields, "level": level})
            assert (lint_recipe(recipe) is None) == (verdict == "accepted"), alternative


@pytest.mark.parametrize("max_age", [1, 130, 150])
def test_dob_max_age_is_read_from_the_field_map(max_age: int) -> None:
    data = sample_data()
    data["inputs"]["campaign"]["fields"]["dob"]["max_age"] = max_age
    eng = parse_engagement(data, "test")
    dob = eng.inputs.campaign.fields.dob
    assert dob is not None and dob.max_age == max_age
    assert eng.inputs.campaign.fields.model_dump(exclude_none=True)["dob"]["max_age"] == max_age
    assert eng.inputs.operator.fields.dob is None or eng.inputs.operator.fields.dob.max_age is None


@pytest.mark.parametrize("max_age", [0, 151, -5, 130.5, True, "130"])
def test_dob_max_age_outside_1_to_150_is_refused(max_age: object) -> None:
    data = sample_data()
    data["inputs"]["campaign"]["fields"]["dob"]["max_age"] = max_age
    assert paths_of(data) == ["inputs.campaign.fields.dob.max_age"]


def test_national_id_is_a_canonical_field_of_the_field_map() -> None:
    data = sample_data()
    data["inputs"]["campaign"]["fields"]["national_id"] = "SSN"
    data["inputs"]["operator"]["fields"]["national_id"] = {"column": "ssn"}
    data["recipes"].append({"name": "ssn_zip", "fields": ["national_id", "zip"]})
    eng = parse_engagement(data, "test")
    assert "national_id" in eng.inputs.campaign.mapped_fields()
    assert eng.inputs.operator.columns_for(["national_id"]) == ("ssn",)
    assert eng.recipe("ssn_zip").field_names == ("national_id", "zip")


def test_febrl4_engagement_is_person_level_and_matches_both_files_alike() -> None:
    eng = load_engagement(SAMPLE.parent / "febrl4.toml")
    assert eng.matching.link_type == "one_to_one"
    assert all(lint_recipe(r) is None for r in eng.recipes)
    assert any("national_id" in r.field_names for r in eng.recipes)
    dob = eng.inputs.campaign.fields.dob
    assert dob is not None and dob.max_age == 130
    assert all(r.level == "person" for r in eng.recipes)
    assert eng.inputs.campaign.fields == eng.inputs.operator.fields
    assert eng.inputs.operator.boxes is None and eng.segment_labels == ()
