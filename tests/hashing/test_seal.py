"""Sealed label bitsets and box lists: round trips, fixed sizes, and every refusal."""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashing import _crypto
from hashing.errors import InputError, PolicyError, VerificationError
from hashing.keys import SealKey
from hashing.seal import (
    BOX_SLOT_LEN,
    LABELS_COLUMN,
    boxes_aad,
    labels_aad,
    seal_box_lists,
    seal_labels,
    sealed_boxes_len,
    sealed_labels_len,
    unseal_box_lists,
    unseal_labels,
)

ENG = "eng-2026-04"
SEG = SealKey.generate("segments")
BOX = SealKey.generate("boxes")
SETTINGS = settings(max_examples=60, deadline=None)


def labels_series(values: list[int]) -> pl.Series:
    return pl.Series("segments", values, dtype=pl.UInt64)


def box_series(lists: list[list[str]]) -> pl.Series:
    return pl.Series("box_ids", lists, dtype=pl.List(pl.String))


@st.composite
def bitsets(draw: st.DrawFn) -> tuple[int, list[int]]:
    n_labels = draw(st.integers(1, 64))
    values = draw(st.lists(st.integers(0, 2**n_labels - 1), min_size=0, max_size=40))
    return n_labels, values


_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
box_ids = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=_SURROGATES), min_size=1, max_size=32
).filter(lambda s: s.strip() != "" and len(s.encode()) <= 32)


@st.composite
def box_lists(draw: st.DrawFn) -> tuple[int, list[list[str]]]:
    max_boxes = draw(st.integers(1, 6))
    lists = draw(st.lists(st.lists(box_ids, max_size=max_boxes), max_size=25))
    return max_boxes, lists


# -- labels ------------------------------------------------------------------------------


@SETTINGS
@given(bitsets())
def test_labels_round_trip(case: tuple[int, list[int]]) -> None:
    n_labels, values = case
    sealed = seal_labels(labels_series(values), SEG, ENG, n_labels)
    assert sealed.dtype == pl.Binary
    assert sealed.name == LABELS_COLUMN
    assert unseal_labels(sealed, SEG, ENG, n_labels).to_list() == values


@SETTINGS
@given(bitsets())
def test_label_ciphertexts_have_one_length(case: tuple[int, list[int]]) -> None:
    n_labels, values = case
    sealed = seal_labels(labels_series(values), SEG, ENG, n_labels)
    assert set(sealed.bin.size().to_list()) <= {sealed_labels_len()}
    assert sealed_labels_len() == 8 + 12 + 16


@SETTINGS
@given(st.integers(0, 2**64 - 1), st.integers(2, 30))
def test_equal_labels_seal_to_different_ciphertexts(value: int, rows: int) -> None:
    sealed = seal_labels(labels_series([value] * rows), SEG, ENG, 64)
    assert sealed.n_unique() == rows


@SETTINGS
@given(st.binary(min_size=32, max_size=32), bitsets())
def test_unseal_labels_with_any_other_key_fails(other: bytes, case: tuple[int, list[int]]) -> None:
    n_labels, values = case
    if other == SEG._material() or not values:
        return
    sealed = seal_labels(labels_series(values), SEG, ENG, n_labels)
    with pytest.raises(VerificationError, match=f"{len(values)} failed authentication"):
        unseal_labels(sealed, SealKey(other, "segments"), ENG, n_labels)


@pytest.mark.parametrize(
    "change",
    [
        {"engagement_id": "eng-other"},
        {"n_labels": 11},
        {"column": "other_column"},
    ],
)
def test_associated_data_binds_engagement_column_and_layout(change: dict[str, object]) -> None:
    sealed = seal_labels(labels_series([1, 2, 3]), SEG, ENG, 12)
    args: dict[str, object] = {"engagement_id": ENG, "n_labels": 12, "column": LABELS_COLUMN}
    args.update(change)
    with pytest.raises(VerificationError, match="3 failed authentication"):
        unseal_labels(sealed, SEG, **args)  # type: ignore[arg-type]


