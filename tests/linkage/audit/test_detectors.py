"""The PII detectors and decoders of ``linkage.audit.detectors``."""

from __future__ import annotations

import base64
import os
import urllib.parse

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.audit import detectors as d

POSITIVES = [
    ("jane.roe@example.org", d.EMAIL),
    ("write to ROE_J+news@mail.example.co.uk today", d.EMAIL),
    ("(614) 555-2345", d.PHONE),
    ("614.555.2345", d.PHONE),
    ("+1 614 555 2345", d.PHONE),
    ("6145552345", d.PHONE),
    ("+447911123456", d.PHONE),
    ("123-45-6789", d.SSN),
    ("ssn 123 45 6789", d.SSN),
    ("1961-03-15", d.DATE),
    ("3/15/1961", d.DATE),
    ("03-15-61", d.DATE),
    ("19610315", d.DATE),
    ("March 15, 1961", d.DATE),
    ("15 Mar 1961", d.DATE),
    ("1234 Maple Ave", d.ADDRESS),
    ("77 N Old Mill Road Apt 4", d.ADDRESS),
    ("5 Sycamore Ct.", d.ADDRESS),
    ("PO Box 1138", d.ADDRESS),
    ("00:1A:2B:3C:4D:5E", d.DEVICE_ID),
    ("a4-5e-60-d2-11-9f", d.DEVICE_ID),
    ("Maria Garcia", d.NAME),
    ("GARCIA, MARIA", d.NAME),
    ("o'brien kevin", d.NAME),
]

# Labels that travel legitimately: recipe names, segments, bands, metric names, channels.
CLEAN_LABELS = [
    "email",
    "phone",
    "name_address",
    "last_address",
    "phonetic",
    "address",
    "first+last+dob",
    "persuadable",
    "gotv",
    "base",
    "hispanic",
    "black",
    "aapi",
    "senior",
    "all",
    "light",
    "medium",
    "heavy",
    "summary",
    "matched_voters",
    "match_rate",
    "email.m",
    "phone.u",
    "110100",
    "1010110",
    "no_candidate",
    "below_threshold",
    "CH01",
    "Channel 6 Ohio",
    "WOHC 10 Metro",
    "Style & Home",
    "Shop at Home Live",
    "Faith Family Network",
    "White Rose",
    "Green Hill",
    "Top 10 Hits",
    "3 way calling",
    "2026-10-06",
    "v1|name_address|first_name,last_name,house_number,street,zip",
    "fellegi_sunter",
    "0.9",
    "blindlink 0.1.0",
]


@pytest.mark.parametrize(("text", "detector"), POSITIVES)
def test_each_detector_finds_its_shape(text: str, detector: str) -> None:
    assert detector in d.scan_strings([text])


@pytest.mark.parametrize("label", CLEAN_LABELS)
def test_legitimate_labels_are_not_pii(label: str) -> None:
    assert d.scan_strings([label]) == {}


def test_counts_are_rows_not_distinct_values() -> None:
    values = pl.Series(["a@example.com"] * 5 + ["b@example.com"] * 2 + ["summary"] * 10)
    assert d.scan_text(values) == {d.EMAIL: 7}


def test_a_column_of_bare_names_is_a_name_column() -> None:
    values = pl.Series(["SMITH", "GARCIA", "NGUYEN", "PATEL", "SMITH", "summary"])
    assert d.scan_text(values) == {d.NAME: 5}


def test_a_few_bare_names_among_labels_are_not() -> None:
    # one name-like label among many does not make a name column
    labels = ["KING"] + [f"metric_{i}" for i in range(20)] + ["JONES"]
    assert d.NAME not in d.scan_text(pl.Series(labels))


def test_encodings_are_peeled_and_named() -> None:
    email = "jane.roe@example.org"
    assert d.scan_strings([email.encode().hex()]) == {"pii.email.hex": 1}
    assert d.scan_strings([base64.b64encode(email.encode()).decode()]) == {"pii.email.base64": 1}
    assert d.scan_strings([urllib.parse.quote(email)]) == {"pii.email.url": 1}
    urlsafe = base64.urlsafe_b64encode(b"+16145552345").decode().rstrip("=")
    assert d.scan_strings([urlsafe]) == {"pii.phone.base64": 1}
    nested = base64.b64encode(email.encode().hex().encode()).decode()
    assert d.scan_strings([nested]) == {"pii.email.base64.hex": 1}


def test_printable_binary_finds_text_in_bytes_and_ignores_random() -> None:
    values = pl.Series([os.urandom(32) for _ in range(500)] + [b"jane.roe@example.org"] * 3)
    text = d.printable_binary(values)
    assert text.to_dicts() == [{"value": "jane.roe@example.org", "n": 3}]
    assert d.printable_mask(pl.Series([b"ab", b"abc", None, b"\x00abc"])).to_list() == [
        False,
        True,
        False,
        False,
    ]


def test_embedded_text_reads_runs_inside_padded_values() -> None:
    values = pl.Series([b"\x05jane.roe@example.org\x00\x00\x00", b"\x01\x02"])
    frame = d.embedded_text(values)
    assert frame["value"].to_list() == ["jane.roe@example.org"]
    assert d.scan_counts(frame) == {d.EMAIL: 1}


def test_expected_printable_is_tiny_for_tokens() -> None:
    tokens = pl.Series([os.urandom(32) for _ in range(1000)])
    assert d.expected_printable(tokens) < 1e-9


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=16, max_size=32), min_size=1, max_size=30))
def test_encoded_random_bytes_are_not_pii(blobs: list[bytes]) -> None:
    # hex and base64 of random bytes decode to non-text and must not raise alarms
    texts = [b.hex() for b in blobs] + [base64.b64encode(b).decode() for b in blobs]
    hits = d.scan_strings(texts)
    assert not any(k.startswith((d.EMAIL, d.SSN, d.ADDRESS, d.NAME)) for k in hits)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=20))
def test_detectors_never_fail_and_never_count_more_rows_than_exist(texts: list[str]) -> None:
    hits = d.scan_strings(texts)
    assert all(0 < n <= len(texts) for n in hits.values())