def test_a_tampered_byte_is_refused_with_its_row_number() -> None:
    sealed = seal_labels(labels_series([5, 6, 7, 8]), SEG, ENG, 8).to_list()
    blob = bytearray(sealed[2])
    blob[20] ^= 0x01
    sealed[2] = bytes(blob)
    with pytest.raises(VerificationError) as info:
        unseal_labels(pl.Series(sealed, dtype=pl.Binary), SEG, ENG, 8)
    assert str(info.value) == (
        "sealed_segments: 1 of 4 sealed payloads refused (1 failed authentication); "
        "first refused row: 2"
    )


def test_wrong_length_and_null_blobs_are_refused() -> None:
    good = seal_labels(labels_series([1, 2]), SEG, ENG, 8).to_list()
    for bad in (good[0][:-1], good[0] + b"\x00", None, b""):
        series = pl.Series([good[1], bad], dtype=pl.Binary)
        with pytest.raises(VerificationError, match="1 had the wrong length or were null"):
            unseal_labels(series, SEG, ENG, 8)


def test_authentic_blob_setting_an_undeclared_bit_is_refused() -> None:
    # A holder of the key could try to smuggle data in the unused high bits.
    smuggled = (1 << 40).to_bytes(8, "little")
    blob = _crypto.aead_encrypt(SEG._material(), smuggled, labels_aad(ENG, 10))
    ok = seal_labels(labels_series([3]), SEG, ENG, 10).to_list()[0]
    series = pl.Series([ok, blob], dtype=pl.Binary)
    with pytest.raises(VerificationError, match="1 set label bits beyond the 10 declared labels"):
        unseal_labels(series, SEG, ENG, 10)


def test_seal_labels_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="2 rows set label bits beyond the 4 declared labels"):
        seal_labels(labels_series([1, 16, 32]), SEG, ENG, 4)
    with pytest.raises(InputError, match="1 rows have no label bitset"):
        seal_labels(pl.Series("s", [1, None], dtype=pl.UInt64), SEG, ENG, 4)
    with pytest.raises(InputError, match="negative"):
        seal_labels(pl.Series("s", [1, -1], dtype=pl.Int64), SEG, ENG, 64)
    with pytest.raises(InputError, match="must be integers"):
        seal_labels(pl.Series("s", ["1"]), SEG, ENG, 4)
    for n_labels in (-1, 65):
        with pytest.raises(InputError, match="n_labels"):
            seal_labels(labels_series([0]), SEG, ENG, n_labels)
    with pytest.raises(InputError, match="n_labels must be an integer"):
        seal_labels(labels_series([0]), SEG, ENG, True)


def test_zero_labels_seal_all_zero_bitsets_of_the_fixed_size() -> None:
    # A campaign that declares no segments still seals one blob per row, of the usual size.
    sealed = seal_labels(labels_series([0, 0, 0]), SEG, ENG, 0)
    assert sealed.bin.size().to_list() == [sealed_labels_len()] * 3
    assert unseal_labels(sealed, SEG, ENG, 0).to_list() == [0, 0, 0]
    plain = _crypto.aead_decrypt(SEG._material(), sealed[0], labels_aad(ENG, 0))
    assert plain == bytes(8)
    empty = seal_labels(labels_series([]), SEG, ENG, 0)
    assert empty.len() == 0 and unseal_labels(empty, SEG, ENG, 0).len() == 0


def test_zero_labels_refuse_any_set_bit() -> None:
    with pytest.raises(InputError, match="2 rows set label bits beyond the 0 declared labels"):
        seal_labels(labels_series([0, 1, 1 << 63]), SEG, ENG, 0)
    smuggled = _crypto.aead_encrypt(SEG._material(), (1).to_bytes(8, "little"), labels_aad(ENG, 0))
    ok = seal_labels(labels_series([0]), SEG, ENG, 0).to_list()[0]
    with pytest.raises(VerificationError, match="1 set label bits beyond the 0 declared labels"):
        unseal_labels(pl.Series([ok, smuggled], dtype=pl.Binary), SEG, ENG, 0)


def test_zero_and_one_labels_do_not_open_each_other() -> None:
    # Same plaintext (0) and size: only the associated data tells the layouts apart.
    none = seal_labels(labels_series([0, 0]), SEG, ENG, 0)
    one = seal_labels(labels_series([0, 0]), SEG, ENG, 1)
    with pytest.raises(VerificationError, match="2 failed authentication"):
        unseal_labels(none, SEG, ENG, 1)
    with pytest.raises(VerificationError, match="2 failed authentication"):
        unseal_labels(one, SEG, ENG, 0)


def test_seal_key_purpose_is_enforced() -> None:
    with pytest.raises(PolicyError, match="'boxes' seal key cannot seal or unseal 'segments'"):
        seal_labels(labels_series([1]), BOX, ENG, 8)
    with pytest.raises(PolicyError):
        seal_box_lists(box_series([["a"]]), SEG, ENG, 2)


def test_many_rows_round_trip_and_keep_order() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 2**63, 20_000, dtype=np.uint64)
    sealed = seal_labels(pl.Series("s", values), SEG, ENG, 64)
    assert (unseal_labels(sealed, SEG, ENG, 64).to_numpy() == values).all()
    sliced = sealed.slice(7_000, 5)  # a view with an offset into the arrow buffers
    assert (unseal_labels(sliced, SEG, ENG, 64).to_numpy() == values[7_000:7_005]).all()


# -- box lists ---------------------------------------------------------------------------


@SETTINGS
@given(box_lists())
def test_box_lists_round_trip(case: tuple[int, list[list[str]]]) -> None:
    max_boxes, lists = case
    sealed = seal_box_lists(box_series(lists), BOX, ENG, max_boxes)
    assert unseal_box_lists(sealed, BOX, ENG, max_boxes).to_list() == lists


@SETTINGS
@given(box_lists())
def test_box_ciphertexts_have_one_length(case: tuple[int, list[list[str]]]) -> None:
    max_boxes, lists = case
    sealed = seal_box_lists(box_series(lists), BOX, ENG, max_boxes)
    assert set(sealed.bin.size().to_list()) <= {sealed_boxes_len(max_boxes)}
    assert sealed_boxes_len(max_boxes) == max_boxes * 33 + 28


@SETTINGS
@given(st.lists(box_ids, min_size=0, max_size=3), st.integers(2, 20))
def test_equal_box_lists_seal_to_different_ciphertexts(ids: list[str], rows: int) -> None:
    sealed = seal_box_lists(box_series([ids] * rows), BOX, ENG, 3)
    assert sealed.n_unique() == rows


@SETTINGS
@given(st.binary(min_size=32, max_size=32), box_lists())
def test_unseal_box_lists_with_any_other_key_fails(
    other: bytes, case: tuple[int, list[list[str]]]
) -> None:
    max_boxes, lists = case
    if other == BOX._material() or not lists:
        return
    sealed = seal_box_lists(box_series(lists), BOX, ENG, max_boxes)
    with pytest.raises(VerificationError, match=f"{len(lists)} failed authentication"):
        unseal_box_lists(sealed, SealKey(other, "boxes"), ENG, max_boxes)


def _authentic(payload: bytes, max_boxes: int) -> bytes:
    """A blob sealed with the real key around a hand-made (possibly malformed) payload."""
    assert len(payload) == max_boxes * BOX_SLOT_LEN
    return _crypto.aead_encrypt(BOX._material(), payload, boxes_aad(ENG, max_boxes))


def _payload(lens: list[int], ids: list[bytes], max_boxes: int) -> bytearray:
    out = bytearray(max_boxes * BOX_SLOT_LEN)
    out[: len(lens)] = bytes(lens)
    for i, raw in enumerate(ids):
        start = max_boxes + 32 * i
        out[start : start + len(raw)] = raw
    return out


def test_hand_made_payload_in_the_documented_layout_unseals() -> None:
    blob = _authentic(bytes(_payload([3, 2], [b"abc", b"de"], 3)), 3)
    assert unseal_box_lists(pl.Series([blob], dtype=pl.Binary), BOX, ENG, 3).to_list() == [
        ["abc", "de"]
    ]


@pytest.mark.parametrize(
    ("lens", "ids", "tweak"),
    [
        ([3], [b"abc"], lambda p: p.__setitem__(3 + 5, 0x41)),  # byte after the ID
        ([3], [b"abc"], lambda p: p.__setitem__(3 + 32 * 2 + 1, 0x41)),  # empty slot
        ([0, 3], [b"", b"abc"], None),  # filled slot after an empty one
        ([33], [b"a" * 32], None),  # length beyond 32
        ([2], [b"\xff\xfe"], None),  # not UTF-8
    ],
    ids=["padding-after-id", "padding-in-empty-slot", "slot-order", "length", "utf8"],
)
def test_authentic_but_malformed_box_payloads_are_refused(
    lens: list[int], ids: list[bytes], tweak: object
) -> None:
    payload = _payload(lens, ids, 3)
    if tweak is not None:
        tweak(payload)  # type: ignore[operator]
    good = seal_box_lists(box_series([["ok"]]), BOX, ENG, 3).to_list()[0]
    series = pl.Series([good, _authentic(bytes(payload), 3), good], dtype=pl.Binary)
    with pytest.raises(VerificationError, match=r"1 of 3 sealed payloads refused .*row: 1$"):
        unseal_box_lists(series, BOX, ENG, 3)


def test_box_errors_never_show_an_id() -> None:
    secret_id = "BOX-SECRET-123"
    sealed = seal_box_lists(box_series([[secret_id]]), BOX, ENG, 2)
    with pytest.raises(VerificationError) as info:
        unseal_box_lists(sealed, SealKey.generate("boxes"), ENG, 2)
    assert secret_id not in str(info.value)
    with pytest.raises(InputError) as info2:
        seal_box_lists(box_series([[secret_id, "x", "y"]]), BOX, ENG, 2)
    assert secret_id not in str(info2.value)


def test_seal_box_lists_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="1 rows list more than 2 boxes"):
        seal_box_lists(box_series([["a", "b", "c"], ["d"]]), BOX, ENG, 2)
    with pytest.raises(InputError, match="1 box IDs are longer than 32 bytes"):
        seal_box_lists(box_series([["é" * 17]]), BOX, ENG, 2)
    with pytest.raises(InputError, match="2 box IDs are blank"):
        seal_box_lists(box_series([["", "  "]]), BOX, ENG, 2)
    with pytest.raises(InputError, match="1 box IDs are null"):
        seal_box_lists(pl.Series([["a", None]], dtype=pl.List(pl.String)), BOX, ENG, 2)
    with pytest.raises(InputError, match="1 rows have no box list"):
        seal_box_lists(pl.Series([["a"], None], dtype=pl.List(pl.String)), BOX, ENG, 2)
    with pytest.raises(InputError, match="must be List"):
        seal_box_lists(pl.Series(["a"]), BOX, ENG, 2)


def test_sliced_and_empty_box_series() -> None:
    lists = [["a", "bb"], [], ["c"], ["dddd", "e", "f"]]
    full = box_series(lists)
    for lo, n in ((0, 4), (1, 2), (3, 1), (1, 1), (0, 0)):
        sealed = seal_box_lists(full.slice(lo, n), BOX, ENG, 3)
        assert unseal_box_lists(sealed, BOX, ENG, 3).to_list() == lists[lo : lo + n]
        assert unseal_box_lists(sealed.slice(0, n), BOX, ENG, 3).to_list() == lists[lo : lo + n]


def test_mixed_width_ids_round_trip_at_scale() -> None:
    rng = np.random.default_rng(5)
    lists = [
        [f"{j}-{'x' * int(rng.integers(1, 28))}" for j in range(int(rng.integers(0, 5)))]
        for _ in range(3_000)
    ]
    sealed = seal_box_lists(box_series(lists), BOX, ENG, 4)
    assert unseal_box_lists(sealed, BOX, ENG, 4).to_list() == lists
